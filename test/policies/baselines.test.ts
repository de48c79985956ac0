import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  calibrateThreshold,
  gridRounds,
  lttb,
  replay,
  runPolicySync,
  statOf,
  syntheticTrace,
  thresholdCost,
  tQuantile975,
  PatiencePolicy,
  ThresholdPolicy,
} from '../../src/policies/index.js';
import { traceDiagnostics, paretoFront } from '../../src/trace/diagnostics.js';
import type { Trace } from '../../src/trace/types.js';

const synth = syntheticTrace({ samples: 4000, exits: 4, classes: 10, seed: 9 });

/** Three samples, three exits, hand-made so each rule's exits can be worked out on paper. */
const tiny: Trace = {
  samples: 3,
  exits: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
  classes: 3,
  costs: Float64Array.from([0.2, 0.5, 1]),
  costSource: 'user',
  pred: Int32Array.from([0, 0, 1, 2, 1, 1, 1, 1, 1]),
  maxProb: Float32Array.from([0.9, 0.5, 0.6, 0.4, 0.7, 0.95, 0.5, 0.5, 0.5]),
  entropy: Float32Array.from([0.1, 0.8, 0.6, 0.9, 0.3, 0.05, 0.7, 0.7, 0.7]),
  labels: Int32Array.from([0, 1, 1]),
};
const order = Uint32Array.from([0, 1, 2]);

test('maxprob, entropy and patience exit where the definitions say', () => {
  assert.deepEqual(Array.from(replay(tiny, new ThresholdPolicy('m', 'maxProb', 0.65, 3), { seed: 0, order }).exit), [0, 1, 2]);
  assert.deepEqual(Array.from(replay(tiny, new ThresholdPolicy('e', 'entropy', 0.35, 3), { seed: 0, order }).exit), [0, 1, 2]);
  // patience 2: exit once 2 consecutive exits agree (sample 0: exits 1,2 agree; sample 1: 2,3; sample 2: 1,2).
  assert.deepEqual(Array.from(replay(tiny, new PatiencePolicy(2), { seed: 0, order }).exit), [1, 2, 1]);
  assert.deepEqual(Array.from(replay(tiny, new PatiencePolicy(1), { seed: 0, order }).exit), [0, 0, 0]);
});

test('maxprob@budget calibrates the largest cost within the budget (in-sample: scored on the samples it calibrated on)', () => {
  for (const B of [0.3, 0.5, 0.8]) {
    const T = calibrateThreshold(synth, 'maxProb', B, synth.costs);
    const c = thresholdCost(synth, 'maxProb', T, synth.costs);
    assert.ok(c <= B + 1e-12, `cost ${c} over budget ${B}`);
    assert.ok(B - c < 0.01, `cost ${c} leaves budget ${B} unused`);
    const r = runPolicySync(synth, `maxprob@budget:${B}`, { seeds: 2, evaluation: { mode: 'in-sample' } });
    assert.ok(Math.abs(r.summary.avgCost.mean - c) < 1e-12);
    const e = runPolicySync(synth, `entropy@budget:${B}`, { seeds: 1, evaluation: { mode: 'in-sample' } });
    assert.ok(e.summary.avgCost.mean <= B + 1e-12);
  }
});

test('confidence-aware baselines beat the fixed exit of the same cost on an informative trace', () => {
  const fixed = runPolicySync(synth, 'fixed:2', { seeds: 1 });
  const mp = runPolicySync(synth, 'maxprob@budget:0.5', { seeds: 1 });
  assert.ok(mp.summary.accuracy!.mean > fixed.summary.accuracy!.mean + 0.02);
});

test('diagnostics: sweep points are monotone in threshold and the Pareto front is undominated', () => {
  const d = traceDiagnostics(synth);
  assert.equal(d.confidence!.length, 4);
  assert.equal(d.confidence![0]!.counts.reduce((a, b) => a + b, 0), synth.samples);
  const sweep = d.sweep!;
  for (let i = 1; i < sweep.length; i++) assert.ok(sweep[i]!.cost >= sweep[i - 1]!.cost - 1e-12);
  for (const p of d.pareto) {
    for (const q of [...d.fixedPoints, ...sweep]) assert.ok(!(q.cost <= p.cost && q.accuracy! > p.accuracy!), `${q.label} dominates ${p.label}`);
  }
  const f = paretoFront([
    { label: 'a', cost: 1, accuracy: 0.9, agreement: 1 },
    { label: 'b', cost: 0.5, accuracy: 0.95, agreement: 1 },
    { label: 'c', cost: 0.2, accuracy: 0.5, agreement: 1 },
  ]);
  assert.deepEqual(f.map((p) => p.label), ['c', 'b']);
});

test('stats, grids and LTTB', () => {
  assert.equal(tQuantile975(19), 2.093);
  assert.ok(Math.abs(tQuantile975(100) - 1.984) < 1e-3);
  const s = statOf([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.ci95 - 3.182 * Math.sqrt(5 / 3 / 4)) < 1e-9);
  const g = gridRounds(1_000_000, 2000);
  assert.ok(g.length > 1500 && g.length <= 2000, `about 2000 points, got ${g.length}`);
  assert.equal(g[0], 1);
  assert.equal(g[g.length - 1], 1_000_000);
  for (let i = 1; i < g.length; i++) assert.ok(g[i]! > g[i - 1]!, 'strictly increasing');
  // Dense early, where curves bend: the first 100 rounds get dozens of points, not none.
  assert.ok(g.filter((r) => r <= 100).length >= 40, `${g.filter((r) => r <= 100).length} points in rounds 1..100`);
  // And even late: no gap wider than an even grid of half the points would leave.
  for (let i = 1; i < g.length; i++) assert.ok(g[i]! - g[i - 1]! <= Math.ceil(1_000_000 / 1000), `gap at ${g[i - 1]}`);
  assert.deepEqual(Array.from(gridRounds(5, 2000)), [1, 2, 3, 4, 5]);
  // 4 points over 10 rounds: 5 and 10 evenly, 1 and 10 geometrically.
  assert.deepEqual(Array.from(gridRounds(10, 4)), [1, 5, 10]);
  const ys = Float64Array.from({ length: 10000 }, (_, i) => (i === 5000 ? 100 : Math.sin(i / 100)));
  const idx = lttb(ys, 500);
  assert.equal(idx.length, 500);
  assert.ok(idx.includes(5000), 'keeps the spike');
  assert.equal(idx[0], 0);
  assert.equal(idx[499], 9999);
});
