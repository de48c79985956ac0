/**
 * Writing outputs without losing what was there: a file appears whole or not
 * at all, an existing one is replaced only when asked, a file that appears
 * under the name while an output is written is never overwritten, and a
 * folder of output files replaces only a folder of the same kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StudioError } from '../../src/errors.js';
import { stageFolder, writeOutput } from '../../src/files/write.js';

function tempDir(t: { after(f: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'es-write-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const exists = (e: unknown): boolean => e instanceof StudioError && e.code === 'exists' && e.kind === 'conflict' && e.field === 'force' && /already exists$/.test(e.message);
const leftovers = (d: string): string[] => readdirSync(d).filter((n) => n.startsWith('.'));

test('a new file is written; an existing one is refused and left as it was; force replaces it', async (t) => {
  const d = tempDir(t);
  const out = join(d, 'policy.json');
  await writeOutput(out, (tmp) => writeFileSync(tmp, 'first'));
  assert.equal(readFileSync(out, 'utf8'), 'first');
  await assert.rejects(writeOutput(out, (tmp) => writeFileSync(tmp, 'second')), exists);
  assert.equal(readFileSync(out, 'utf8'), 'first');
  await writeOutput(out, (tmp) => writeFileSync(tmp, 'third'), { force: true });
  assert.equal(readFileSync(out, 'utf8'), 'third');
  assert.deepEqual(leftovers(d), []);
});

test('a write that fails part-way leaves no file under the name, and with force the old one intact', async (t) => {
  const d = tempDir(t);
  const out = join(d, 'trace.tsv');
  const failing = (tmp: string): void => {
    writeFileSync(tmp, 'half a fi');
    throw new Error('disk full');
  };
  await assert.rejects(writeOutput(out, failing), /trace\.tsv: cannot write \(disk full\)/);
  assert.ok(!existsSync(out));
  writeFileSync(out, 'the old trace');
  await assert.rejects(writeOutput(out, failing, { force: true }), /disk full/);
  assert.equal(readFileSync(out, 'utf8'), 'the old trace');
  assert.deepEqual(leftovers(d), []);
});

test('a file that appears under the name while the output is written is kept, not overwritten', async (t) => {
  const d = tempDir(t);
  const out = join(d, 'race.json');
  await assert.rejects(
    writeOutput(out, (tmp) => {
      writeFileSync(tmp, 'ours');
      writeFileSync(out, 'theirs');
    }),
    exists,
  );
  assert.equal(readFileSync(out, 'utf8'), 'theirs');
  assert.deepEqual(leftovers(d), []);
});

test('a folder in the way and a missing folder are named in the refusal', async (t) => {
  const d = tempDir(t);
  mkdirSync(join(d, 'a-folder.json'));
  await assert.rejects(writeOutput(join(d, 'a-folder.json'), (tmp) => writeFileSync(tmp, 'x'), { force: true }), /a-folder\.json: cannot write: is a folder/);
  await assert.rejects(writeOutput(join(d, 'no', 'such', 'x.json'), (tmp) => writeFileSync(tmp, 'x')), /x\.json: cannot write: no such folder/);
});

test('a folder of outputs: new or empty is filled, the same kind replaced only with force, anything else never', async (t) => {
  const d = tempDir(t);
  const owns = (n: string): boolean => /^(manifest\.json|stage_\d+\.onnx)$/.test(n);
  const write = async (dir: string, files: Record<string, string>, force = false): Promise<void> => {
    const staged = await stageFolder(dir, { what: 'a bundle', owns, force });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(staged.path, name), text);
    await staged.commit();
  };
  const bundle = join(d, 'bundle');
  await write(bundle, { 'manifest.json': '1', 'stage_1.onnx': 'a', 'stage_2.onnx': 'b' });
  assert.deepEqual(readdirSync(bundle).sort(), ['manifest.json', 'stage_1.onnx', 'stage_2.onnx']);
  await assert.rejects(write(bundle, { 'manifest.json': '2' }), (e: unknown) => e instanceof StudioError && e.code === 'exists' && e.kind === 'conflict' && /bundle: already holds the bundle$/.test(e.message));
  assert.equal(readFileSync(join(bundle, 'manifest.json'), 'utf8'), '1');
  await write(bundle, { 'manifest.json': '2', 'stage_1.onnx': 'c' }, true);
  assert.deepEqual(readdirSync(bundle).sort(), ['manifest.json', 'stage_1.onnx'], 'the old bundle is replaced whole, not merged');
  assert.equal(readFileSync(join(bundle, 'manifest.json'), 'utf8'), '2');

  const empty = join(d, 'empty');
  mkdirSync(empty);
  await write(empty, { 'manifest.json': '3' });
  assert.deepEqual(readdirSync(empty), ['manifest.json']);

  const home = join(d, 'home');
  mkdirSync(home);
  writeFileSync(join(home, 'notes.txt'), 'mine');
  writeFileSync(join(home, 'manifest.json'), 'mine too');
  await assert.rejects(write(home, { 'manifest.json': '4' }, true), /holds files that are not part of a bundle \("notes\.txt"\)/);
  assert.deepEqual(readdirSync(home).sort(), ['manifest.json', 'notes.txt']);
  assert.equal(readFileSync(join(home, 'manifest.json'), 'utf8'), 'mine too');

  const staged = await stageFolder(join(d, 'given-up'), { what: 'a bundle', owns });
  writeFileSync(join(staged.path, 'stage_1.onnx'), 'x');
  await staged.discard();
  assert.ok(!existsSync(join(d, 'given-up')));
  assert.deepEqual(leftovers(d), [], 'no temporary folder is left');
});
