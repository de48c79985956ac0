/**
 * Confidence-threshold baselines: max probability (MSDNet style; exit at the
 * first exit whose max probability reaches T) and normalized entropy
 * (BranchyNet style; exit once entropy falls to T). `calibrateThreshold`
 * picks T on a whole trace, in hindsight, so the mean cost meets a budget:
 * the fair partner of a budgeted policy such as EENet.
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

/**
 * The threshold whose mean cost on the trace is the largest not above
 * `budget` (the most computation the budget allows).
 *
 * A sample has exited by exit k iff the running max of its max probability
 * over exits 1..k reaches T (running min of entropy falls to T), so
 * cost(T) = c_1 + sum_k (c_{k+1} - c_k) * share(running extreme at k misses T):
 * sort each running extreme once, then every cost(T) is K binary searches and
 * a bisection on T finds the step. O(K N log N) instead of a pass per guess.
 */
export function calibrateThreshold(trace: Trace, measure: ThresholdMeasure, budget: number, costs: Float64Array): number {
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
