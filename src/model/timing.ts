/**
 * Timed passes summarized: a latency figure is the median of several passes with its
 * interquartile range beside it, since one pass on a busy machine can be off by a factor.
 */
import { StudioError } from '../errors.js';

/** Cumulative ms per sample to each exit over a number of timed passes. */
export interface PassSummary {
  /** Median over the passes, depth order. */
  ms: number[];
  /** First and third quartiles over the passes: the spread. */
  q1: number[];
  q3: number[];
  /** Timed passes summarized. */
  repeats: number;
  /** Samples per pass. */
  batch: number;
}

/**
 * The latency cost model of a model's exits: cumulative ms per sample to each exit, as a
 * deployment pays it, with its spread and how it was obtained (inference/exit-latency.ts).
 */
export interface LatencyProfile extends PassSummary {
  /** 'staged': the stages a deployment runs, timed one by one; 'pruned': each exit's part of the model as its own model. */
  method: 'staged' | 'pruned';
  /** Which stages ran ('staged' only; see prepareStages). */
  layout?: 'optimized' | 'portable';
  /** What the timed passes ran on: the job's own batches, or inputs made up from the model's declared shapes. */
  inputs: 'inference' | 'synthetic';
  ep: string;
  /** Intra-op threads of the timed sessions; null: onnxruntime's default. */
  threads: number | null;
  /**
   * Wall seconds the profile added: cutting the model, its sessions, passes that were not also
   * inference, and, for passes that were (an inference job's first batches, run as stages), the
   * time they took beyond the whole model's rate on the job's later batches (not counted when
   * the whole model ran none, the job being that short).
   */
  seconds: number;
  /** Why the stages could not be timed, when the method is 'pruned'. */
  note?: string;
}

/** The q-quantile of xs (0 <= q <= 1), interpolated between order statistics. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

/**
 * Per-exit median and quartiles of cumulative ms per sample.
 * @param passes passes[p][k]: ms of stage k in pass p (the whole batch); for a prefix timing
 *   (`cumulative` true) passes[p][k] is already the time to exit k.
 */
export function summarizePasses(passes: readonly number[][], batch: number, cumulative = false): PassSummary {
  if (passes.length === 0) throw new StudioError('latency: no timed passes to summarize', { kind: 'internal' });
  const K = passes[0]!.length;
  const cum = passes.map((p) => {
    const out: number[] = [];
    let acc = 0;
    for (let k = 0; k < K; k++) out.push((cumulative ? p[k]! : (acc += p[k]!)) / batch);
    return out;
  });
  const column = (k: number): number[] => cum.map((c) => c[k]!);
  const ms = Array.from({ length: K }, (_, k) => quantile(column(k), 0.5));
  const q1 = Array.from({ length: K }, (_, k) => quantile(column(k), 0.25));
  const q3 = Array.from({ length: K }, (_, k) => quantile(column(k), 0.75));
  return { ms, q1, q3, repeats: passes.length, batch };
}

