// DEE and UEE-UCB on synthetic traces whose confidence is informative (a seeded
// generative process: see src/policies/synthetic.ts). EENet: eenet.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicyRegret, runPolicySync, syntheticTrace } from '../../src/policies/index.js';

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

test('DEE: with lambda 0 it learns to go deeper than with costs', () => {
  // (The optimal rule itself is checked on a hand-worked trace in hand-worked.test.ts.)
  const r = runPolicySync(synth, 'dee', { seeds: 2, lambda: 0 });
  assert.ok(r.summary.avgCost.mean > runPolicySync(synth, 'dee', { seeds: 2 }).summary.avgCost.mean);
});

test('regret of a fixed exit: (err_k + C_k) - min_i (err_i + C_i) per round, from error rates counted here', () => {
  const K = synth.exits.length;
  const n = synth.samples;
  const total = Array.from({ length: K }, (_, k) => {
    let wrong = 0;
    for (let s = 0; s < n; s++) if (synth.pred[s * K + k] !== synth.labels![s]) wrong++;
    return wrong / n + synth.costs[k]!;
  });
  const best = total.indexOf(Math.min(...total));
  for (let k = 0; k < K; k++) {
    const r = runPolicySync(synth, `fixed:${k + 1}`, { seeds: 1 });
    assert.equal(r.evaluation.mode, 'in-sample');
    const want = n * (total[k]! - total[best]!);
    assert.ok(Math.abs(r.summary.cumRegret.mean - want) < 1e-6 * n, `fixed:${k + 1}: regret ${r.summary.cumRegret.mean} vs ${want}`);
  }
  // The best fixed exit in hindsight is the one counted here (exit 3 on this trace, not the most accurate exit 4).
  assert.equal(best, 2);
  const b = runPolicySync(synth, 'best-fixed', { seeds: 1, evaluation: { mode: 'in-sample' } });
  assert.deepEqual(b.learned, { kind: 'fixed', exit: best });
});
