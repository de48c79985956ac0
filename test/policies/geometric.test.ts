/**
 * Geometric budget: shares proportional to q^k whose expected cost is the
 * budget (worked by hand where q comes out round), and thresholds that give
 * each exit its share on the calibration data.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geometricShares, runPolicySync, syntheticTrace } from '../../src/policies/index.js';

const close = (a: number, b: number, tol = 1e-9): boolean => Math.abs(a - b) <= tol;

test('geometric shares: proportional to q^k, expected cost the budget (hand-worked cases)', () => {
  // Two exits at 0.5 / 1, budget 0.75: p = (1, q) / (1 + q) costs (0.5 + q) / (1 + q) = 0.75 at q = 1.
  const two = geometricShares(0.75, [0.5, 1]);
  assert.ok(close(two[0]!, 0.5) && close(two[1]!, 0.5), String(two));
  // Three exits at 1/3, 2/3, 1 with budget 2/3: q = 1, equal shares.
  const three = geometricShares(2 / 3, [1 / 3, 2 / 3, 1]);
  for (const p of three) assert.ok(close(p, 1 / 3), String(three));
  // Budget 0.55 on 0.5 / 1: (0.5 + q) / (1 + q) = 0.55 at q = 1/9.
  const low = geometricShares(0.55, [0.5, 1]);
  assert.ok(close(low[1]! / low[0]!, 1 / 9, 1e-9), String(low));
  // Any budget: a constant ratio between consecutive shares, and the expected cost is the budget.
  const costs = [0.1, 0.3, 0.45, 0.8, 1];
  for (const B of [0.15, 0.4, 0.62, 0.95]) {
    const p = geometricShares(B, costs);
    const q = p[1]! / p[0]!;
    for (let k = 1; k < costs.length; k++) assert.ok(close(p[k]! / p[k - 1]!, q, 1e-9 * Math.max(1, q)), `B ${B}: ratio at ${k}`);
    assert.ok(close(p.reduce((a, b) => a + b, 0), 1));
    assert.ok(close(p.reduce((c, pk, k) => c + pk * costs[k]!, 0), B, 1e-9), `B ${B}`);
  }
  // A budget at the last exit's cost sends everything there.
  assert.ok(geometricShares(1, costs)[4]! > 1 - 1e-9);
});

test('geometric@budget:B gives each exit its share of the calibration samples (in-sample) and meets the budget', () => {
  const t = syntheticTrace({ samples: 5000, exits: 4, classes: 10, seed: 4, probs: false });
  for (const B of [0.4, 0.7]) {
    const r = runPolicySync(t, `geometric@budget:${B}`, { seeds: 1, evaluation: { mode: 'in-sample' } });
    const want = geometricShares(B, t.costs);
    r.summary.exitShare.forEach((s, k) => assert.ok(Math.abs(s.mean - want[k]!) <= 2 / t.samples + 1e-9, `B ${B}, exit ${k + 1}: ${s.mean} vs ${want[k]}`));
    assert.ok(Math.abs(r.summary.avgCost.mean - B) <= 0.002, `B ${B}: in-sample cost ${r.summary.avgCost.mean}`);
    assert.equal(r.usesHindsight, true);
    assert.equal(r.learned.kind, 'thresholds');
  }
});
