// calibrateThreshold finds the budget's threshold with two histogram passes
// instead of sorting; it must return exactly what the sorting search returned
// (so results stay bit-identical), on ties, equal costs and edge budgets too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { calibrateThreshold, thresholdCost, type ThresholdMeasure } from '../../src/policies/threshold.js';
import { syntheticTrace } from '../../src/policies/synthetic.js';
import type { Trace } from '../../src/trace/types.js';

/** The previous implementation (sort each running extreme, bisect on T, snap to a value of the data): the reference. */
function sortingCalibration(trace: Trace, measure: ThresholdMeasure, budget: number, costs: Float64Array): number {
  const K = trace.exits.length;
  const n = trace.samples;
  const a = measure === 'maxProb' ? trace.maxProb! : trace.entropy!;
  const up = measure === 'maxProb';
  const ext = Array.from({ length: K - 1 }, () => new Float32Array(n)); // the measures are float32: exact, and faster to sort
  for (let s = 0; s < n; s++) {
    let m = up ? -Infinity : Infinity;
    for (let k = 0; k < K - 1; k++) {
      const v = a[s * K + k]!;
      m = up ? (v > m ? v : m) : v < m ? v : m;
      ext[k]![s] = m;
    }
  }
  for (const e of ext) e.sort();
  /** Count of values < T (maxProb: not exited) or > T (entropy: not exited) in a sorted array. */
  const notExited = (e: Float32Array, T: number): number => {
    let lo = 0;
    let hi = n;
    if (up) {
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (e[mid]! < T) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (e[mid]! <= T) lo = mid + 1;
      else hi = mid;
    }
    return n - lo;
  };
  const cost = (T: number): number => {
    let c = costs[0]!;
    for (let k = 0; k < K - 1; k++) c += ((costs[k + 1]! - costs[k]!) * notExited(ext[k]!, T)) / n;
    return c;
  };
  // Cost rises with a max-probability threshold and falls with an entropy one; bisect on the cheap side.
  let cheap = up ? -1 : 2;
  let dear = up ? 2 : -1;
  if (cost(cheap) > budget) return cheap;
  if (cost(dear) <= budget) return dear;
  for (let i = 0; i < 100 && Math.abs(dear - cheap) > 1e-12; i++) {
    const mid = (cheap + dear) / 2;
    if (cost(mid) <= budget) cheap = mid;
    else dear = mid;
  }
  // Snap to the observed value the step sits on, so the threshold reads as a value of the data.
  let snap = cheap;
  let bestGap = Infinity;
  for (const e of ext) {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (e[mid]! < cheap) lo = mid + 1;
      else hi = mid;
    }
    for (const i of [lo - 1, lo]) {
      if (i < 0 || i >= n) continue;
      const v = e[i]!;
      const gap = Math.abs(v - cheap);
      if (gap < bestGap && cost(v) <= budget && cost(v) === cost(cheap)) {
        bestGap = gap;
        snap = v;
      }
    }
  }
  return snap;
}

function traceOf(K: number, values: number[], costs: number[]): Trace {
  const n = Math.floor(values.length / K);
  const v = Float32Array.from(values.slice(0, n * K));
  return {
    samples: n,
    exits: Array.from({ length: K }, (_, k) => ({ name: `e${k}` })),
    classes: 3,
    costs: Float64Array.from(costs),
    costSource: 'user',
    pred: new Int32Array(n * K),
    maxProb: v,
    entropy: Float32Array.from(v, (x) => 1 - x),
  };
}

test('histogram calibration returns exactly what the sorting search did (random traces, ties, edge budgets)', () => {
  const arb = fc
    .record({
      K: fc.integer({ min: 2, max: 5 }),
      n: fc.integer({ min: 1, max: 120 }),
      // Few distinct values make ties, 24-bit fractions near-ties (float32 neighbours near 1). Gaps stay above
      // the sorting search's 1e-12 bisection tolerance, below which it could not tell values apart (the
      // histogram search is exact there too).
      pool: fc.array(fc.integer({ min: 0, max: 1 << 24 }).map((i) => i / (1 << 24)), { minLength: 1, maxLength: 12 }),
      steps: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 5, maxLength: 5 }),
      budget: fc.oneof(fc.double({ min: 0, max: 1.1, noNaN: true }), fc.constantFrom(0, 0.25, 0.5, 1)),
      seed: fc.integer({ min: 0, max: 1e6 }),
    })
    .map(({ K, n, pool, steps, budget, seed }) => {
      let x = seed;
      const values = Array.from({ length: n * K }, () => {
        x = (x * 1103515245 + 12345) % 2147483648;
        return pool[x % pool.length]!;
      });
      // Cumulative, non-decreasing (equal steps included), last = 1.
      const raw = steps.slice(0, K).map((s, k) => (k === 0 ? s + 1 : s));
      const cum: number[] = [];
      raw.reduce((acc, s) => (cum.push(acc + s), acc + s), 0);
      const costs = cum.map((c) => c / cum[K - 1]!);
      return { trace: traceOf(K, values, costs), budget };
    });
  fc.assert(
    fc.property(arb, ({ trace, budget }) => {
      for (const m of ['maxProb', 'entropy'] as const) {
        const want = sortingCalibration(trace, m, budget, trace.costs);
        const got = calibrateThreshold(trace, m, budget, trace.costs);
        assert.ok(Object.is(got, want), `${m} budget ${budget}: got ${got}, the sorting search ${want}`);
      }
    }),
    { numRuns: 400, seed: 7 },
  );
});

test('histogram calibration matches on a synthetic trace at many budgets, within budget', () => {
  const t = syntheticTrace({ samples: 20000, exits: 4, classes: 10, seed: 5, probs: false });
  for (let B = 0.25; B <= 1.0001; B += 0.05) {
    // (0.25 is exit 1's cost: below it no threshold fits and both searches return -1 / 2.)
    for (const m of ['maxProb', 'entropy'] as const) {
      const got = calibrateThreshold(t, m, B, t.costs);
      assert.equal(got, sortingCalibration(t, m, B, t.costs), `${m} at ${B}`);
      assert.ok(thresholdCost(t, m, got, t.costs) <= B + 1e-12);
    }
  }
  for (const m of ['maxProb', 'entropy'] as const) {
    assert.equal(calibrateThreshold(t, m, 0.2, t.costs), m === 'maxProb' ? -1 : 2, 'nothing fits: everything exits at exit 1');
    assert.equal(calibrateThreshold(t, m, 1, t.costs), sortingCalibration(t, m, 1, t.costs));
  }
});
