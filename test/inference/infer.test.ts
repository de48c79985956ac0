import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeNpy, readNpyArray } from '../../src/data/npy.js';
import { CancelledError, StudioError } from '../../src/errors.js';
import { runInference } from '../../src/inference/job.js';
import { listProviders, usableProvider } from '../../src/inference/providers.js';
import { samplePaths } from '../../src/paths.js';
import { openStore, type Store } from '../../src/store/store.js';
import { exportTrace } from '../../src/trace/export.js';
import { importTrace } from '../../src/trace/import.js';
import { plainFeatures } from '../helpers/features.js';
import { buildMlpMultiExit, cleanupTempModels, writeTempModel } from '../helpers/onnx-builder.js';
import { buildSeqModel, seqModelMacs } from '../helpers/seq-model.js';

const dir = mkdtempSync(join(tmpdir(), 'es-infer-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanupTempModels();
});

let n = 0;
function freshStore(): Store {
  return openStore(join(dir, `studio-${n++}.sqlite`));
}

const INPUT = 12;
const CLASSES = 5;
const mlp = writeTempModel(buildMlpMultiExit({ inputDim: INPUT, hidden: 16, classes: CLASSES, exits: 3, seed: 7, declareOrder: [2, 0, 1] }), 'mlp.onnx');

function dataset(samples: number, seed = 1): { path: string; data: Float32Array } {
  const data = new Float32Array(samples * INPUT);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 2147483648 - 0.5;
  }
  const path = join(dir, `x-${samples}-${seed}.npy`);
  writeNpy(path, 'float', [samples, INPUT], data);
  return { path, data };
}

test('the stored trace holds, per sample and exit, what onnxruntime computes (exits in depth order)', async () => {
  const store = freshStore();
  const N = 600;
  const { path, data } = dataset(N);
  const r = await runInference(store, { model: mlp, data: path, batch: 32, threads: 1, probs: true });
  assert.equal(r.samples, N);
  assert.equal(r.exits, 3);
  assert.equal(r.reused, false);
  assert.equal(r.exitLatencyMs.length, 3);
  // The first 4 of the 19 batches ran as stages (one to warm up, three timed: the fewest), the rest as the whole model.
  const l = r.latency!;
  assert.equal(l.method, 'staged');
  assert.equal(l.inputs, 'inference');
  assert.deepEqual([l.repeats, l.batch], [3, 32]);
  assert.deepEqual(r.exitLatencyMs, l.ms);
  assert.ok(l.ms.every((m, k) => l.q1[k]! <= m && m <= l.q3[k]! && (k === 0 || m >= l.ms[k - 1]!)), JSON.stringify(l));
  assert.ok(l.seconds > 0 && l.seconds < r.jobSeconds);
  assert.deepEqual(store.traces.meta(r.traceId).latency, l, 'the profile is stored with the trace');
  const trace = store.traces.load(r.traceId);
  assert.deepEqual(trace.exits.map((e) => e.name), ['exit_0', 'exit_1', 'exit_2'], 'depth order, not declaration order');

  // An independent session over the same data, and the features from their definitions (test/helpers/features.ts,
  // none of the product's code): every stored feature must match, entropy and margin included, on the
  // batches that ran as stages and on those that ran as the whole model.
  const session = await ort.InferenceSession.create(mlp);
  const out = await session.run({ x: new ort.Tensor('float32', data, [N, INPUT]) });
  for (let k = 0; k < 3; k++) {
    const logits = out[`exit_${k}`]!.data as Float32Array;
    for (let i = 0; i < N; i++) {
      const f = plainFeatures(logits, i * CLASSES, CLASSES);
      const at = i * 3 + k;
      assert.equal(trace.pred[at], f.pred);
      assert.ok(Math.abs(trace.maxProb![at]! - f.maxProb) < 1e-6, `maxProb ${trace.maxProb![at]} vs ${f.maxProb}`);
      assert.ok(Math.abs(trace.entropy![at]! - f.entropy) < 1e-6, `entropy ${trace.entropy![at]} vs ${f.entropy}`);
      assert.ok(Math.abs(trace.margin![at]! - f.margin) < 1e-6, `margin ${trace.margin![at]} vs ${f.margin}`);
      for (let c = 0; c < CLASSES; c++) assert.ok(Math.abs(trace.probs![at * CLASSES + c]! - f.probs[c]!) < 1e-6);
    }
  }
  assert.equal(trace.costSource, 'macs');
  assert.equal(trace.costs[2], 1);
  store.close();
});

test('batches read by the session worker (onnxruntime on every core, an .npy) give the trace read here; a shard and a NaN mid-file too', async () => {
  const store = freshStore();
  const N = 300;
  const { path, data } = dataset(N, 5);
  // One thread leaves a core free: this thread reads the batches and makes the features. As many
  // threads as cores: the worker opens the .npy again and does both between its runs.
  const cores = availableParallelism();
  const one = await runInference(store, { model: mlp, data: path, batch: 32, threads: 1, probs: true });
  const all = await runInference(store, { model: mlp, data: path, batch: 32, threads: cores, probs: true, force: true });
  if (cores > 1) assert.deepEqual(one.pipeline, { reads: 'job', features: 'job' });
  assert.deepEqual(all.pipeline, { reads: 'worker', features: 'worker' });
  const here = store.traces.load(one.traceId);
  const there = store.traces.load(all.traceId);
  for (const f of ['pred', 'maxProb', 'entropy', 'margin', 'probs'] as const) assert.deepStrictEqual(there[f], here[f], f);
  // A shard is read from its own first sample: rows 100..199 of the whole.
  const shard = store.traces.load((await runInference(store, { model: mlp, data: path, batch: 32, threads: cores, shard: { index: 1, count: 3 } })).traceId);
  assert.equal(shard.samples, 100);
  assert.deepStrictEqual(shard.pred, here.pred.slice(100 * 3, 200 * 3));
  // A NaN in the 5th batch, found by the worker as it reads: the same refusal as here, nothing stored.
  const bad = data.slice();
  bad[150 * INPUT + 3] = NaN;
  const badPath = join(dir, 'nan-mid.npy');
  writeNpy(badPath, 'float', [N, INPUT], bad);
  const before = store.traces.list().length;
  for (const threads of [1, cores]) {
    await assert.rejects(runInference(store, { model: mlp, data: badPath, batch: 32, threads }), (e: unknown) =>
      e instanceof StudioError && e.kind === 'input' && e.file === badPath && e.field === 'allowNonFinite' && /sample 150, input "x": NaN is not a finite number/.test(e.message));
  }
  assert.equal(store.traces.list().length, before, 'no trace left behind');
  // An .npz is inflated when opened: read here and sent, not opened a second time in the worker.
  const npz = await runInference(store, { model: samplePaths().model, data: samplePaths().data, limit: 64, threads: cores });
  assert.deepEqual(npz.pipeline, { reads: 'job', features: 'worker' });
  store.close();
});

test("a trace's MACs are counted at the data's own shapes, and say how they were counted", async () => {
  const model = writeTempModel(buildSeqModel(), 'seq-model.onnx');
  const path = join(dir, 'seq9.npy');
  writeNpy(path, 'float', [6, 9, 4], Float32Array.from({ length: 6 * 9 * 4 }, (_, i) => (i % 7) / 7));
  const store = freshStore();
  try {
    const r = await runInference(store, { model, data: path, threads: 1 });
    const meta = store.traces.meta(r.traceId);
    // seq 9 from the data, not the 128 a count without data assumes.
    assert.deepEqual(meta.exits.map((e) => [e.macs, e.macsSource]), seqModelMacs(9).map((m) => [m, 'static']));
    assert.deepEqual(meta.macsBasis?.dims, [{ name: 'seq', value: 9, from: 'data' }]);
    assert.equal(meta.costSource, 'macs');
    assert.deepEqual(meta.costs, seqModelMacs(9).map((m) => m / seqModelMacs(9)[1]!));
    // The basis travels with the trace through an .npz and back.
    const npz = join(dir, 'seq9-trace.npz');
    await exportTrace(store.traces.load(r.traceId), npz);
    const back = await importTrace(npz);
    assert.deepEqual(back.macsBasis, meta.macsBasis);
    assert.deepEqual(back.exits.map((e) => e.macsSource), ['static', 'static']);
  } finally {
    store.close();
  }
});

test('the same inference is not run twice unless forced', async () => {
  const store = freshStore();
  const { path } = dataset(100, 2);
  const a = await runInference(store, { model: mlp, data: path, threads: 1 });
  const b = await runInference(store, { model: mlp, data: path, threads: 1 });
  assert.equal(b.reused, true);
  assert.equal(b.traceId, a.traceId);
  const c = await runInference(store, { model: mlp, data: path, threads: 1, force: true });
  assert.equal(c.reused, false);
  assert.notEqual(c.traceId, a.traceId);
  // Asking for probabilities the stored trace lacks runs again.
  const d = await runInference(store, { model: mlp, data: path, threads: 1, probs: true });
  assert.equal(d.reused, false);
  store.close();
});

test('progress events count up to the total; cancelling leaves no trace behind', async () => {
  const store = freshStore();
  const { path } = dataset(4000, 3);
  const seen: number[] = [];
  const ac = new AbortController();
  await assert.rejects(
    runInference(store, { model: mlp, data: path, batch: 1, threads: 1 }, {
      signal: ac.signal,
      onProgress: (p) => {
        seen.push(p.done);
        assert.equal(p.total, 4000);
        if (p.done >= 50) ac.abort();
      },
    }),
    (e: unknown) => e instanceof CancelledError,
  );
  assert.ok(seen.length >= 50 && seen.every((d, i) => i === 0 || d > seen[i - 1]!));
  const rows = store.db.prepare('SELECT (SELECT count(*) FROM traces) AS t, (SELECT count(*) FROM trace_chunks) AS c').get();
  assert.deepEqual(rows, { t: 0, c: 0 });
  store.close();
});

test('labels: stored with the trace; a count mismatch is refused before any work, naming the file', async () => {
  const store = freshStore();
  const { path } = dataset(50, 4);
  const labels = join(dir, 'labels.txt');
  writeFileSync(labels, Array.from({ length: 50 }, (_, i) => String(i % CLASSES)).join('\n') + '\n');
  const r = await runInference(store, { model: mlp, data: path, labels, threads: 1 });
  assert.deepEqual(Array.from(store.traces.load(r.traceId).labels!), Array.from({ length: 50 }, (_, i) => i % CLASSES));
  const short = join(dir, 'short.txt');
  writeFileSync(short, '1\n2\n3\n');
  await assert.rejects(runInference(store, { model: mlp, data: path, labels: short, threads: 1, force: true }), (e: unknown) => e instanceof StudioError && e.message.includes(short));
  assert.equal(store.traces.list().length, 1, 'the earlier trace is intact and nothing was added');
  store.close();
});

test('data that does not fit the model is refused with the input, expected and found named; the database stays intact', async () => {
  const store = freshStore();
  const { path } = dataset(20, 5);
  await runInference(store, { model: mlp, data: path, threads: 1 });
  const wrong = join(dir, 'wrong.npy');
  writeNpy(wrong, 'float', [10, INPUT + 1], new Float32Array(10 * (INPUT + 1)));
  await assert.rejects(runInference(store, { model: mlp, data: wrong, threads: 1 }), (e: unknown) => e instanceof StudioError && e.kind === 'input' && e.message.includes(wrong) && e.message.includes('"x"'));
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal(store.traces.list().length, 1);
  store.close();
});

test('an execution provider the build lacks falls back to CPU with a clear message; an unknown one is refused', async () => {
  const store = freshStore();
  const { path } = dataset(20, 6);
  const warnings: string[] = [];
  // A provider no onnxruntime-node build for this platform has: CoreML is macOS's, DirectML Windows'.
  const absent = process.platform === 'darwin' ? 'dml' : 'coreml';
  assert.ok(!listProviders().some((p) => p.name === absent), `${absent} is listed by this build`);
  const r = await runInference(store, { model: mlp, data: path, threads: 1, ep: absent }, { onWarning: (w) => warnings.push(w) });
  assert.equal(r.ep, 'cpu');
  assert.ok(warnings.some((w) => w.includes(absent) && w.includes('cpu')), warnings.join('\n'));
  await assert.rejects(runInference(store, { model: mlp, data: path, threads: 1, ep: 'warp-drive', force: true }), /unknown execution provider "warp-drive"/);
  store.close();
});

/** Whether CUDA starts on this machine, asked once before the tests that depend on it (each says which case it checks). */
const cudaListed = listProviders().some((p) => p.name === 'cuda');
const cudaStarts = cudaListed && (await usableProvider('cuda', mlp, [])) === 'cuda';

test('CUDA where it starts: inference runs there, records it, and warns of nothing', async (t) => {
  if (!cudaStarts) return t.skip(cudaListed ? 'CUDA does not start on this machine (the fallback test covers it)' : 'this onnxruntime-node build does not list cuda');
  const store = freshStore();
  const { path } = dataset(20, 8);
  const seen: string[] = [];
  const r = await runInference(store, { model: mlp, data: path, threads: 1, ep: 'cuda' }, { onWarning: (w) => seen.push(w) });
  assert.equal(r.ep, 'cuda');
  assert.deepEqual(seen, []);
  store.close();
});

test('a provider the build lists but cannot start here (CUDA without its libraries) falls back to CPU, saying why and how to get it', async (t) => {
  if (!cudaListed) return t.skip('this onnxruntime-node build does not list cuda');
  if (cudaStarts) return t.skip('CUDA starts on this machine (the test above covers it)');
  const warnings: string[] = [];
  const ep = await usableProvider('cuda', mlp, warnings);
  assert.equal(ep, 'cpu');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /execution provider "cuda" failed to start \(.+\); running on cpu/);
  // How to get it: the one command that fetches the libraries when they are missing, what else they need when they are there.
  const ortBin = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  if (process.platform === 'linux' && !existsSync(join(ortBin, 'libonnxruntime_providers_cuda.so'))) {
    assert.match(warnings[0]!, /libonnxruntime_providers_cuda\.so is missing\): `npm run setup:cuda` in the studio's folder fetches them/);
  } else assert.match(warnings[0]!, /CUDA 12 runtime and cuDNN 9 on the library path/);
  // The answer is kept for the process: asking again costs no second probe and says the same.
  const again: string[] = [];
  assert.equal(await usableProvider('cuda', mlp, again), 'cpu');
  assert.deepEqual(again, warnings);
  // And inference on it records the provider it really ran on, with the warning.
  const store = freshStore();
  const { path } = dataset(20, 8);
  const seen: string[] = [];
  const r = await runInference(store, { model: mlp, data: path, threads: 1, ep: 'cuda' }, { onWarning: (w) => seen.push(w) });
  assert.equal(r.ep, 'cpu');
  assert.ok(seen.some((w) => /"cuda" failed to start/.test(w)), seen.join('\n'));
  store.close();
});

test('the embedded sample: every exit recorded, later exits more accurate than the first', async (t) => {
  const s = samplePaths();
  if (!existsSync(s.model)) return t.skip('resources/sample/model.onnx is missing');
  const store = freshStore();
  const r = await runInference(store, { model: s.model, data: s.data, labels: s.labels, limit: 500, threads: 1 });
  const trace = store.traces.load(r.traceId);
  const K = trace.exits.length;
  assert.ok(K >= 3);
  const acc = Array.from({ length: K }, (_, k) => {
    let ok = 0;
    for (let i = 0; i < trace.samples; i++) if (trace.pred[i * K + k] === trace.labels![i]) ok++;
    return ok / trace.samples;
  });
  assert.ok(acc[K - 1]! > acc[0]! + 0.1, `per-exit accuracy ${acc.join(', ')}`);
  const labels = await readNpyArray(s.labels);
  assert.equal(Number(labels.data[0]), trace.labels![0]);
  store.close();
});

test('cancelling at any moment never takes the process down (the session finishes its batch, then closes)', async () => {
  const store = freshStore();
  const { path } = dataset(3000, 8);
  for (let k = 0; k < 8; k++) {
    const ac = new AbortController();
    let events = 0;
    if (k === 0) ac.abort();
    await assert.rejects(
      runInference(store, { model: mlp, data: path, batch: 8 + k, threads: 1, force: true }, { signal: ac.signal, onProgress: () => ++events >= k && ac.abort() }),
      (e: unknown) => e instanceof CancelledError,
    );
  }
  assert.deepEqual(store.db.prepare('SELECT (SELECT count(*) FROM traces) AS t, (SELECT count(*) FROM trace_chunks) AS c').get(), { t: 0, c: 0 });
  const done = await runInference(store, { model: mlp, data: path, threads: 1 });
  assert.equal(done.samples, 3000, 'the store and onnxruntime still work afterwards');
  store.close();
});
