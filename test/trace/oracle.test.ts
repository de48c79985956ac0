/**
 * The per-sample oracle: worked out on paper on a tiny trace, and, on a
 * synthetic one, a ceiling no exit rule passes: every fixed exit and every
 * max-probability threshold lies on or under it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syntheticTrace } from '../../src/policies/index.js';
import { traceDiagnostics } from '../../src/trace/diagnostics.js';
import { oracleCeiling, type OracleCeiling } from '../../src/trace/oracle.js';
import type { Trace } from '../../src/trace/types.js';

/** Four samples, three exits (costs 0.2 / 0.5 / 1): right first at exit 1, 2, 3, and never. */
const tiny: Trace = {
  samples: 4,
  exits: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
  classes: 3,
  costs: Float64Array.from([0.2, 0.5, 1]),
  costSource: 'user',
  pred: Int32Array.from([0, 0, 0, 2, 1, 1, 2, 2, 0, 1, 1, 1]),
  labels: Int32Array.from([0, 1, 0, 2]),
};

test('each sample at its cheapest correct exit, exit 1 when none is right; the ceiling rises through each exit\'s group', () => {
  const c = oracleCeiling(tiny, tiny.costs, 'labels')!;
  assert.equal(c.samples, 4);
  assert.equal(c.quality, 3 / 4);
  // Costs: 0.2 (exit 1), 0.5 (exit 2), 1 (exit 3), 0.2 (no exit right): mean 0.475.
  assert.ok(Math.abs(c.cost - 0.475) < 1e-12);
  const want = [
    { cost: 0.2, quality: 0.25 },
    { cost: 0.2 + 0.3 / 4, quality: 0.5 },
    { cost: 0.475, quality: 0.75 },
  ];
  c.front.forEach((p, i) => {
    assert.ok(Math.abs(p.cost - want[i]!.cost) < 1e-12 && Math.abs(p.quality - want[i]!.quality) < 1e-12, JSON.stringify(c.front));
  });
  // Against the last exit instead of labels: exit 3 agrees with itself, so the oracle's agreement is 1.
  const a = oracleCeiling(tiny, tiny.costs, 'final-exit')!;
  assert.equal(a.quality, 1);
  const { labels: _l, ...unlabelled } = tiny;
  assert.equal(oracleCeiling(unlabelled, tiny.costs, 'labels'), null);
  assert.equal(oracleCeiling(tiny, tiny.costs, 'labels', [1, 3])!.quality, 0.5, 'on the samples given');
});

/** The ceiling's quality at mean cost x (linear between its points; flat beyond the oracle). */
function ceilingAt(c: OracleCeiling, x: number): number {
  const f = c.front;
  if (x >= f.at(-1)!.cost) return f.at(-1)!.quality;
  for (let i = 1; i < f.length; i++) {
    if (x <= f[i]!.cost) return f[i - 1]!.quality + ((f[i]!.quality - f[i - 1]!.quality) * (x - f[i - 1]!.cost)) / (f[i]!.cost - f[i - 1]!.cost);
  }
  return f[0]!.quality;
}

test('no fixed exit and no max-probability threshold is above the ceiling', () => {
  const t = syntheticTrace({ samples: 5000, exits: 4, classes: 10, seed: 21, probs: false });
  const d = traceDiagnostics(t);
  const c = d.oracle.accuracy!;
  assert.ok(c.front.length >= 2);
  for (const p of [...d.fixedPoints, ...d.sweep!]) assert.ok(p.accuracy! <= ceilingAt(c, p.cost) + 1e-12, `${p.label}: ${p.accuracy} at ${p.cost} over the ceiling ${ceilingAt(c, p.cost)}`);
  assert.ok(c.quality > d.fixedPoints.at(-1)!.accuracy!, 'the oracle beats the last exit');
});
