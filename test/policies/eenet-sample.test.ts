// EENet on a real trace: the embedded sample model (a 4-exit CNN) on its
// 10,000 Fashion-MNIST test images.
//  - Held out: fitted on a seeded random half and scored on the other half,
//    against the max-probability threshold calibrated on the same half, EENet
//    (as defined: share filling, the last epoch) meets its budget within 3 %
//    and its accuracy is at least the baseline's less 0.5 points.
//  - In a stream (warm-up 1,000 rounds, refits every 2,000 on the warm-up and
//    the explored rounds): the realised cost after the warm-up, explored rounds
//    included, is within 3 % of the budget (mean over seeds).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInference } from '../../src/inference/job.js';
import { samplePaths } from '../../src/paths.js';
import { parsePolicySpec, replay, type PolicyEnv } from '../../src/policies/index.js';
import { openStore } from '../../src/store/store.js';
import type { Trace } from '../../src/trace/types.js';
import { fitOn, scoreRule, splitTrace } from '../helpers/split.js';

const sample = samplePaths();
const present = existsSync(sample.model) && existsSync(sample.data) && existsSync(sample.labels);
const skip = present ? false : `the embedded sample is absent (${sample.model}): EENet on a real trace is checked where it is present`;
const dir = mkdtempSync(join(tmpdir(), 'es-eenet-sample-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let cached: Promise<Trace> | undefined;
function sampleTrace(): Promise<Trace> {
  cached ??= (async () => {
    const store = openStore(join(dir, 'studio.sqlite'));
    const r = await runInference(store, { model: sample.model, data: sample.data, labels: sample.labels, probs: true, threads: 1 });
    return store.traces.load(r.traceId);
  })();
  return cached;
}

const SPLITS = [1, 2, 3];

/** Per budget, EENet and maxprob@budget each fitted on a seeded random half and scored on the other, averaged over SPLITS. */
function checkHeldOut(trace: Trace, supervised: boolean): string[] {
  const lines: string[] = [];
  for (const B of [0.3, 0.5, 0.7]) {
    const e = { cost: 0, accuracy: 0 };
    const m = { cost: 0, accuracy: 0 };
    for (const seed of SPLITS) {
      const { calibration, evaluation } = splitTrace(trace, seed);
      const es = scoreRule(evaluation, fitOn(calibration, `eenet:${B}`, { seed, supervised }).learned());
      const ms = scoreRule(evaluation, fitOn(calibration, `maxprob@budget:${B}`, { seed }).learned());
      e.cost += es.cost / SPLITS.length;
      e.accuracy += es.accuracy / SPLITS.length;
      m.cost += ms.cost / SPLITS.length;
      m.accuracy += ms.accuracy / SPLITS.length;
    }
    const line = `B ${B}, held out, mean of ${SPLITS.length} splits: EENet ${(100 * e.accuracy).toFixed(2)} % at ${e.cost.toFixed(4)}; maxprob@budget ${(100 * m.accuracy).toFixed(2)} % at ${m.cost.toFixed(4)}`;
    lines.push(line);
    assert.ok(Math.abs(e.cost - B) <= 0.03 * B, `supervised ${supervised}, budget missed: ${line}`);
    assert.ok(e.accuracy >= m.accuracy - 0.005, `supervised ${supervised}, accuracy below the bar: ${line}`);
  }
  return lines;
}

test('sample trace, held out: supervised EENet meets its budget within 3 % and maxprob@budget less 0.5 points (B = 0.3, 0.5, 0.7)', { skip }, async (t) => {
  const trace = await sampleTrace();
  assert.equal(trace.exits.length, 4);
  assert.ok(trace.probs && trace.labels);
  for (const l of checkHeldOut(trace, true)) t.diagnostic(l);
});

test('sample trace, held out: unsupervised EENet (agreement with the final exit as target) meets the same bar', { skip }, async (t) => {
  const trace = await sampleTrace();
  for (const l of checkHeldOut(trace, false)) t.diagnostic(l);
});

test('sample trace, in a stream: realised cost after the warm-up within 3 % of the budget (refits on explored rounds, not the ones that went deep)', { skip }, async (t) => {
  const trace = await sampleTrace();
  const K = trace.exits.length;
  const B = 0.3;
  const W = 1000;
  const costs: number[] = [];
  for (const seed of [1, 2, 3, 4, 5]) {
    const env: PolicyEnv = { exits: K, classes: trace.classes, costs: trace.costs, lambda: 1, seed, supervised: false, rounds: trace.samples, calibration: trace };
    const policy = parsePolicySpec(`eenet:${B}`, {}, { warmup: W, refitEvery: 2000 }).create(env, trace.costs);
    const rec = replay(trace, policy, { seed });
    let c = 0;
    for (let r = W; r < trace.samples; r++) c += trace.costs[rec.exit[r]!]!;
    costs.push(c / (trace.samples - W));
  }
  const mean = costs.reduce((a, b) => a + b, 0) / costs.length;
  t.diagnostic(`cost after warm-up per seed ${costs.map((c) => c.toFixed(4)).join(' ')}; mean ${mean.toFixed(4)} for budget ${B}`);
  assert.ok(Math.abs(mean - B) <= 0.03 * B, `mean ${mean}`);
  for (const c of costs) assert.ok(Math.abs(c - B) <= 0.06 * B, `a seed at ${c}`);
});
