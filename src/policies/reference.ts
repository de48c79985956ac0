/**
 * The reference a metric compares predictions to: the label where one is
 * known, otherwise the final exit's prediction ("agreement with the final
 * exit"). Kept in one place so that metrics, regret and the oracle agree.
 */
import type { Trace } from '../trace/types.js';

/** True when the trace has at least one known label. */
export function hasLabels(trace: Trace): boolean {
  const l = trace.labels;
  if (!l) return false;
  for (let i = 0; i < l.length; i++) if (l[i]! >= 0) return true;
  return false;
}

/** Reference class of sample s: its label when known (and labels are used), else the final exit's prediction. */
export function referenceOf(trace: Trace, s: number, useLabels: boolean): number {
  const K = trace.exits.length;
  if (useLabels && trace.labels) {
    const y = trace.labels[s]!;
    if (y >= 0) return y;
  }
  return trace.pred[s * K + K - 1]!;
}

/**
 * Per-exit error rate against the reference (labels where known when useLabels, else the final exit),
 * over `samples` (indices; default every sample): the samples a run is scored on.
 */
export function errorRates(trace: Trace, useLabels: boolean, samples?: ArrayLike<number>): Float64Array {
  const K = trace.exits.length;
  const n = samples ? samples.length : trace.samples;
  const wrong = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const s = samples ? samples[i]! : i;
    const ref = referenceOf(trace, s, useLabels);
    const base = s * K;
    for (let k = 0; k < K; k++) if (trace.pred[base + k] !== ref) wrong[k]!++;
  }
  for (let k = 0; k < K; k++) wrong[k] = n > 0 ? wrong[k]! / n : 0;
  return wrong;
}
