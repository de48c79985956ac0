/**
 * Confidence-threshold baselines: max probability (MSDNet style; exit at the
 * first exit whose max probability reaches T) and normalized entropy
 * (BranchyNet style; exit once entropy falls to T). `calibrateThreshold`
 * picks T on a trace (a run's calibration data) so the mean cost there meets
 * a budget: the fair partner of a budgeted policy such as EENet.
 */
import type { Trace } from '../trace/types.js';
import type { LearnedPolicy, Observation, Policy } from './types.js';

export type ThresholdMeasure = 'maxProb' | 'entropy';

export class ThresholdPolicy implements Policy {
  constructor(
    readonly name: string,
    private readonly measure: ThresholdMeasure,
    private readonly threshold: number,
    private readonly exits: number,
  ) {}
  begin(): number {
    return 0;
  }
  stop(obs: Observation): boolean {
    const k = obs.depth - 1;
    return this.measure === 'maxProb' ? obs.maxProb(k) >= this.threshold : obs.entropy(k) <= this.threshold;
  }
  end(): void {}
  learned(): LearnedPolicy {
    const th: (number | null)[] = new Array<number | null>(this.exits).fill(this.threshold);
    th[this.exits - 1] = this.measure === 'maxProb' ? 0 : 1; // the last exit always exits
    return { kind: 'thresholds', measure: this.measure, direction: this.measure === 'maxProb' ? 'above' : 'below', thresholds: th };
  }
}

/** Mean cost over the trace when every sample exits at its first exit passing threshold T. */
export function thresholdCost(trace: Trace, measure: ThresholdMeasure, T: number, costs: Float64Array): number {
  const K = trace.exits.length;
  const a = measure === 'maxProb' ? trace.maxProb! : trace.entropy!;
  const n = trace.samples;
  let total = 0;
  for (let s = 0; s < n; s++) {
    const base = s * K;
    let k = 0;
    if (measure === 'maxProb') while (k < K - 1 && !(a[base + k]! >= T)) k++;
    else while (k < K - 1 && !(a[base + k]! <= T)) k++;
    total += costs[k]!;
  }
  return n > 0 ? total / n : 0;
}

/** float32 bits to a key whose unsigned order is the numeric order (negative values flip entirely, others flip the sign bit). */
const sortable = (bits: number): number => (bits & 0x80000000 ? ~bits : bits | 0x80000000) >>> 0;
/** The inverse of `sortable`. */
const unsortable = (key: number): number => (key & 0x80000000 ? key & 0x7fffffff : ~key) >>> 0;

/**
 * The threshold whose mean cost on the trace is the largest not above
 * `budget` (the most computation the budget allows), as a value of the data.
 *
 * A sample has exited by exit k iff the running max of its max probability
 * over exits 1..k reaches T (running min of entropy falls to T), so
 * cost(T) = c_1 + sum_k (c_{k+1} - c_k) * share(running extreme at k misses T).
 * Cost is a step function of T that steps at the running extremes' values, so
 * the answer is one of them: for max probability the largest value v with
 * cost(v) <= budget (cost counts values < v), for entropy the smallest
 * (cost counts values > v); 2 or -1 where every or no threshold fits.
 *
 * Found without sorting: the float32 values map to 32-bit keys in numeric
 * order; one pass counts, per exit, the keys' top 16 bits, prefix sums give
 * cost at every bucket edge, and a second pass counts the low 16 bits of the
 * one bucket where the budget is crossed. Two passes over N x (K-1) values,
 * O(K) per cost evaluated, and the same cost arithmetic as thresholdCost.
 */
export function calibrateThreshold(trace: Trace, measure: ThresholdMeasure, budget: number, costs: Float64Array): number {
  const K = trace.exits.length;
  const n = trace.samples;
  const a = measure === 'maxProb' ? trace.maxProb! : trace.entropy!;
  const up = measure === 'maxProb';
  const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const E = K - 1;
  /** Cost when `missed[k]` samples have not exited by exit k (the order of operations of the cost everywhere else). */
  const costOf = (missed: (k: number) => number): number => {
    let c = costs[0]!;
    for (let k = 0; k < E; k++) c += ((costs[k + 1]! - costs[k]!) * missed(k)) / n;
    return c;
  };
  // Everything exits at exit 1 / nothing exits early: the thresholds beyond every value.
  const cheapest = costOf(() => 0);
  const dearest = costOf(() => n);
  if (up) {
    if (cheapest > budget) return -1;
    if (dearest <= budget) return 2;
  } else {
    if (cheapest > budget) return 2;
    if (dearest <= budget) return -1;
  }
  // Keys in "missed" order: for max probability a value v misses T iff key(v) < key(T); for entropy iff
  // v > T, so the keys are complemented and the same holds. The answer is then the largest key u of the
  // data with cost(#keys < u) <= budget.
  const keyOf = (i: number): number => {
    const k = sortable(bits[i]!);
    return up ? k : ~k >>> 0;
  };
  const hi = Array.from({ length: E }, () => new Uint32Array(65537));
  for (let s = 0; s < n; s++) {
    const o = s * K;
    let m = up ? -Infinity : Infinity;
    let mi = o;
    for (let k = 0; k < E; k++) {
      const v = a[o + k]!;
      if (up ? v > m : v < m) {
        m = v;
        mi = o + k;
      }
      hi[k]![(keyOf(mi) >>> 16) + 1]!++;
    }
  }
  // hi[k][b] = number of keys with top bits < b (prefix sums, shifted by one).
  for (const h of hi) for (let b = 1; b <= 65536; b++) h[b]! += h[b - 1]!;
  // The largest non-empty bucket whose smallest key fits: cost(keys in lower buckets) <= budget.
  let bucket = -1;
  {
    let lo = 0;
    let top = 65535;
    // Largest b with cost(hi[.][b]) <= budget (monotone in b), then back off to a non-empty bucket.
    while (lo < top) {
      const mid = (lo + top + 1) >> 1;
      if (costOf((k) => hi[k]![mid]!) <= budget) lo = mid;
      else top = mid - 1;
    }
    const filled = (b: number): boolean => hi.some((h) => h[b + 1]! > h[b]!);
    bucket = lo;
    while (bucket >= 0 && !filled(bucket)) bucket--;
  }
  // Within the bucket: counts of the low 16 bits, per exit.
  const below = hi.map((h) => h[bucket]!);
  const lowCount = Array.from({ length: E }, () => new Uint32Array(65537));
  for (let s = 0; s < n; s++) {
    const o = s * K;
    let m = up ? -Infinity : Infinity;
    let mi = o;
    for (let k = 0; k < E; k++) {
      const v = a[o + k]!;
      if (up ? v > m : v < m) {
        m = v;
        mi = o + k;
      }
      const key = keyOf(mi);
      if (key >>> 16 === bucket) lowCount[k]![(key & 0xffff) + 1]!++;
    }
  }
  for (const h of lowCount) for (let b = 1; b <= 65536; b++) h[b]! += h[b - 1]!;
  // The largest present low part whose cost (keys below it) fits.
  let best = -1;
  for (let l = 0; l < 65536; l++) {
    if (!lowCount.some((h) => h[l + 1]! > h[l]!)) continue;
    if (costOf((k) => below[k]! + lowCount[k]![l]!) <= budget) best = l;
    else break;
  }
  const key = ((bucket << 16) | best) >>> 0;
  const f = new Float32Array(new Uint32Array([unsortable(up ? key : ~key >>> 0)]).buffer)[0]!;
  return f;
}
