/** data.preview and model.inspect's latency profile, through the command contract. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../../src/api/commands.js';
import type { CommandContext } from '../../src/api/context.js';
import { writeNpy } from '../../src/data/npy.js';
import { samplePaths } from '../../src/paths.js';
import { openStore } from '../../src/store/store.js';
import { buildMlpMultiExit, cleanupTempModels, writeTempModel } from '../helpers/onnx-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'es-preview-'));
const store = openStore(join(dir, 'studio.sqlite'));
const ctx: CommandContext = { store, emit: () => {} };
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
  cleanupTempModels();
});
const mlp = writeTempModel(buildMlpMultiExit({ inputDim: 5, hidden: 8, classes: 3, exits: 3, seed: 2 }), 'preview-mlp.onnx');

test('preview of data that fits: sample count, first samples, labels', async () => {
  const data = join(dir, 'x.npy');
  writeNpy(data, 'float', [20, 5], Float32Array.from({ length: 100 }, (_, i) => i));
  const labels = join(dir, 'y.txt');
  writeFileSync(labels, Array.from({ length: 20 }, (_, i) => String(i % 3)).join('\n'));
  const p = await call(ctx, 'data.preview', { path: data, model: mlp, labels, count: 4 });
  assert.deepEqual(p.problems, []);
  assert.equal(p.samples, 20);
  assert.equal(p.format, 'npy');
  assert.deepEqual(p.inputs.map((i) => [i.name, i.dims, i.image]), [['x', [5], null]]);
  assert.deepEqual(p.inputs[0]!.samples, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]]);
  assert.deepEqual(p.labels, { count: 20, classes: 3, first: [0, 1, 2, 0] });
});

test('preview says what the file holds, what the model gets (cast, reshaped) and the range of the values', async () => {
  const data = join(dir, 'bytes.npy');
  writeNpy(data, 'uint8', [6, 5, 1], Uint8Array.from({ length: 30 }, (_, i) => (i * 37) % 251));
  const p = await call(ctx, 'data.preview', { path: data, model: mlp, count: 3 });
  assert.deepEqual(p.problems, []);
  const x = p.inputs[0]!;
  assert.deepEqual(x.stored, { type: 'uint8', dims: [5, 1] });
  assert.deepEqual([x.type, x.dims], ['float', [5]], 'cast to float and reshaped in C order');
  const first = Array.from({ length: 15 }, (_, i) => (i * 37) % 251);
  assert.deepEqual(x.range, { min: Math.min(...first), max: Math.max(...first) }, 'over the previewed samples');
});

test('preview of data that does not fit returns every problem, naming the files', async () => {
  const data = join(dir, 'bad.npy');
  writeNpy(data, 'float', [10, 7], new Float32Array(70));
  const labels = join(dir, 'bad-labels.txt');
  writeFileSync(labels, 'a\nb\n');
  const p = await call(ctx, 'data.preview', { path: data, model: mlp, labels });
  assert.equal(p.problems.length, 2);
  assert.ok(p.problems[0]!.includes(data) && p.problems[0]!.includes('"x"'), p.problems[0]);
  assert.ok(p.problems[1]!.includes(labels), p.problems[1]);
});

test('the sample: image-shaped input flagged for thumbnails; inspect measures a latency profile', async (t) => {
  const s = samplePaths();
  if (!existsSync(s.model)) return t.skip('resources/sample/model.onnx is missing');
  const p = await call(ctx, 'data.preview', { path: s.data, model: s.model });
  assert.deepEqual(p.inputs[0]!.image, { layout: 'NCHW', channels: 1, height: 28, width: 28 });
  assert.equal(p.inputs[0]!.samples[0]!.length, 784);
  const info = await call(ctx, 'model.inspect', { path: s.model, latency: true, threads: 1 });
  assert.equal(info.latencyMs?.length, info.exits.length);
  assert.equal(info.latencyMethod, 'staged', 'timed as the stages a deployment runs');
  // Staged latencies are running sums of positive stage times, so their order proves nothing; each reading must be a real one.
  assert.ok(info.latencyMs!.every((x) => Number.isFinite(x) && x > 0), `${info.latencyMs}`);
});
