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
 * `budget` (the most computation the budget allows). Cost grows with a
 * max-probability threshold and shrinks with an entropy one, so a binary
 * search over the observed values finds it.
 */
export function calibrateThreshold(trace: Trace, measure: ThresholdMeasure, budget: number, costs: Float64Array): number {
  const K = trace.exits.length;
  const a = measure === 'maxProb' ? trace.maxProb! : trace.entropy!;
  const vals: number[] = [];
  for (let s = 0; s < trace.samples; s++) for (let k = 0; k < K - 1; k++) vals.push(a[s * K + k]!);
  // Candidates in order of increasing cost: maxProb ascending (ends past 1: everything to the last exit);
  // entropy descending (ends below 0).
  const sorted = Float64Array.from(new Set(vals)).sort();
  const cand: number[] = measure === 'maxProb' ? [...sorted, 2] : [...Array.from(sorted).reverse(), -1];
  let lo = 0;
  let hi = cand.length - 1;
  if (thresholdCost(trace, measure, cand[0]!, costs) > budget) return cand[0]!; // budget below the cheapest rule
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (thresholdCost(trace, measure, cand[mid]!, costs) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return cand[lo]!;
}
