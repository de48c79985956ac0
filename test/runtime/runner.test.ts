import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildCnnMultiExit, buildMlpMultiExit, cleanupTempModels, prng, randomFloats, writeTempModel } from '../helpers/onnx-builder.js';
import { splitStages, type StageSplit } from '../../src/model/split.js';
import { verifySplit } from '../../src/model/split-verify.js';
import { EarlyExitRunner, type RunnerStage } from '../../src/runtime/runner.js';
import { measureStageLatency } from '../../src/runtime/latency.js';
import type { ExitSpec } from '../../src/runtime/decide.js';
import { EENetModel } from '../../src/policies/eenet-model.js';
import { eenetForward } from '../../src/policies/eenet.js';
import { PatiencePolicy } from '../../src/policies/patience.js';
import { ThresholdPolicy } from '../../src/policies/threshold.js';
import type { LearnedPolicy, Observation, Policy } from '../../src/policies/types.js';
import { featuresOf, softmaxInto } from '../../src/trace/features.js';
import { attentionFeeds, buildAttentionMultiExit } from './attention-model.js';

after(cleanupTempModels);

/** What a trace of the full model holds: float32 features per sample and exit. */
interface FullTrace {
  n: number;
  K: number;
  C: number;
  pred: Int32Array;
  maxProb: Float32Array;
  entropy: Float32Array;
  probs: Float32Array;
}

async function fullTrace(path: string, exits: string[], feeds: Record<string, ort.Tensor>): Promise<FullTrace> {
  const s = await ort.InferenceSession.create(path);
  const out = await s.run(feeds, exits);
  await s.release();
  const K = exits.length;
  const C = Number(out[exits[0]!]!.dims[1]);
  const n = Number(out[exits[0]!]!.dims[0]);
  const t: FullTrace = { n, K, C, pred: new Int32Array(n * K), maxProb: new Float32Array(n * K), entropy: new Float32Array(n * K), probs: new Float32Array(n * K * C) };
  const p = new Float64Array(C);
  const f = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  exits.forEach((name, k) => {
    const d = out[name]!.data as Float32Array;
    for (let i = 0; i < n; i++) {
      softmaxInto(d, i * C, C, p);
      featuresOf(p, C, f);
      t.pred[i * K + k] = f.pred;
      t.maxProb[i * K + k] = f.maxProb;
      t.entropy[i * K + k] = f.entropy;
      for (let c = 0; c < C; c++) t.probs[(i * K + k) * C + c] = p[c]!;
    }
  });
  return t;
}

/** The replay's view of one fully computed sample, honest about depth. */
function observation(t: FullTrace, i: number, depth: number): Observation {
  const guard = (k: number): number => {
    if (k >= depth) throw new Error(`peeked at exit ${k} with depth ${depth}`);
    return i * t.K + k;
  };
  return {
    depth, exits: t.K, classes: t.C,
    pred: (k) => t.pred[guard(k)]!,
    maxProb: (k) => t.maxProb[guard(k)]!,
    entropy: (k) => t.entropy[guard(k)]!,
    margin: () => 0,
    prob: (k, c) => t.probs[guard(k) * t.C + c]!,
    label: () => -1,
  };
}

/** Exit each sample takes under a sequential project policy, on the full model's outputs. */
function referenceExits(t: FullTrace, policy: Policy): Int32Array {
  const out = new Int32Array(t.n);
  for (let i = 0; i < t.n; i++) {
    policy.begin(i + 1);
    let depth = 1;
    while (depth < t.K && !policy.stop(observation(t, i, depth))) depth++;
    out[i] = depth - 1;
  }
  return out;
}

function runnerStages(split: StageSplit, axes: Record<string, number | null>): RunnerStage[] {
  return split.stages.map((s) => ({ ...s, carriedOut: s.carriedOut.map((b) => ({ name: b.name, batchAxis: axes[b.name] ?? 0 })) }));
}

async function check(path: string, exits: string[], feeds: Record<string, ort.Tensor>, policy: LearnedPolicy, want: Int32Array, t: FullTrace): Promise<Int32Array> {
  const split = await splitStages(path, exits);
  const v = await verifySplit(split, feeds);
  const specs: ExitSpec[] = exits.map((name) => ({ name, classes: t.C, kind: 'logits' }));
  const runner = await EarlyExitRunner.create({ stages: runnerStages(split, v.batchAxes), exits: specs, policy });
  try {
    const r = await runner.run(feeds);
    assert.deepEqual(Array.from(r.exit), Array.from(want), `exits under ${policy.kind}`);
    for (let i = 0; i < t.n; i++) assert.equal(r.pred[i], t.pred[i * t.K + want[i]!], `sample ${i}: prediction of exit ${want[i]}`);
    assert.equal(r.stageSamples[0], t.n);
    for (let k = 1; k < t.K; k++) assert.equal(r.stageSamples[k], Array.from(want).filter((e) => e >= k).length, `samples in stage ${k + 1}`);
    assert.ok(r.ms.every((m, i) => m > 0 || want[i]! < 0));
    const sum = r.ms.reduce((a, b) => a + b, 0);
    assert.ok(sum <= r.totalMs + 1e-6, `per-sample shares (${sum}) add up to at most the batch time (${r.totalMs})`);
    return r.exit;
  } finally {
    await runner.release();
  }
}

/** Threshold at the q-quantile of maxProb at the first exit: some samples exit, some go on. */
function quantile(values: Float32Array, K: number, k: number, q: number): number {
  const xs = Array.from({ length: values.length / K }, (_, i) => values[i * K + k]!).sort((a, b) => a - b);
  return xs[Math.floor(q * (xs.length - 1))]!;
}

describe('EarlyExitRunner', () => {
  const mlp = writeTempModel(buildMlpMultiExit({ inputDim: 6, hidden: 8, classes: 4, exits: 3, seed: 11 }));
  const mlpExits = ['exit_0', 'exit_1', 'exit_2'];
  const mlpFeeds = { x: new ort.Tensor('float32', randomFloats(prng(9), 40 * 6, 2), [40, 6]) };

  it('maxProb and entropy thresholds: the same exit and prediction as the full model + ThresholdPolicy', async () => {
    const t = await fullTrace(mlp, mlpExits, mlpFeeds);
    const T = quantile(t.maxProb, 3, 0, 0.5);
    const byMax = new ThresholdPolicy('t', 'maxProb', T, 3);
    const exits = await check(mlp, mlpExits, mlpFeeds, byMax.learned(), referenceExits(t, byMax), t);
    assert.ok(exits.some((e) => e === 0) && exits.some((e) => e > 0), 'the threshold splits the batch');
    const H = quantile(t.entropy, 3, 0, 0.4);
    const byEntropy = new ThresholdPolicy('h', 'entropy', H, 3);
    await check(mlp, mlpExits, mlpFeeds, byEntropy.learned(), referenceExits(t, byEntropy), t);
  });

  it('patience and fixed exits', async () => {
    const t = await fullTrace(mlp, mlpExits, mlpFeeds);
    const p = new PatiencePolicy(2);
    await check(mlp, mlpExits, mlpFeeds, p.learned(), referenceExits(t, p), t);
    await check(mlp, mlpExits, mlpFeeds, { kind: 'fixed', exit: 1 }, new Int32Array(40).fill(1), t);
    await check(mlp, mlpExits, mlpFeeds, { kind: 'fixed', exit: 0, exitName: 'exit_2' }, new Int32Array(40).fill(2), t);
  });

  it('EENet scorer + thresholds: the same exits as the scorer run on the full model', async () => {
    const t = await fullTrace(mlp, mlpExits, mlpFeeds);
    const model = new EENetModel(3, 4, 6, 5);
    const { q } = eenetForward(model, { n: t.n, exits: 3, classes: 4, probs: t.probs, maxProb: t.maxProb, entropy: t.entropy, correct: new Uint8Array(t.n * 3) });
    const th = [quantile(Float32Array.from(q), 3, 0, 0.5), quantile(Float32Array.from(q), 3, 1, 0.5), 0];
    const want = Int32Array.from({ length: t.n }, (_, i) => {
      let k = 0;
      while (k < 2 && !(q[i * 3 + k]! >= th[k]!)) k++;
      return k;
    });
    await check(mlp, mlpExits, mlpFeeds, { kind: 'eenet', model: model.toJSON(), thresholds: th }, want, t);
  });

  it('attention encoder: mask rows follow their samples into later stages', async () => {
    const path = writeTempModel(buildAttentionMultiExit({ blocks: 3, dim: 8, heads: 2, classes: 3 }));
    const exits = ['exit_0', 'exit_1', 'exit_2'];
    const feeds = attentionFeeds(12, 5, 8);
    const t = await fullTrace(path, exits, feeds);
    const pol = new ThresholdPolicy('t', 'maxProb', quantile(t.maxProb, 3, 0, 0.5), 3);
    const got = await check(path, exits, feeds, pol.learned(), referenceExits(t, pol), t);
    assert.ok(got.some((e) => e === 0) && got.some((e) => e > 0));
  });

  it('CNN: every sample exits at the first exit, later stages never run', async () => {
    const path = writeTempModel(buildCnnMultiExit({ classes: 3, exits: 3 }));
    const exits = ['exit_0', 'exit_1', 'exit_2'];
    const feeds = { x: new ort.Tensor('float32', randomFloats(prng(2), 5 * 64, 1), [5, 1, 8, 8]) };
    const t = await fullTrace(path, exits, feeds);
    await check(path, exits, feeds, { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0, 0, 0] }, new Int32Array(5), t);
  });

  it('rejects policies it cannot deploy, before loading stages', async () => {
    const specs: ExitSpec[] = mlpExits.map((name) => ({ name, classes: 4, kind: 'logits' }));
    await assert.rejects(EarlyExitRunner.create({ stages: [], exits: specs, policy: { kind: 'random', shares: [0.5, 0.5, 0] } }), /random policy is a baseline/);
    await assert.rejects(EarlyExitRunner.create({ stages: [], exits: specs, policy: { kind: 'fixed', exit: 0, exitName: 'exit_9' } }), /'exit_9' is not one of the bundle's exits/);
  });

  it('measureStageLatency: every stage is timed, per sample, over the passes asked for, with its spread', async () => {
    const split = await splitStages(mlp, mlpExits);
    const lat = await measureStageLatency(split.stages, mlpFeeds, { repeats: 3, threads: 1 });
    assert.equal(lat.cumulative.length, 3);
    assert.equal(lat.repeats, 3);
    assert.equal(lat.batch, Number(Object.values(mlpFeeds)[0]!.dims[0]));
    // A stage left out of the timing would add nothing: its step between the cumulative medians would be 0.
    // (That exit k costs stages 1..k, as a median of sums, is checked on known passes in weights.test.ts.)
    assert.ok(lat.perStage.every((x) => Number.isFinite(x) && x > 0), `${lat.perStage}`);
    lat.cumulative.forEach((m, k) => assert.ok(lat.q1[k]! <= m && m <= lat.q3[k]!, `exit ${k + 1}: ${lat.q1[k]} <= ${m} <= ${lat.q3[k]}`));
  });
});
