// DEE and UEE-UCB on synthetic traces whose confidence is informative (a seeded
// generative process: see src/policies/synthetic.ts). EENet: eenet.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicyRegret, deeOptimalRule, runPolicySync, syntheticTrace } from '../../src/policies/index.js';

const synth = syntheticTrace({ samples: 20000, exits: 4, classes: 10, seed: 3 });

test('DEE: sub-linear regret against the best per-context rule, and learned per-bin thresholds', () => {
  const { result, check } = checkPolicyRegret(synth, 'dee', { seeds: 3 });
  assert.equal(result.summary.regretKind, 'dee');
  assert.ok(check.sublinear, `DEE regret halves: ${check.firstHalf.toFixed(1)} then ${check.secondHalf.toFixed(1)}`);
  const l = result.learned;
  assert.equal(l.kind, 'binned');
  if (l.kind === 'binned') {
    assert.equal(l.measure, 'maxProb');
    assert.equal(l.bins, 10);
    assert.equal(l.thresholds.length, 3, 'exits 1..K-1; the last always exits');
    for (const row of l.thresholds) assert.equal(row.length, 10);
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
