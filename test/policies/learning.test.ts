// DEE and EENet on synthetic traces whose confidence is informative (a seeded
// generative process: see src/policies/synthetic.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkPolicyRegret,
  deeOptimalRule,
  eenetDataFromTrace,
  fitEENet,
  runPolicySync,
  syntheticTrace,
} from '../../src/policies/index.js';

const synth = syntheticTrace({ samples: 20000, exits: 4, classes: 10, seed: 3 });

test('DEE: sub-linear regret against the best per-context rule, and learned thresholds', () => {
  const { result, check } = checkPolicyRegret(synth, 'dee', { seeds: 3 });
  assert.equal(result.summary.regretKind, 'dee');
  assert.ok(check.sublinear, `DEE regret halves: ${check.firstHalf.toFixed(1)} then ${check.secondHalf.toFixed(1)}`);
  const l = result.learned;
  assert.equal(l.kind, 'thresholds');
  if (l.kind === 'thresholds') {
    assert.equal(l.measure, 'maxProb');
    assert.equal(l.thresholds.length, 4);
    assert.equal(l.thresholds[3], 0);
  }
});

test('DEE: with lambda 0 the best rule is the deepest exit it can reach, and DEE learns to go there', () => {
  // No cost: exiting early only loses confidence, so continuing wins wherever deeper exits are more confident.
  const rule = deeOptimalRule(synth, new Float64Array(4), 10);
  const cheap = deeOptimalRule(synth, Float64Array.from([0.25, 0.5, 0.75, 1]), 10);
  assert.ok(rule.meanValue > cheap.meanValue);
  const r = runPolicySync(synth, 'dee', { seeds: 2, lambda: 0 });
  assert.ok(r.summary.avgCost.mean > runPolicySync(synth, 'dee', { seeds: 2 }).summary.avgCost.mean);
});

test('UEE-UCB and fixed exits: regret definitions agree (fixed exit at the best arm has zero regret)', () => {
  const best = runPolicySync(synth, 'best-fixed', { seeds: 1, evaluation: { mode: 'in-sample' } });
  assert.equal(best.summary.cumRegret.mean, 0);
  const worst = runPolicySync(synth, 'fixed:1', { seeds: 1 });
  assert.ok(worst.summary.cumRegret.mean > 0);
});

const eSynth = syntheticTrace({ samples: 5000, exits: 4, classes: 10, seed: 3 });

test('EENet meets its budget within 2 % and matches or beats maxprob@budget (within 0.5 points)', () => {
  for (const supervised of [false, true]) {
    const B = 0.6;
    const e = runPolicySync(eSynth, `eenet:${B}`, { seeds: 2, supervised });
    const m = runPolicySync(eSynth, `maxprob@budget:${B}`, { seeds: 1 });
    const cost = e.summary.avgCost.mean;
    assert.ok(Math.abs(cost - B) <= 0.02 * B, `EENet cost ${cost} vs budget ${B}`);
    const acc = e.summary.accuracy!.mean;
    const base = m.summary.accuracy!.mean;
    assert.ok(acc >= base - 0.005, `EENet ${acc} vs maxprob@budget ${base} (supervised ${supervised})`);
    assert.ok(e.fits && e.fits.length === 2);
    const h = e.fits![0]!.history;
    assert.ok(h.length >= 1);
    for (const ep of h) for (const v of [ep.loss, ep.bce, ep.kl, ep.costTerm, ep.cost, ep.accuracy]) assert.ok(Number.isFinite(v));
    assert.ok(h.at(-1)!.costTerm < h[0]!.costTerm || h[0]!.costTerm < 0.01, 'the budget term falls');
    assert.equal(e.learned.kind, 'eenet');
    if (e.learned.kind === 'eenet') {
      assert.equal(e.learned.thresholds.length, 4);
      assert.equal(e.learned.model.exits[2]!.linW.length, 10 + 2 + 2);
      JSON.parse(JSON.stringify(e.learned));
    }
  }
});

test('EENet fit is seeded (deterministic) and a budget of 1 sends almost everything to the last exit', () => {
  const data = eenetDataFromTrace(eSynth, false);
  const a = fitEENet(data, { budget: 0.5, costs: eSynth.costs, epochs: 3, seed: 4 });
  const b = fitEENet(data, { budget: 0.5, costs: eSynth.costs, epochs: 3, seed: 4 });
  assert.deepEqual(a.history, b.history);
  assert.deepEqual(a.thresholds, b.thresholds);
  const full = runPolicySync(eSynth, 'eenet:1', { seeds: 1 });
  assert.ok(full.summary.avgCost.mean > 0.9, `cost ${full.summary.avgCost.mean}`);
});

test('EENet in a stream: warm-up rounds play the last exit, then the fitted rule', () => {
  const r = runPolicySync(eSynth, 'eenet:0.5', { seeds: 1, params: { warmup: 1000, refitEvery: 2000, epochs: 8 }, evaluation: { mode: 'in-sample' } });
  assert.equal(r.usesHindsight, false);
  // Refits at rounds 1001 and 3001 (fully computed samples only).
  assert.equal(r.fits!.length, 2);
  assert.ok(r.summary.exitShare[3]!.mean >= 1000 / 5000);
  assert.ok(r.summary.avgCost.mean < 0.8);
});
