/**
 * Risk-controlled thresholds: the tail bounds against hand-computed values;
 * the guarantee as a property over many calibration draws from a known
 * population (the chosen rule's population risk is at most epsilon in at
 * least 1 - delta of the draws), with the same check failing for a rule
 * chosen without the test; the fixed-sequence walk; and what the learned
 * state carries.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  binomialLogCdf,
  calibrateRisk,
  criticalLosses,
  parsePolicySpec,
  policyRefusal,
  riskPValue,
  riskUpperBound,
  RISK_GRID,
  Rng,
  runPolicySync,
  syntheticTrace,
  type RiskLoss,
} from '../../src/policies/index.js';
import type { Trace } from '../../src/trace/types.js';
import { subTrace } from '../helpers/split.js';

test('binomial tail and the tests built on it, against values worked by hand', () => {
  // P(Bin(10, 0.1) <= 1) = 0.9^10 + 10 * 0.1 * 0.9^9.
  assert.ok(Math.abs(Math.exp(binomialLogCdf(1, 10, 0.1)) - (0.9 ** 10 + 0.9 ** 9)) < 1e-12);
  // P(Bin(100, 0.1) <= k): k = 5: 0.0576, k = 6: 0.1172 (a table), so at delta 0.1 five losses pass and six do not.
  assert.ok(Math.abs(Math.exp(binomialLogCdf(5, 100, 0.1)) - 0.05757689) < 1e-7);
  assert.equal(criticalLosses(100, 0.1, 0.1, 'binomial'), 5);
  // Hoeffding-Bentkus is e times the binomial tail here (its Hoeffding part is larger): e * 0.0576 > 0.1 at 5, e * P(<= 4) = e * 0.0237 = 0.0645 passes.
  assert.equal(criticalLosses(100, 0.1, 0.1, 'hoeffding-bentkus'), 4);
  assert.ok(Math.abs(riskPValue('hoeffding-bentkus', 4, 100, 0.1) - Math.E * Math.exp(binomialLogCdf(4, 100, 0.1))) < 1e-12);
  // Hoeffding alone: exp(-n h(0, eps)) = (1 - eps)^n, the binomial tail at 0.
  assert.ok(Math.abs(riskPValue('hoeffding-bentkus', 0, 100, 0.1) - 0.9 ** 100) < 1e-15);
  // Too few samples: (1 - 0.05)^40 = 0.1285 > 0.1, not even 0 losses rejects.
  assert.equal(criticalLosses(40, 0.05, 0.1, 'binomial'), -1);
  // Clopper-Pearson with no losses: 1 - delta^(1/n).
  assert.ok(Math.abs(riskUpperBound(0, 100, 0.05, 'binomial') - (1 - 0.05 ** (1 / 100))) < 1e-9);
  // Large n stays finite and exact where (1 - eps)^n underflows (0.95^100000 = 0 in floats).
  const k = criticalLosses(100_000, 0.05, 0.1, 'binomial');
  // Normal approximation: 5000 - 1.2816 * sqrt(100000 * 0.05 * 0.95) = 4911.7.
  assert.ok(Math.abs(k - 4911) <= 2, `critical ${k}`);
});

/** Population risk of the shared-threshold rule at grid index i (threshold 1 - i / RISK_GRID), every index at once. */
function populationRisk(t: Trace, loss: RiskLoss): Float64Array {
  const K = t.exits.length;
  const lost = new Float64Array(RISK_GRID + 2);
  for (let s = 0; s < t.samples; s++) {
    const last = t.pred[s * K + K - 1]!;
    const y = t.labels![s]!;
    for (let i = 0; i <= RISK_GRID; i++) {
      const th = 1 - i / RISK_GRID;
      let k = 0;
      while (k < K - 1 && !(t.maxProb![s * K + k]! >= th)) k++;
      const p = t.pred[s * K + k]!;
      if (loss === 'disagreement' ? p !== last : p !== y && last === y) lost[i]!++;
    }
  }
  return lost.map((x) => x / t.samples);
}

test('the guarantee holds over many calibration draws: population risk <= epsilon in at least 1 - delta of them; a rule picked on its empirical risk alone does not', (t) => {
  const population = syntheticTrace({ samples: 4000, exits: 4, classes: 10, seed: 21, probs: false });
  const rng = new Rng(5);
  const eps = 0.1;
  const delta = 0.1;
  const n = 400;
  const DRAWS = 300;
  for (const loss of ['disagreement', 'error'] as const) {
    const risk = populationRisk(population, loss);
    const index = (th: number | null): number => (th === null ? -1 : Math.round((1 - th) * RISK_GRID));
    const covered = { ltt: 0, hb: 0, naive: 0 };
    for (let d = 0; d < DRAWS; d++) {
      // n samples drawn with replacement: independent draws from the population.
      const calib = subTrace(population, Uint32Array.from({ length: n }, () => rng.nextInt(population.samples)));
      for (const test of ['hoeffding-bentkus', 'binomial'] as const) {
        const c = calibrateRisk(calib, eps, delta, loss, test);
        assert.ok(c.guarantee.upperBound <= eps + 1e-12, `the bound reported is within epsilon: ${c.guarantee.upperBound}`);
        const i = index(c.threshold);
        if (i < 0 || risk[i]! <= eps) covered[test === 'binomial' ? 'ltt' : 'hb']++;
      }
      // Without the test: the cheapest grid threshold whose empirical risk on the draw is at most epsilon
      // (delta 0.5 puts the critical count at about n * eps, the empirical risk alone).
      const naive = calibrateRisk(calib, eps, 0.5, loss, 'binomial');
      const j = index(naive.threshold);
      if (j < 0 || risk[j]! <= eps) covered.naive++;
    }
    t.diagnostic(`${loss}: population risk <= ${eps} in ${covered.ltt} of ${DRAWS} draws (binomial), ${covered.hb} (Hoeffding-Bentkus); without the test in ${covered.naive}`);
    assert.ok(covered.ltt / DRAWS >= 1 - delta, `${loss}: covered in ${covered.ltt} of ${DRAWS} draws (binomial)`);
    assert.ok(covered.hb >= covered.ltt, `${loss}: Hoeffding-Bentkus, the more conservative test, covered in ${covered.hb}`);
    assert.ok(covered.naive / DRAWS < 0.75, `${loss}: the check has teeth: a rule without the test is covered in ${covered.naive} of ${DRAWS}`);
  }
});

test('fixed-sequence testing: the kept threshold passed and every grid threshold before it too; the next one failed', () => {
  const t = syntheticTrace({ samples: 3000, exits: 4, classes: 10, seed: 8, probs: false });
  const c = calibrateRisk(t, 0.05, 0.1, 'disagreement', 'binomial');
  const crit = criticalLosses(t.samples, 0.05, 0.1, 'binomial');
  const K = 4;
  const lossesAt = (th: number): number => {
    let lost = 0;
    for (let s = 0; s < t.samples; s++) {
      let k = 0;
      while (k < K - 1 && !(t.maxProb![s * K + k]! >= th)) k++;
      if (t.pred[s * K + k] !== t.pred[s * K + K - 1]) lost++;
    }
    return lost;
  };
  assert.ok(c.threshold !== null);
  const i = Math.round((1 - c.threshold) * RISK_GRID);
  assert.equal(c.guarantee.losses, lossesAt(c.threshold));
  assert.ok(c.guarantee.losses <= crit);
  for (let j = 0; j < i; j += 25) assert.ok(lossesAt(1 - j / RISK_GRID) <= crit, `grid ${j} passed on the way`);
  assert.ok(lossesAt(1 - (i + 1) / RISK_GRID) > crit, 'the walk stopped at the first failure');
  assert.deepEqual(
    { n: c.guarantee.n, epsilon: c.guarantee.epsilon, delta: c.guarantee.delta, empiricalRisk: c.guarantee.empiricalRisk },
    { n: 3000, epsilon: 0.05, delta: 0.1, empiricalRisk: c.guarantee.losses / 3000 },
  );
});

test('risk:EPS in a run (in-sample): label-free by default, its learned rule carries the guarantee; the "error" risk needs labels and a supervised run', () => {
  const t = syntheticTrace({ samples: 3000, exits: 4, classes: 10, seed: 9, probs: false });
  const r = runPolicySync(t, 'risk:0.05', { seeds: 2, evaluation: { mode: 'in-sample' } });
  assert.equal(r.usesHindsight, true);
  const l = r.learned;
  assert.equal(l.kind, 'thresholds');
  if (l.kind !== 'thresholds') return;
  assert.deepEqual(
    { method: l.guarantee?.method, test: l.guarantee?.test, risk: l.guarantee?.risk, epsilon: l.guarantee?.epsilon, delta: l.guarantee?.delta, n: l.guarantee?.n },
    { method: 'learn-then-test', test: 'hoeffding-bentkus', risk: 'disagreement', epsilon: 0.05, delta: 0.1, n: 3000 },
  );
  assert.equal(l.thresholds.at(-1), 0);
  assert.ok(l.threshold !== undefined && l.thresholds.slice(0, -1).every((x) => x === l.threshold));
  // In-sample (it saw the whole trace): the disagreement realised is the empirical risk it certified.
  assert.ok(Math.abs(1 - r.summary.agreement.mean - l.guarantee!.empiricalRisk) < 1e-12);
  assert.ok(r.summary.avgCost.mean < 0.9, `saves compute: ${r.summary.avgCost.mean}`);
  const err = parsePolicySpec('risk:0.05', {}, { loss: 'error' });
  assert.match(policyRefusal(err, t, false) ?? '', /reads labels: run it supervised/);
  const unlabelled = { ...t };
  delete unlabelled.labels;
  assert.match(policyRefusal(err, unlabelled, false) ?? '', /needs labels/);
  assert.equal(policyRefusal(err, t, true), undefined);
  // With the "error" risk the chosen rule is at least as cheap: a disagreement that is not an added error costs nothing.
  const e = runPolicySync(t, 'risk:0.05', { seeds: 1, supervised: true, params: { loss: 'error' }, evaluation: { mode: 'in-sample' } });
  assert.ok(e.summary.avgCost.mean <= r.summary.avgCost.mean + 1e-12);
});
