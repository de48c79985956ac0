/**
 * Shards: the split of a dataset into contiguous blocks, a dataset's slices
 * read by every reader, and shard files recorded with `trace.record` that
 * merge back into exactly the trace of the whole.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invoke } from '../../src/api/commands.js';
import type { CommandContext } from '../../src/api/context.js';
import { openDataset } from '../../src/data/open.js';
import { writeNpy } from '../../src/data/npy.js';
import { recordToFile } from '../../src/inference/record.js';
import { openStore } from '../../src/store/store.js';
import { readNpzMeta } from '../../src/trace/import.js';
import { mergeShardFiles } from '../../src/trace/merge-shards.js';
import { shardPlace } from '../../src/trace/shards.js';
import type { Trace } from '../../src/trace/types.js';
import { buildMlpMultiExit, cleanupTempModels, writeTempModel } from '../helpers/onnx-builder.js';
import { drain, input, tempDir, values } from '../data/util.js';

const tmp = tempDir();
after(() => {
  tmp.cleanup();
  cleanupTempModels();
});

const INPUT = 6;
const mlp = writeTempModel(buildMlpMultiExit({ inputDim: INPUT, hidden: 8, classes: 4, exits: 3, seed: 21 }), 'shard-mlp.onnx');

function data(name: string, samples: number, seed: number): string {
  const x = new Float32Array(samples * INPUT);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = s / 2147483648 - 0.5;
  }
  const path = tmp.file(name);
  writeNpy(path, 'float', [samples, INPUT], x);
  return path;
}

const X = data('x.npy', 101, 5);
const LABELS = tmp.file('y.npy');
writeNpy(LABELS, 'int32', [101], Int32Array.from({ length: 101 }, (_, i) => (i * 7) % 4));

test('shards are contiguous blocks that concatenate to the whole, for any sizes', () => {
  for (const [total, count] of [[101, 4], [7, 7], [2000, 3], [5, 1], [1, 1]] as const) {
    let next = 0;
    for (let index = 0; index < count; index++) {
      const p = shardPlace({ index, count }, total);
      assert.equal(p.first, next, `${total}/${count}: shard ${index} starts where the previous ended`);
      assert.ok(p.samples >= Math.floor(total / count) && p.samples <= Math.ceil(total / count), 'sizes differ by at most one');
      next += p.samples;
    }
    assert.equal(next, total);
  }
  // floor(I·n/N) exactly where I·n passes 2^53: a float product is off by one here (…661 instead of …660).
  const big = shardPlace({ index: 2, count: 3 }, 2 ** 53 - 1);
  assert.equal(big.first, 6004799503160660);
});

test('a slice of a dataset reads the same samples and labels as the whole, for npy and csv', async () => {
  const csv = tmp.file('x.csv');
  writeFileSync(csv, 'a,b,label\n' + Array.from({ length: 23 }, (_, i) => `${i},${i * 10},${i % 3}`).join('\n') + '\n');
  for (const [path, inputs] of [
    [X, [input('x', 'float', ['batch', INPUT])]],
    [csv, [input('x', 'float', ['batch', 2])]],
  ] as const) {
    const whole = await openDataset(path, [...inputs], { labelColumn: 'label' });
    const all = values(await drain(whole, 8), 'x');
    const per = all.length / whole.samples;
    for (const [first, count] of [[0, 5], [7, 9], [whole.samples - 3, 3]] as const) {
      const part = whole.slice(first, count);
      assert.equal(part.samples, count);
      assert.deepEqual(values(await drain(part, 4), 'x'), all.slice(first * per, (first + count) * per), `${path} [${first}, ${first + count})`);
      if (whole.labels) assert.deepEqual(Array.from(part.labels!), Array.from(whole.labels.subarray(first, first + count)));
    }
    assert.throws(() => whole.slice(whole.samples - 1, 2), /not within/);
    await whole.close();
  }
});

function assertSameTrace(a: Trace, b: Trace): void {
  assert.equal(a.samples, b.samples);
  assert.deepEqual(a.exits.map((e) => e.name), b.exits.map((e) => e.name));
  for (const f of ['pred', 'maxProb', 'entropy', 'margin', 'probs', 'labels'] as const) {
    assert.equal(a[f] === undefined, b[f] === undefined, f);
    if (a[f]) assert.deepEqual(Array.from(a[f]), Array.from(b[f]!), f);
  }
  assert.deepEqual(Array.from(a.costs), Array.from(b.costs));
}

test('recorded shards merge, in any order given, into exactly the trace of the whole (probabilities and labels too)', async () => {
  const out = tmp.file('run1');
  mkdirSync(out);
  const base = { model: mlp, data: X, labels: LABELS, probs: true, threads: 1, batch: 16 };
  const whole = await recordToFile({ ...base, out: join(out, 'whole.npz') });
  assert.deepEqual(whole.shard, { index: 0, count: 1, first: 0, samples: 101, total: 101 });
  const files: string[] = [];
  for (let index = 0; index < 4; index++) {
    const r = await recordToFile({ ...base, shard: { index, count: 4 }, out: join(out, `shard-${index}.npz`) });
    assert.deepEqual(r.shard, shardPlace({ index, count: 4 }, 101));
    assert.equal(r.samples, r.shard.samples);
    assert.equal(r.modelSha256, whole.modelSha256);
    files.push(r.path);
  }
  assert.deepEqual(readdirSync(out).sort(), ['shard-0.npz', 'shard-1.npz', 'shard-2.npz', 'shard-3.npz', 'whole.npz'], 'no half-written files left beside them');
  const rec = (await readNpzMeta(files[1]!))!.recording!;
  assert.deepEqual(rec.shard, { index: 1, count: 4, first: 25, samples: 25, total: 101 });
  assert.match(rec.model.sha256, /^[0-9a-f]{64}$/);
  assert.equal(rec.dataset.name, 'x.npy');

  const reference = (await mergeShardFiles([whole.path])).trace;
  const merged = await mergeShardFiles([files[2]!, files[0]!, files[3]!, files[1]!]);
  assert.deepEqual(merged.recording.files, files, 'files in shard order');
  assertSameTrace(merged.trace, reference);
  assert.equal(merged.trace.costSource, 'macs');
  assert.ok(merged.trace.exits.every((e) => e.latencyMs !== undefined && e.latencyMs > 0), 'latency kept: the shards’ mean');
  assert.deepEqual(Array.from(merged.trace.labels!), Array.from({ length: 101 }, (_, i) => (i * 7) % 4));

  // Through the command contract: one stored trace named for the recording, its identity kept.
  const store = openStore(':memory:');
  const ctx: CommandContext = { store, emit: () => {} };
  const r = (await invoke(ctx, 'trace.import', { path: files })) as { traceId: number; merged: { shards: number } };
  assert.equal(r.merged.shards, 4);
  assertSameTrace(store.traces.load(r.traceId), reference);
  assert.equal(store.traces.meta(r.traceId).name, 'shard-mlp.onnx on x.npy (4 shards)');
  store.close();
});

test('an output path that cannot be written is refused before any inference', async () => {
  // Before the model is even read: a missing model goes unnoticed when the output cannot be written.
  await assert.rejects(recordToFile({ model: tmp.file('missing.onnx'), data: X, out: tmp.file('no/such/folder/s.npz') }), /no such folder/);
  await assert.rejects(recordToFile({ model: mlp, data: X, out: tmp.file('s.tsv') }), /\.npz/);
  mkdirSync(tmp.file('folder.npz'));
  await assert.rejects(recordToFile({ model: mlp, data: X, out: tmp.file('folder.npz') }), /is a folder/);
  await assert.rejects(recordToFile({ model: mlp, data: X, shard: { index: 0, count: 200 }, out: tmp.file('empty.npz') }), /shard 0\/200 of 101 samples would be empty: use at most 101 shards/);
  assert.ok(!existsSync(tmp.file('empty.npz')));
});
