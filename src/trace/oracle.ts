/**
 * The per-sample oracle: every sample leaves at its cheapest correct exit
 * (exit 1 when no exit is right), which needs the label and every exit's
 * prediction before choosing. No exit policy can do that (a replay reveals
 * exits one by one and never the label), so it is not a policy but a
 * ceiling, in hindsight, for the accuracy–cost charts: no rule over these
 * exits is more accurate at any mean cost.
 */
import type { Trace } from './types.js';

export interface OracleCeiling {
  /** What "correct" means: the sample's label, or the last exit's prediction (agreement). */
  reference: 'labels' | 'final-exit';
  /** Samples it is computed on (with a label, for 'labels'). */
  samples: number;
  /** The oracle itself: its mean cost and its accuracy (or agreement). */
  cost: number;
  quality: number;
  /**
   * The ceiling, cheapest first: the highest quality any choice of exit per
   * sample reaches at each mean cost, linear between these points. It starts
   * with every sample at exit 1 and ends at the oracle.
   */
  front: { cost: number; quality: number }[];
}

/**
 * The ceiling on `samples` (indices; default every sample). A sample whose
 * cheapest correct exit is k gains 1 for an extra cost C_k - C_1 over exit 1:
 * with unit gains, taking the cheapest gains first is optimal, and they come
 * in K - 1 groups, one per exit, in depth order.
 */
export function oracleCeiling(trace: Trace, costs: ArrayLike<number>, reference: 'labels' | 'final-exit', samples?: ArrayLike<number>): OracleCeiling | null {
  const K = trace.exits.length;
  const labels = reference === 'labels' ? trace.labels : undefined;
  if (reference === 'labels' && !labels) return null;
  const firstRight = new Float64Array(K + 1); // K: no exit right
  const N = samples ? samples.length : trace.samples;
  let n = 0;
  for (let i = 0; i < N; i++) {
    const s = samples ? samples[i]! : i;
    const base = s * K;
    const y = labels ? labels[s]! : trace.pred[base + K - 1]!;
    if (y < 0) continue;
    n++;
    let k = 0;
    while (k < K && trace.pred[base + k] !== y) k++;
    firstRight[k]!++;
  }
  if (n === 0) return null;
  const c1 = costs[0]!;
  let cost = c1;
  let quality = firstRight[0]! / n;
  const front = [{ cost, quality }];
  for (let k = 1; k < K; k++) {
    if (firstRight[k] === 0) continue;
    cost += (firstRight[k]! * (costs[k]! - c1)) / n;
    quality += firstRight[k]! / n;
    front.push({ cost, quality });
  }
  return { reference, samples: n, cost, quality, front };
}
