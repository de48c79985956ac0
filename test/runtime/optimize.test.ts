import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { buildCnnMultiExit, cleanupTempModels, prng, randomFloats, writeTempModel } from '../helpers/onnx-builder.js';
import { splitStages, type StageSplit } from '../../src/model/split.js';
import { mergeStages, prepareStages } from '../../src/model/split-optimize.js';
import { copyRows, gatherRows, RowBuffers } from '../../src/model/split-run.js';
import { inspectModel } from '../../src/model/inspect.js';
import { samplePaths } from '../../src/paths.js';
import { firstBatch } from '../../src/runtime/data.js';
import { measureStageLatency } from '../../src/runtime/latency.js';
import { EarlyExitRunner } from '../../src/runtime/runner.js';
import type { ExitSpec } from '../../src/runtime/decide.js';
import { featuresOf, softmaxInto } from '../../src/trace/features.js';
import { attentionFeeds, buildAttentionMultiExit } from './attention-model.js';

after(cleanupTempModels);

function withAxes(split: StageSplit) {
  return split.stages.map((s) => ({ ...s, carriedOut: s.carriedOut.map((b) => ({ name: b.name, batchAxis: 0 })) }));
}

/** Exit and prediction per sample of a maxProb threshold policy applied to the full model's outputs. */
async function reference(path: string, exits: string[], feeds: Record<string, ort.Tensor>, T: number): Promise<{ exit: number[]; pred: number[] }> {
  const s = await ort.InferenceSession.create(path);
  const out = await s.run(feeds, exits);
  await s.release();
  const n = Number(out[exits[0]!]!.dims[0]);
  const C = Number(out[exits[0]!]!.dims[1]);
  const p = new Float64Array(C);
  const f = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  const exit: number[] = [];
  const pred: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < exits.length; k++) {
      softmaxInto(out[exits[k]!]!.data as Float32Array, i * C, C, p);
      featuresOf(p, C, f);
      if (k === exits.length - 1 || Math.fround(f.maxProb) >= T) {
        exit.push(k);
        pred.push(f.pred);
        break;
      }
    }
  }
  return { exit, pred };
}

describe('stages re-cut from the optimized graph', () => {
  it('mergeStages puts the portable stages back into the model (shape nodes and carried mask once)', async () => {
    const path = writeTempModel(buildAttentionMultiExit({ blocks: 3, dim: 8, heads: 2 }));
    const exits = ['exit_0', 'exit_1', 'exit_2'];
    const split = await splitStages(path, exits);
    const merged = await ort.InferenceSession.create(mergeStages(split.stages));
    const original = await ort.InferenceSession.create(path);
    try {
      assert.deepEqual(merged.outputNames, exits);
      const feeds = attentionFeeds(4, 5, 8);
      const a = await merged.run(feeds, exits);
      const b = await original.run(feeds, exits);
      for (const e of exits) assert.deepEqual(Array.from(a[e]!.data as Float32Array), Array.from(b[e]!.data as Float32Array), e);
    } finally {
      await merged.release();
      await original.release();
    }
  });

  it('a 16-channel CNN: optimized stages, verified, and the runner still equals the full model + policy', async () => {
    const path = writeTempModel(buildCnnMultiExit({ classes: 5, exits: 3, size: 16, channels: 16, seed: 4 }));
    const exits = ['exit_0', 'exit_1', 'exit_2'];
    const split = await splitStages(path, exits);
    const prepared = await prepareStages(withAxes(split), { threads: 1 });
    assert.equal(prepared.layout, 'optimized', prepared.note);
    assert.deepEqual(prepared.stages.map((s) => s.exit), exits);
    for (const s of prepared.stages.slice(0, -1)) assert.ok(s.carriedOut.length > 0 && s.carriedOut.every((b) => b.batchAxis === 0));

    const feeds = { x: new ort.Tensor('float32', randomFloats(prng(8), 24 * 256, 1), [24, 1, 16, 16]) };
    const specs: ExitSpec[] = exits.map((name) => ({ name, classes: 5, kind: 'logits' }));
    // A threshold that splits the batch: the first that sends some samples out early, some not.
    let T = 0;
    let want = { exit: [] as number[], pred: [] as number[] };
    for (const t of [0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]) {
      want = await reference(path, exits, feeds, t);
      T = t;
      if (want.exit.some((e) => e === 0) && want.exit.some((e) => e > 0)) break;
    }
    const runner = await EarlyExitRunner.create({ stages: withAxes(split), exits: specs, policy: { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [T, T, 0] } }, { threads: 1 });
    try {
      assert.equal(runner.layout, 'optimized');
      for (let pass = 0; pass < 2; pass++) {
        // Twice: the second pass gathers into the buffers the first one left.
        const r = await runner.run(feeds);
        assert.deepEqual(Array.from(r.exit), want.exit);
        assert.deepEqual(Array.from(r.pred), want.pred);
      }
      assert.ok(new Set(want.exit).size > 1, 'the threshold splits the batch');
    } finally {
      await runner.release();
    }
  });

  it('concurrent runs on one runner give what sequential runs give', async () => {
    const path = writeTempModel(buildCnnMultiExit({ classes: 4, exits: 3, size: 8, channels: 16, seed: 2 }));
    const exits = ['exit_0', 'exit_1', 'exit_2'];
    const split = await splitStages(path, exits);
    const specs: ExitSpec[] = exits.map((name) => ({ name, classes: 4, kind: 'logits' }));
    const runner = await EarlyExitRunner.create({ stages: withAxes(split), exits: specs, policy: { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0.4, 0.4, 0] } }, { threads: 1 });
    try {
      const a = { x: new ort.Tensor('float32', randomFloats(prng(1), 20 * 64, 1), [20, 1, 8, 8]) };
      const b = { x: new ort.Tensor('float32', randomFloats(prng(2), 13 * 64, 1), [13, 1, 8, 8]) };
      const [ra, rb] = await Promise.all([runner.run(a), runner.run(b)]);
      const sa = await runner.run(a);
      const sb = await runner.run(b);
      assert.deepEqual(Array.from(ra.pred), Array.from(sa.pred));
      assert.deepEqual(Array.from(rb.pred), Array.from(sb.pred));
      assert.deepEqual(Array.from(ra.exit), Array.from(sa.exit));
      assert.deepEqual(Array.from(rb.exit), Array.from(sb.exit));
    } finally {
      await runner.release();
    }
  });

  it('portable stages when asked, or for another EP, with the reason', async () => {
    const path = writeTempModel(buildCnnMultiExit({ classes: 3, exits: 2, size: 8, channels: 16 }));
    const split = await splitStages(path, ['exit_0', 'exit_1']);
    const off = await prepareStages(withAxes(split), { optimize: false });
    assert.equal(off.layout, 'portable');
    assert.match(off.note ?? '', /turned off/);
    assert.deepEqual(off.stages.map((s) => s.bytes), split.stages.map((s) => s.bytes));
    const cuda = await prepareStages(withAxes(split), { ep: 'cuda' });
    assert.equal(cuda.layout, 'portable');
    assert.match(cuda.note ?? '', /CPU EP only/);
    const lat = await measureStageLatency(split.stages, { x: new ort.Tensor('float32', randomFloats(prng(3), 8 * 64, 1), [8, 1, 8, 8]) }, { threads: 1, repeats: 2 });
    assert.equal(lat.layout, 'optimized');
    assert.ok(lat.cumulative[1]! > lat.cumulative[0]!);
  });

  it('gathered rows: kept buffers give what fresh arrays give; copyRows copies even all rows', () => {
    const t = new ort.Tensor('float32', Float32Array.from({ length: 5 * 6 }, (_, i) => i), [5, 2, 3]);
    const buffers = new RowBuffers();
    const a = gatherRows(t, 0, [1, 3, 4], buffers.for('t'));
    assert.deepEqual(Array.from(a.data as Float32Array), Array.from(gatherRows(t, 0, [1, 3, 4]).data as Float32Array));
    assert.deepEqual(a.dims, [3, 2, 3]);
    const b = gatherRows(t, 0, [0, 2], buffers.for('t'));
    assert.deepEqual(Array.from(b.data as Float32Array), [0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17]);
    assert.equal(gatherRows(t, 0, [0, 1, 2, 3, 4]), t);
    const c = copyRows(t, 0, [0, 1, 2, 3, 4]);
    assert.notEqual(c.data, t.data);
    assert.deepEqual(Array.from(c.data as Float32Array), Array.from(t.data as Float32Array));
  });

  const sample = samplePaths();
  const skip = existsSync(sample.model) && existsSync(sample.data) ? false : `sample model not built yet (${sample.model})`;
  it('sample model: optimized stages run every sample through to the full model\'s last exit', { skip }, async () => {
    const info = await inspectModel(sample.model);
    const exits = info.exits.map((e) => e.name);
    const feeds = await firstBatch(sample.data, info.inputs, 64);
    const split = await splitStages(sample.model, exits);
    const specs: ExitSpec[] = info.exits.map((e) => ({ name: e.name, classes: e.classes, kind: e.kind === 'probs' ? 'probs' : 'logits' }));
    const T = 0.97;
    const want = await reference(sample.model, exits, feeds, T);
    const runner = await EarlyExitRunner.create({ stages: withAxes(split), exits: specs, policy: { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [T, T, T, 0] } }, { threads: 1 });
    try {
      assert.equal(runner.layout, 'optimized', runner.note);
      const r = await runner.run(feeds);
      assert.deepEqual(Array.from(r.exit), want.exit);
      assert.deepEqual(Array.from(r.pred), want.pred);
    } finally {
      await runner.release();
    }
  });
});
