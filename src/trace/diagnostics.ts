/**
 * What a trace says before any policy runs: accuracy and agreement per exit,
 * the strong-dominance categories UEE-UCB relies on, confidence histograms,
 * the cost-accuracy points of every fixed exit and of max-probability
 * threshold sweeps, their Pareto front, and the per-sample oracle's ceiling.
 */
import { oracleCeiling, type OracleCeiling } from './oracle.js';
import type { Trace } from './types.js';

export interface ExitDiagnostics {
  exit: number;
  name: string;
  cost: number;
  /** null when the trace has no labels. */
  accuracy: number | null;
  errorRate: number | null;
  /** Share of samples where this exit predicts what the final exit predicts. */
  agreement: number;
}

/**
 * Strong-dominance categories (shares of labelled samples): allCorrect, every
 * exit right; allWrong, every exit predicts the same wrong class; good, some
 * exit right and every exit after the first right one right too; bad, a later
 * exit turns a right prediction wrong; other, no exit right but they disagree.
 */
export interface DominanceShares {
  allCorrect: number;
  good: number;
  bad: number;
  allWrong: number;
  other: number;
  samples: number;
}

export interface Histogram {
  /** bins + 1 edges over [lo, hi]. */
  edges: number[];
  counts: number[];
}

export interface CostPoint {
  label: string;
  cost: number;
  accuracy: number | null;
  agreement: number;
  /** Threshold of a sweep point. */
  threshold?: number;
}

export interface TraceDiagnostics {
  perExit: ExitDiagnostics[];
  dominance: DominanceShares | null;
  /** Max-probability histograms per exit, when the trace has confidence. */
  confidence: Histogram[] | null;
  fixedPoints: CostPoint[];
  /** Max-probability threshold sweep (first exit whose max prob reaches T), when the trace has confidence. */
  sweep: CostPoint[] | null;
  /** Points of fixedPoints and sweep no other point beats on both cost and accuracy (agreement without labels), cheapest first. */
  pareto: CostPoint[];
  /**
   * The per-sample oracle (cheapest correct exit of each sample) and the ceiling it puts on
   * accuracy (with labels) and on agreement with the last exit, in hindsight, on the whole trace.
   */
  oracle: { accuracy: OracleCeiling | null; agreement: OracleCeiling | null };
}

export function dominanceShares(trace: Trace): DominanceShares | null {
  const labels = trace.labels;
  if (!labels) return null;
  const K = trace.exits.length;
  const out = { allCorrect: 0, good: 0, bad: 0, allWrong: 0, other: 0, samples: 0 };
  for (let s = 0; s < trace.samples; s++) {
    const y = labels[s]!;
    if (y < 0) continue;
    out.samples++;
    const base = s * K;
    let right = 0;
    let broken = false;
    let seenRight = false;
    let same = true;
    for (let k = 0; k < K; k++) {
      const p = trace.pred[base + k]!;
      if (p === y) {
        right++;
        seenRight = true;
      } else if (seenRight) broken = true;
      if (p !== trace.pred[base]) same = false;
    }
    if (right === K) out.allCorrect++;
    else if (right === 0) {
      if (same) out.allWrong++;
      else out.other++;
    } else if (broken) out.bad++;
    else out.good++;
  }
  const n = out.samples || 1;
  return {
    allCorrect: out.allCorrect / n,
    good: out.good / n,
    bad: out.bad / n,
    allWrong: out.allWrong / n,
    other: out.other / n,
    samples: out.samples,
  };
}

function histogram(values: Float32Array, K: number, k: number, n: number, lo: number, hi: number, bins: number): Histogram {
  const counts = new Array<number>(bins).fill(0);
  const w = (hi - lo) / bins;
  for (let s = 0; s < n; s++) {
    let b = Math.floor((values[s * K + k]! - lo) / w);
    if (b < 0) b = 0;
    if (b >= bins) b = bins - 1;
    counts[b]!++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * w), counts };
}

/** Cost, accuracy and agreement when each sample exits at exitOf(s). */
function pointOf(trace: Trace, exitOf: (s: number) => number, label: string): CostPoint {
  const K = trace.exits.length;
  const labels = trace.labels;
  let cost = 0;
  let agree = 0;
  let right = 0;
  let known = 0;
  for (let s = 0; s < trace.samples; s++) {
    const e = exitOf(s);
    const p = trace.pred[s * K + e]!;
    cost += trace.costs[e]!;
    if (p === trace.pred[s * K + K - 1]) agree++;
    if (labels && labels[s]! >= 0) {
      known++;
      if (p === labels[s]) right++;
    }
  }
  const n = trace.samples || 1;
  return { label, cost: cost / n, accuracy: known > 0 ? right / known : null, agreement: agree / n };
}

/** The points no other point beats: cheaper-or-equal and strictly more accurate (agreement without labels). */
export function paretoFront(points: CostPoint[]): CostPoint[] {
  const score = (p: CostPoint): number => p.accuracy ?? p.agreement;
  const sorted = [...points].sort((a, b) => a.cost - b.cost || score(b) - score(a));
  const front: CostPoint[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (score(p) > best) {
      front.push(p);
      best = score(p);
    }
  }
  return front;
}

export function traceDiagnostics(trace: Trace, opts: { bins?: number; sweepPoints?: number } = {}): TraceDiagnostics {
  const K = trace.exits.length;
  const n = trace.samples;
  const fixedPoints = Array.from({ length: K }, (_, k) => pointOf(trace, () => k, `exit ${k + 1}`));
  const perExit: ExitDiagnostics[] = fixedPoints.map((p, k) => ({
    exit: k,
    name: trace.exits[k]!.name,
    cost: trace.costs[k]!,
    accuracy: p.accuracy,
    errorRate: p.accuracy === null ? null : 1 - p.accuracy,
    agreement: p.agreement,
  }));
  let confidence: Histogram[] | null = null;
  let sweep: CostPoint[] | null = null;
  const mp = trace.maxProb;
  if (mp) {
    const bins = opts.bins ?? 20;
    const lo = 1 / trace.classes;
    confidence = Array.from({ length: K }, (_, k) => histogram(mp, K, k, n, lo, 1, bins));
    // Thresholds at quantiles of the non-final max probabilities, so the sweep follows the data.
    const vals: number[] = [];
    const stride = Math.max(1, Math.floor((n * (K - 1)) / 20000));
    for (let i = 0, s = 0; s < n; s++) for (let k = 0; k < K - 1; k++, i++) if (i % stride === 0) vals.push(mp[s * K + k]!);
    vals.sort((a, b) => a - b);
    const P = opts.sweepPoints ?? 100;
    const ts = new Set<number>();
    for (let i = 0; i <= P; i++) ts.add(vals[Math.min(vals.length - 1, Math.floor((i / P) * (vals.length - 1)))]!);
    sweep = [...ts].map((T) =>
      Object.assign(
        pointOf(
          trace,
          (s) => {
            let k = 0;
            while (k < K - 1 && !(mp[s * K + k]! >= T)) k++;
            return k;
          },
          `maxprob:${T.toFixed(4)}`,
        ),
        { threshold: T },
      ),
    );
  }
  return {
    perExit,
    dominance: dominanceShares(trace),
    confidence,
    fixedPoints,
    sweep,
    pareto: paretoFront([...fixedPoints, ...(sweep ?? [])]),
    oracle: { accuracy: oracleCeiling(trace, trace.costs, 'labels'), agreement: oracleCeiling(trace, trace.costs, 'final-exit') },
  };
}
