/** `exit-studio inspect`: how each exit's MACs were counted, and the flags that give a symbolic dim its value. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { cleanupTempModels, makeTempDir, prng, randomFloats, writeTempModel } from '../helpers/onnx-builder.js';
import { buildSeqModel, seqModelMacs } from '../helpers/seq-model.js';

after(cleanupTempModels);

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'exit-studio.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A float32 .npy file (format 1.0, C order). */
function writeNpy(path: string, shape: number[], values: Float32Array): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  head.set(Buffer.from(header, 'latin1'), 10);
  writeFileSync(path, Buffer.concat([head, Buffer.from(values.buffer)]));
}

const rand = prng(6);
const model = writeTempModel(buildSeqModel(), 'seq-model.onnx');
const macsAt = seqModelMacs;

interface InspectJson {
  exits: { name: string; macs: number; macsSource: string }[];
  macsBasis: { inputs: { name: string; shape: number[] }[]; dims: { name: string; value: number; from: string }[] };
}

test('inspect --json: each exit says how its MACs were counted, and at which sequence length', () => {
  const assumed = cli(['inspect', model, '--json']);
  assert.equal(assumed.code, 0, assumed.stderr);
  const a = JSON.parse(assumed.stdout) as InspectJson;
  assert.deepEqual(a.exits.map((e) => [e.macs, e.macsSource]), macsAt(128).map((m) => [m, 'estimate']));
  assert.deepEqual(a.macsBasis.dims, [{ name: 'seq', value: 128, from: 'default' }]);

  const dir = makeTempDir();
  const data = join(dir, 'seq7.npy');
  writeNpy(data, [3, 7, 4], randomFloats(rand, 3 * 7 * 4, 1));
  const fromData = cli(['inspect', model, '--data', data, '--json']);
  assert.equal(fromData.code, 0, fromData.stderr);
  const d = JSON.parse(fromData.stdout) as InspectJson;
  assert.deepEqual(d.exits.map((e) => [e.macs, e.macsSource]), macsAt(7).map((m) => [m, 'static']));
  assert.deepEqual(d.macsBasis, { inputs: [{ name: 'x', shape: [1, 7, 4] }], dims: [{ name: 'seq', value: 7, from: 'data' }], nodes: 4, probed: 0, unsized: 0 });
});

test('inspect --dim: the count at a given length, shown in the table; a wrong name or value is a usage error', () => {
  const r = cli(['inspect', model, '--dim', 'seq=9']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /MACs counted per sample at x \[1, 9, 4\]; seq = 9 \(given\)/);
  const rows = r.stdout.split('\n').filter((l) => /exit_\d/.test(l));
  // The whole graph: exit 1's path and exit 0's head.
  const total = macsAt(9)[1]! + 8 * 3;
  assert.deepEqual(rows.map((l) => l.trim().split(/\s+/).slice(4).join(' ')), macsAt(9).map((m) => `${m} ${((100 * m) / total).toFixed(1)}% static`));

  for (const [args, needle] of [
    [['--dim', 'length=9'], "no symbolic input dim is called 'length'; the model's are: seq"],
    [['--dim', 'seq=zero'], '--dim takes NAME=N'],
  ] as [string[], string][]) {
    const bad = cli(['inspect', model, ...args]);
    assert.equal(bad.code, 2, bad.stderr);
    // The message on one line (a usage error adds the command's usage after it), no stack trace.
    assert.ok(bad.stderr.split('\n')[0]!.includes(needle), bad.stderr);
    assert.ok(!/\n\s+at .+:\d+:\d+/.test(bad.stderr), bad.stderr);
  }
});
