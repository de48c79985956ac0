// EENet's threshold refinement: whatever the scores, the rule it returns
// keeps its mean cost in the band under the budget when its starts allow it,
// is right at least as often as any start in the band, and says truly what
// it scores; and a small case worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { commonThreshold, refineThresholds, scoreRule, type RuleProblem } from '../../src/policies/eenet-thresholds.js';

const problem = fc
  .record({
    K: fc.integer({ min: 2, max: 4 }),
    n: fc.integer({ min: 1, max: 60 }),
    seed: fc.integer({ min: 1, max: 1e6 }),
    levels: fc.integer({ min: 2, max: 40 }),
    budget: fc.double({ min: 0.3, max: 1, noNaN: true }),
  })
  .map(({ K, n, seed, levels, budget }): RuleProblem => {
    let x = seed;
    const next = (): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    // Few score levels make ties; deeper exits are right more often.
    const q = Float64Array.from({ length: n * K }, () => Math.floor(next() * levels) / (levels - 1));
    const z = Uint8Array.from({ length: n * K }, (_, i) => (next() < 0.5 + (0.4 * (i % K)) / K ? 1 : 0));
    const costs = Float64Array.from({ length: K }, (_, k) => (k === 0 ? 0.25 : 0.25 + (0.75 * k) / (K - 1)));
    return { n, K, q, z, costs, budget };
  });

test('refinement: in the band when a start is, at least as right as every start in the band, and scored truly', () => {
  fc.assert(
    fc.property(problem, (p) => {
      const floor = p.budget * 0.99 * p.n;
      const cap = p.budget * p.n;
      const starts = [commonThreshold(p), Float64Array.from({ length: p.K }, (_, k) => (k === p.K - 1 ? 0 : 0.5))];
      const r = refineThresholds(p, starts);
      const sc = scoreRule(p, r.thresholds);
      assert.equal(sc.right, r.score.right);
      assert.ok(Math.abs(sc.cost - r.score.cost) < 1e-9);
      assert.equal(r.thresholds[p.K - 1], 0);
      for (const s of starts) {
        const st = scoreRule(p, s);
        if (st.cost <= cap + 1e-9 && st.cost >= floor - 1e-9) {
          assert.ok(sc.cost <= cap + 1e-9 && sc.cost >= floor - 1e-9, `cost ${sc.cost / p.n} outside [${floor / p.n}, ${p.budget}]`);
          assert.ok(sc.right >= st.right, `right ${sc.right} below a start's ${st.right}`);
        }
      }
    }),
    { numRuns: 300, seed: 3 },
  );
});

test('refinement: per-exit thresholds do what no common threshold can (worked by hand)', () => {
  // Three exits costing 0.2, 0.6, 1; budget 0.6. A and B score 0.9 at exit 1 but are wrong there, right at
  // exit 2 (score 0.7) and wrong at exit 3; C and D score 0.95 at exit 1 and are right everywhere.
  // One common threshold t: t <= 0.9 sends all four out at exit 1 (2 right); t in (0.9, 0.95] sends A and B
  // past exit 2 (0.7 < t) to exit 3 (2 right, cost 0.6); above 0.95 everything costs 1. Per exit, nobody
  // exits at 1 and everybody at 2: 4 right at cost exactly 0.6.
  const p: RuleProblem = {
    n: 4,
    K: 3,
    q: Float64Array.from([0.9, 0.7, 1, 0.9, 0.7, 1, 0.95, 0.7, 1, 0.95, 0.7, 1]),
    z: Uint8Array.from([0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1]),
    costs: Float64Array.from([0.2, 0.6, 1]),
    budget: 0.6,
  };
  const common = commonThreshold(p);
  assert.equal(scoreRule(p, common).right, 2);
  const r = refineThresholds(p, [common]);
  assert.equal(r.score.right, 4);
  assert.ok(Math.abs(r.score.cost / p.n - 0.6) < 1e-12);
  assert.ok(r.thresholds[0]! > 0.95, `nobody exits at exit 1 (threshold ${r.thresholds[0]})`);
  assert.ok(r.thresholds[1]! <= 0.7, `everybody exits at exit 2 (threshold ${r.thresholds[1]})`);
  assert.equal(r.thresholds[2], 0);
});
