/** The CLI's doors to sharded recording: infer --shard I/N --out FILE.npz, and import-trace of several shard files. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../../src/data/npy.js';
import { projectRoot } from '../../src/paths.js';
import { buildMlpMultiExit, cleanupTempModels, writeTempModel } from '../helpers/onnx-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'es-cli-shards-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanupTempModels();
});
const db = join(dir, 'studio.sqlite');

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'exit-studio.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, EXIT_STUDIO_DB: db },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const model = writeTempModel(buildMlpMultiExit({ inputDim: 4, hidden: 6, classes: 3, exits: 3, seed: 9 }), 'cli-shards.onnx');
const data = join(dir, 'x.npy');
writeNpy(data, 'float', [30, 4], Float32Array.from({ length: 120 }, (_, i) => Math.cos(i)));

test('infer --out writes the file and leaves the database alone; --json says where the shard lies', () => {
  const r = cli(['infer', model, data, '--shard', '1/3', '--out', join(dir, 's1.npz'), '--threads', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { path: string; samples: number; shard: { index: number; count: number; first: number; samples: number; total: number } };
  assert.deepEqual(j.shard, { index: 1, count: 3, first: 10, samples: 10, total: 30 });
  assert.equal(j.samples, 10);
  assert.ok(existsSync(j.path));
  assert.ok(!existsSync(db), 'no database was created');
});

test('infer --out refuses a file that is there before any inference, and replaces it with --force', () => {
  const out = join(dir, 'again.npz');
  assert.equal(cli(['infer', model, data, '--out', out, '--threads', '1']).code, 0);
  const before = readFileSync(out);
  const again = cli(['infer', model, data, '--shard', '0/2', '--out', out, '--threads', '1']);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr.split('\n')[0]!, /again\.npz: already exists; pass --force to replace it/);
  assert.deepEqual(readFileSync(out), before, 'the file is untouched');
  const forced = cli(['infer', model, data, '--shard', '0/2', '--out', out, '--threads', '1', '--force', '--json']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal((JSON.parse(forced.stdout) as { samples: number }).samples, 15, 'the file now holds shard 0 of 2');
});

test('bad shard requests exit 2 with a first line saying what to do (usage may follow), no stack trace', () => {
  for (const [args, needle] of [
    [['infer', model, data, '--shard', '1/3'], '--shard needs --out FILE.npz'],
    [['infer', model, data, '--shard', '3/3', '--out', join(dir, 'x.npz')], 'I from 0 to N-1'],
    [['infer', model, data, '--shard', 'half', '--out', join(dir, 'x.npz')], 'got "half"'],
    [['infer', model, data, '--shard', '0/0', '--out', join(dir, 'x.npz')], '--shard must be I/N'],
    [['infer', model, data, '--out', join(dir, 'x.npz'), '--db', db], '--db does not apply with --out'],
    [['infer', model, data, '--out', join(dir, 'x.npz'), '--name', 'n'], 'import-trace'],
    [['infer', model, data, '--out', join(dir, 'x.tsv')], 'ending in .npz'],
    [['infer', model, data, '--shard', '0/31', '--out', join(dir, 'x.npz')], 'use at most 30 shards'],
  ] as [string[], string][]) {
    const r = cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.split('\n')[0]!.includes(needle), `${args.join(' ')}: ${r.stderr}`);
    assert.ok(!/\n\s+at .+:\d+:\d+/.test(r.stderr), `a stack trace leaked:\n${r.stderr}`);
  }
  assert.ok(!existsSync(join(dir, 'x.npz')));
});

test('import-trace merges shard files given in any order; a missing shard exits 2 and stores nothing', () => {
  for (const i of [0, 2]) assert.equal(cli(['infer', model, data, '--shard', `${i}/3`, '--out', join(dir, `s${i}.npz`), '--threads', '1']).code, 0);
  const missing = cli(['import-trace', join(dir, 's2.npz'), join(dir, 's0.npz')]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /missing shard 1\/3 \(samples 10–19 of 30\)/);
  const r = cli(['import-trace', join(dir, 's2.npz'), join(dir, 's0.npz'), join(dir, 's1.npz')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /trace 1: 30 samples × 3 exits\n {2}merged from 3 shard files: cli-shards\.onnx \(sha256 [0-9a-f]{12}…\) on x\.npy/);
  const list = cli(['traces', 'list', '--json']);
  assert.deepEqual((JSON.parse(list.stdout) as { name: string }[]).map((t) => t.name), ['cli-shards.onnx on x.npy (3 shards)']);
});
