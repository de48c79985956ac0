/**
 * Turning command outputs into what charts and tables draw. Pure functions,
 * tolerant of partial data (live runs) and of missing fields (a trace without
 * labels has no accuracy), tested under Node.
 */
import type { EENetEpoch, FitRecord, LearnedPolicy, RunRecord, RunSeries, RunSummary, SeriesStat, Stat } from './types.js';

export interface XY {
  x: number;
  y: number;
}

/** A number, or the mean of a Stat; null when neither is finite. */
export function meanOf(v: Stat | number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  const x = typeof v === 'number' ? v : v.mean;
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

export function ciOf(v: Stat | number | null | undefined): number | null {
  if (v === null || v === undefined || typeof v === 'number') return null;
  const c = v.ci95;
  return typeof c === 'number' && Number.isFinite(c) ? c : null;
}

/** {x, y} points of a series over rounds, skipping gaps. */
export function points(rounds: readonly number[], ys: readonly (number | null)[] | undefined): XY[] {
  if (!ys) return [];
  const out: XY[] = [];
  const n = Math.min(rounds.length, ys.length);
  for (let i = 0; i < n; i++) {
    const y = ys[i];
    const x = rounds[i];
    if (typeof y === 'number' && Number.isFinite(y) && typeof x === 'number') out.push({ x, y });
  }
  return out;
}

/** The 95 % band of a series as two point lists (lower, upper), for a filled area between them. */
export function band(rounds: readonly number[], s: SeriesStat | null | undefined): { lo: XY[]; hi: XY[] } {
  if (!s) return { lo: [], hi: [] };
  return { lo: points(rounds, s.lo), hi: points(rounds, s.hi) };
}

/**
 * Stacked exit mix: for each exit k the cumulative share of exits 0..k, so
 * area fills between consecutive lines show each exit's share over time.
 */
export function stackedShares(series: RunSeries): XY[][] {
  const shares = series.exitShare ?? [];
  const rounds = series.rounds;
  const acc = new Array<number>(rounds.length).fill(0);
  return shares.map((s) => {
    const out: XY[] = [];
    for (let i = 0; i < rounds.length; i++) {
      const v = s.mean[i];
      acc[i]! += typeof v === 'number' && Number.isFinite(v) ? v : 0;
      out.push({ x: rounds[i]!, y: Math.min(1, acc[i]!) });
    }
    return out;
  });
}

/**
 * What a regret is measured against (docs/policies.md): DEE's against its own
 * best per-bin rule, in its reward units (confidence - λ·cost); every other
 * policy's against the best fixed exit, in errors + λ·cost. The two never
 * share an axis or a ranking.
 */
export type RegretReference = 'fixed-exit' | 'dee';

export function regretReference(kind: string | undefined): RegretReference {
  return kind === 'dee' ? 'dee' : 'fixed-exit';
}

export const REGRET_AXIS: Record<RegretReference, string> = {
  'fixed-exit': 'Regret (errors + λ·cost)',
  dee: 'Regret (confidence − λ·cost)',
};

export const REGRET_TITLE: Record<RegretReference, string> = {
  'fixed-exit': 'Cumulative regret vs the best fixed exit',
  dee: 'Cumulative regret: DEE vs its best per-bin rule',
};

/**
 * A saved run's regret scale: regrets rank and share an axis only on the same
 * trace, lambda and costs, against the same reference (as the engine's run.compare).
 */
export function regretScale(r: Pick<RunRecord, 'traceId' | 'config' | 'summary'>): string {
  return JSON.stringify([r.traceId, r.config?.lambda ?? null, r.config?.costs ?? null, regretReference(r.summary?.regretKind)]);
}

/** Items grouped by key, groups and items in first-seen order. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = groups.get(k);
    if (g) g.push(it);
    else groups.set(k, [it]);
  }
  return [...groups.values()];
}

export interface MetricDef {
  key: 'accuracy' | 'agreement' | 'avgCost' | 'cumRegret';
  label: string;
  better: 'max' | 'min';
  percent: boolean;
}

export const METRICS: MetricDef[] = [
  { key: 'accuracy', label: 'Accuracy', better: 'max', percent: true },
  { key: 'agreement', label: 'Agreement with the last exit', better: 'max', percent: true },
  { key: 'avgCost', label: 'Mean cost (last exit = 1)', better: 'min', percent: false },
  { key: 'cumRegret', label: 'Cumulative regret', better: 'min', percent: false },
];

/**
 * For each metric, the indices of the rows holding the best value (ties all marked); metrics nobody
 * has are absent, and nothing is ranked when the rows were scored on different samples (`samples`,
 * see evaluationSamples in evaluation.ts).
 */
export function bestPerMetric(rows: { summary: RunSummary | null; regretScale?: string; samples?: string }[], metrics: MetricDef[] = METRICS): Record<string, Set<number>> {
  const out: Record<string, Set<number>> = {};
  if (!rows.every((r) => r.samples === rows[0]?.samples)) return out;
  const regretsRank = rows.every((r) => r.regretScale === rows[0]?.regretScale);
  for (const m of metrics) {
    if (m.key === 'cumRegret' && !regretsRank) continue;
    let best: number | null = null;
    const vals = rows.map((r) => meanOf((r.summary?.[m.key] ?? null) as Stat | number | null));
    for (const v of vals) if (v !== null && (best === null || (m.better === 'max' ? v > best : v < best))) best = v;
    if (best === null || rows.length < 2) continue;
    const eps = Math.abs(best) * 1e-9 + 1e-12;
    out[m.key] = new Set(vals.flatMap((v, i) => (v !== null && Math.abs(v - best!) <= eps ? [i] : [])));
  }
  return out;
}

/**
 * Indices of the points on the cost–accuracy Pareto front (lower cost,
 * higher accuracy), ordered by cost. A point is on it when no other point is
 * at most as costly and strictly more accurate, or cheaper and as accurate.
 */
export function paretoFront(pts: readonly XY[]): number[] {
  const idx = pts.map((_, i) => i).filter((i) => Number.isFinite(pts[i]!.x) && Number.isFinite(pts[i]!.y));
  idx.sort((a, b) => pts[a]!.x - pts[b]!.x || pts[b]!.y - pts[a]!.y);
  const out: number[] = [];
  let bestY = -Infinity;
  for (const i of idx) {
    if (pts[i]!.y > bestY) {
      out.push(i);
      bestY = pts[i]!.y;
    }
  }
  return out;
}

/** The accuracy a run is judged by: accuracy with labels, agreement with the last exit without. */
export function quality(summary: Record<string, unknown> | null | undefined): { value: number | null; kind: 'accuracy' | 'agreement' } {
  const acc = meanOf((summary?.accuracy ?? null) as Stat | number | null);
  if (acc !== null) return { value: acc, kind: 'accuracy' };
  return { value: meanOf((summary?.agreement ?? null) as Stat | number | null), kind: 'agreement' };
}

/** A run's row for tables: its key metrics as plain numbers. */
export function runRow(r: RunRecord): { id: number; name: string; policy: string; traceId: number; accuracy: number | null; agreement: number | null; avgCost: number | null; cumRegret: number | null; seeds: number; createdAt: string; tags: string[] } {
  const s = (r.summary ?? {}) as Record<string, unknown>;
  return {
    id: r.id,
    name: r.name,
    policy: r.policy,
    traceId: r.traceId,
    accuracy: meanOf(s.accuracy as Stat | number | null),
    agreement: meanOf(s.agreement as Stat | number | null),
    avgCost: meanOf(s.avgCost as Stat | number | null),
    cumRegret: meanOf(s.cumRegret as Stat | number | null),
    seeds: r.seeds?.length ?? 0,
    createdAt: r.createdAt,
    tags: r.tags ?? [],
  };
}

/** EENet's training curve to chart: the first fit's epochs (one fit per seed, and per refit, share the shape). */
export function trainingCurves(fits: readonly FitRecord[] | null | undefined): EENetEpoch[] {
  return fits?.[0]?.history ?? [];
}

/**
 * For a risk-controlled run, the risk it realised on its stream against the epsilon it was held to
 * (and what the guarantee says), e.g. "realised disagreement 4.7 % ± 0.2 against ε 5 % …"; null for
 * other runs, or where the run does not hold the risk it was held to (an "error" risk without labels).
 */
export function riskRealised(summary: RunSummary | null | undefined, learned: LearnedPolicy | null | undefined): string | null {
  if (!summary || learned?.kind !== 'thresholds' || !learned.guarantee) return null;
  const g = learned.guarantee;
  const stat = (x: unknown): Stat | null => (x && typeof x === 'object' ? (x as Stat) : null);
  let realised: { mean: number; ci: number | null } | null = null;
  if (g.risk === 'disagreement') {
    const a = stat(summary.agreement);
    if (a?.mean !== null && a?.mean !== undefined) realised = { mean: 1 - a.mean, ci: a.ci95 ?? null };
  } else {
    const e = stat(summary.extraError);
    if (e?.mean !== null && e?.mean !== undefined) realised = { mean: e.mean, ci: e.ci95 ?? null };
  }
  if (!realised) return null;
  const p = (x: number): string => `${(100 * x).toFixed(2)} %`;
  const what = g.risk === 'disagreement' ? 'disagreement with the last exit' : 'errors the last exit does not make';
  return (
    `realised ${what} ${p(realised.mean)}${realised.ci !== null ? ` ± ${(100 * realised.ci).toFixed(2)}` : ''} against ε ${p(g.epsilon)}` +
    ` (guaranteed with probability ≥ ${p(1 - g.delta)} from n = ${g.n.toLocaleString('en')} calibration samples; ${g.test} bound ${p(g.upperBound)})`
  );
}

/** One line saying what a policy learned (the part a deployment applies). */
export function describeLearned(learned: LearnedPolicy | null | undefined, exitNames: readonly string[] = []): string {
  if (!learned) return '—';
  const name = (k: number): string => exitNames[k] ?? `exit ${k + 1}`;
  const fmt = (x: number | null): string => (x === null ? '—' : (Math.round(x * 1000) / 1000).toString());
  switch (learned.kind) {
    case 'fixed':
      return `always exits at ${learned.exitName ?? name(learned.exit)}`;
    case 'random':
      return `random exit, shares ${learned.shares.map(fmt).join(' / ')}`;
    case 'thresholds':
      if (learned.guarantee && learned.threshold === undefined) return 'always the last exit: no threshold passed the risk test';
      if (learned.threshold !== undefined) return `${learned.measure} ≥ ${fmt(learned.threshold)}, one threshold shared by every exit but the last`;
      return `${learned.measure} ${learned.direction === 'below' ? '≤' : '≥'} ${learned.thresholds.map(fmt).join(', ')} (per exit; the last always exits)`;
    case 'binned': {
      // Per exit, the confidence bins from which the rule exits (a threshold within the bin's range).
      const lo = 1 / learned.classes;
      const top = (b: number): number => (b === learned.bins - 1 ? 1 : lo + ((b + 1) * (1 - lo)) / learned.bins);
      const exiting = learned.thresholds.map((row) => row.filter((t, b) => t !== null && t <= top(b)).length);
      return `maxProb ≥ a threshold per exit and confidence bin; exits ${exiting.map((n, k) => `${name(k)}: ${n}`).join(', ')} of ${learned.bins} bins (the last always exits)`;
    }
    case 'patience':
      return `exit after ${learned.patience} agreeing exits in a row`;
    case 'eenet':
      return `EENet scorer, score thresholds ${learned.thresholds.map(fmt).join(', ')}`;
  }
}

/**
 * A share axis (accuracy, agreement) zoomed to the values drawn: their range
 * padded by a tenth of its span (at least half a point), within [0, 1], so a
 * few points of difference fill the chart instead of a sliver near the top.
 */
export function paddedRange(ys: readonly (number | null)[]): { min: number; max: number } | undefined {
  const v = ys.filter((y): y is number => typeof y === 'number' && Number.isFinite(y));
  if (!v.length) return undefined;
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const pad = Math.max((hi - lo) * 0.1, 0.005);
  return { min: Math.max(0, Math.floor((lo - pad) * 1000) / 1000), max: Math.min(1, Math.ceil((hi + pad) * 1000) / 1000) };
}

/**
 * The range of running shares over rounds, leaving out the first `skip` of the
 * rounds: after a handful of samples a running accuracy is still 0 or 1, and
 * would stretch the axis over everything that follows (the chart clips them).
 */
export function runningRange(series: readonly { points: readonly XY[]; band?: { lo: readonly XY[]; hi: readonly XY[] } }[], skip = 0.1): { min: number; max: number } | undefined {
  const last = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.x)));
  const from = last * skip;
  const ys = series.flatMap((s) => [...s.points, ...(s.band?.lo ?? []), ...(s.band?.hi ?? [])].filter((p) => p.x >= from).map((p) => p.y));
  return paddedRange(ys);
}
