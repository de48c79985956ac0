/**
 * Metrics of a replay, over the stream as played (every round, exploration
 * included): accuracy (labels), agreement with the final exit, mean cost,
 * exit shares, cumulative regret, and their running series on a grid.
 *
 * Regret comes in three documented kinds (docs/policies.md):
 *  - 'fixed-exit' (policies that ignore the sample: UEE-UCB, fixed, random,
 *    best-fixed): per round mu_e - min_i mu_i with mu_i = err_i + lambda*C_i, the
 *    pseudo-regret of the UEE-UCB paper;
 *  - 'contextual' (thresholds, patience, EENet): the realized loss
 *    1[y_e != ref] + lambda*C_e minus min_i mu_i; negative when a policy beats
 *    the best fixed exit by using the sample's confidence;
 *  - 'dee': against the best per-context exit rule found offline by backward
 *    induction (dee.ts), in DEE's own reward units.
 */
import type { Trace } from '../trace/types.js';
import type { ReplayRecord } from './replay.js';
import { onRuleShare } from './rule-replay.js';
import type { LearnedPolicy } from './rules/index.js';
import { statOf, tQuantile975, type Stat } from './stats.js';

export type RegretKind = 'fixed-exit' | 'contextual' | 'dee';

export type RegretModel =
  | { kind: 'fixed-exit'; gap: Float64Array }
  | { kind: 'contextual'; ref: Int32Array; costs: Float64Array; best: number }
  | { kind: 'dee'; optimal: Float64Array; maxProb: Float32Array; costs: Float64Array };

export interface SeedSummary {
  /** NaN when the trace has no labels. */
  accuracy: number;
  /**
   * Share of the labelled samples the exit taken gets wrong where the last exit is right: the errors
   * exiting early adds (risk control's "error" risk). NaN without labels, and in seeds kept from
   * runs made before it was measured.
   */
  extraError: number;
  agreement: number;
  avgCost: number;
  exitShare: number[];
  cumRegret: number;
  /**
   * Share of the last tenth of the rounds in which the exit taken live is the
   * one the policy's learned rule takes on that sample (ON_RULE_TAIL): 1 for a
   * rule that stopped exploring, less while it still explores or learns. NaN
   * when what it learned is no deployable rule (random), and in seeds kept
   * from runs made before it was measured.
   */
  onRule: number;
}

/** The stretch of the stream the on-rule share looks at: its last tenth. */
export const ON_RULE_TAIL = 0.1;

export interface SeedSeries {
  cumRegret: Float64Array;
  avgCost: Float64Array;
  accuracy: Float64Array;
  agreement: Float64Array;
  /** exitShare[k][p]: share of exit k among rounds 1..grid[p]. */
  exitShare: Float64Array[];
}

/**
 * Everything about one seed's replay, over the rounds it played (the samples
 * of its stream: the whole trace, or a held-out evaluation part). `costs` are
 * the reported costs (not lambda-scaled); `grid` the 1-based rounds at which
 * series are sampled; `learned` what the policy learned by the end of it.
 */
export function seedMetrics(
  trace: Trace,
  rec: ReplayRecord,
  costs: Float64Array,
  regret: RegretModel,
  grid: Uint32Array,
  learned: LearnedPolicy,
): { summary: SeedSummary; series: SeedSeries } {
  const n = rec.order.length;
  const K = trace.exits.length;
  const pred = trace.pred;
  const labels = trace.labels;
  const P = grid.length;
  const series: SeedSeries = {
    cumRegret: new Float64Array(P),
    avgCost: new Float64Array(P),
    accuracy: new Float64Array(P),
    agreement: new Float64Array(P),
    exitShare: Array.from({ length: K }, () => new Float64Array(P)),
  };
  const hist = new Float64Array(K);
  let cost = 0;
  let correct = 0;
  let extra = 0;
  let labelled = 0;
  let agree = 0;
  let reg = 0;
  let p = 0;
  let nextMark = P > 0 ? grid[0]! : -1;
  const { order, exit } = rec;
  for (let t = 0; t < n; t++) {
    const s = order[t]!;
    const e = exit[t]!;
    const base = s * K;
    const y = pred[base + e]!;
    cost += costs[e]!;
    hist[e]!++;
    if (y === pred[base + K - 1]) agree++;
    if (labels) {
      const l = labels[s]!;
      if (l >= 0) {
        labelled++;
        if (y === l) correct++;
        else if (pred[base + K - 1] === l) extra++;
      }
    }
    switch (regret.kind) {
      case 'fixed-exit':
        reg += regret.gap[e]!;
        break;
      case 'contextual':
        reg += (y === regret.ref[s] ? 0 : 1) + regret.costs[e]! - regret.best;
        break;
      case 'dee':
        reg += regret.optimal[s]! - (regret.maxProb[base + e]! - regret.costs[e]!);
        break;
    }
    if (t + 1 === nextMark) {
      const r = t + 1;
      // float32 is more than a chart can show, and what the store keeps (series-codec.ts): the
      // series are that from the start, so a run read back or resumed is this run bit for bit.
      // The ratios below are exact as they are (the store keeps their counts); the summary stays exact.
      series.cumRegret[p] = Math.fround(reg);
      series.avgCost[p] = Math.fround(cost / r);
      series.accuracy[p] = labelled > 0 ? correct / labelled : NaN;
      series.agreement[p] = agree / r;
      for (let k = 0; k < K; k++) series.exitShare[k]![p] = hist[k]! / r;
      p++;
      nextMark = p < P ? grid[p]! : -1;
    }
  }
  const summary: SeedSummary = {
    accuracy: labelled > 0 ? correct / labelled : NaN,
    extraError: labelled > 0 ? extra / labelled : NaN,
    agreement: n > 0 ? agree / n : NaN,
    avgCost: n > 0 ? cost / n : NaN,
    exitShare: Array.from(hist, (h) => (n > 0 ? h / n : 0)),
    cumRegret: reg,
    onRule: onRuleShare(trace, learned, order, exit, Math.floor(n * (1 - ON_RULE_TAIL))),
  };
  return { summary, series };
}

export interface RunSummary {
  /** null when the trace has no labels. */
  accuracy: Stat | null;
  /** SeedSummary.extraError across seeds; null without labels; absent in runs stored before it was measured. */
  extraError?: Stat | null;
  agreement: Stat;
  avgCost: Stat;
  exitShare: Stat[];
  cumRegret: Stat;
  /**
   * Share of the last tenth of the stream spent on the learned rule (SeedSummary.onRule);
   * null when the rule is not deployable. Absent in runs stored before it was measured.
   */
  onRule?: Stat | null;
  regretKind: RegretKind;
  /** What errors and regret were measured against. */
  reference: 'labels' | 'final-exit';
}

/** A series across seeds: mean and 95 % t-interval at each grid round, plus every seed's values. */
export interface SeriesStat {
  mean: number[];
  lo: number[];
  hi: number[];
  perSeed: number[][];
}

export interface RunSeries {
  /** 1-based round counts at which every series is sampled. */
  rounds: number[];
  cumRegret: SeriesStat;
  avgCost: SeriesStat;
  accuracy: SeriesStat | null;
  agreement: SeriesStat;
  exitShare: SeriesStat[];
}

/**
 * Mean and 95 % t-interval at each point across seeds (in the order given),
 * with the same arithmetic as statOf, so a run's bands are the same whether
 * they were aggregated as it ran or from its stored seeds.
 */
function seriesStat(perSeed: readonly Float64Array[], keepSeeds = true): SeriesStat {
  const S = perSeed.length;
  const P = perSeed[0]?.length ?? 0;
  const mean: number[] = new Array<number>(P);
  const lo: number[] = new Array<number>(P);
  const hi: number[] = new Array<number>(P);
  const t = tQuantile975(S - 1);
  for (let p = 0; p < P; p++) {
    let sum = 0;
    for (let i = 0; i < S; i++) sum += perSeed[i]![p]!;
    const m = S > 0 ? sum / S : NaN;
    let ss = 0;
    for (let i = 0; i < S; i++) {
      const d = perSeed[i]![p]! - m;
      ss += d * d;
    }
    const ci = S > 1 ? t * Math.sqrt(ss / (S - 1) / S) : 0;
    mean[p] = m;
    lo[p] = m - ci;
    hi[p] = m + ci;
  }
  return { mean, lo, hi, perSeed: keepSeeds ? perSeed.map(toArray) : [] };
}

/** A plain array of a typed array's values: a loop, an order of magnitude faster than Array.from here. */
function toArray(a: Float64Array): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]!;
  return out;
}

/**
 * A run's series from its seeds' (in seed order): their means and bands, and
 * every seed's values unless `perSeed` is false (what a chart draws leaves
 * them out: perSeed is then empty).
 */
export function aggregateSeries(seeds: readonly SeedSeries[], rounds: ArrayLike<number>, labelled: boolean, perSeed = true): RunSeries {
  const K = seeds[0]?.exitShare.length ?? 0;
  const stat = (lines: Float64Array[]): SeriesStat => seriesStat(lines, perSeed);
  return {
    rounds: Array.from(rounds),
    cumRegret: stat(seeds.map((s) => s.cumRegret)),
    avgCost: stat(seeds.map((s) => s.avgCost)),
    accuracy: labelled ? stat(seeds.map((s) => s.accuracy)) : null,
    agreement: stat(seeds.map((s) => s.agreement)),
    exitShare: Array.from({ length: K }, (_, k) => stat(seeds.map((s) => s.exitShare[k]!))),
  };
}

export function aggregateSummary(seeds: readonly SeedSummary[], regretKind: RegretKind, reference: 'labels' | 'final-exit'): RunSummary {
  const K = seeds[0]?.exitShare.length ?? 0;
  const labelled = seeds.length > 0 && !Number.isNaN(seeds[0]!.accuracy);
  return {
    accuracy: labelled ? statOf(seeds.map((s) => s.accuracy)) : null,
    extraError: seeds.length > 0 && seeds.every((s) => Number.isFinite(s.extraError)) ? statOf(seeds.map((s) => s.extraError)) : null,
    agreement: statOf(seeds.map((s) => s.agreement)),
    avgCost: statOf(seeds.map((s) => s.avgCost)),
    exitShare: Array.from({ length: K }, (_, k) => statOf(seeds.map((s) => s.exitShare[k]!))),
    cumRegret: statOf(seeds.map((s) => s.cumRegret)),
    onRule: seeds.length > 0 && seeds.every((s) => Number.isFinite(s.onRule)) ? statOf(seeds.map((s) => s.onRule)) : null,
    regretKind,
    reference,
  };
}

/**
 * Running means and 95 % bands of a run's series as seeds arrive, in memory
 * of a few numbers per chart point however many seeds there are (Welford's
 * update): what live charts draw while a run goes on. Its bands follow the
 * seeds' arrival order, so they may differ from the final ones (seed order)
 * in the last bits; the final series are aggregateSeries'.
 */
export class SeriesBands {
  private n = 0;
  private readonly mean: Float64Array[];
  private readonly m2: Float64Array[];

  constructor(
    private readonly rounds: ArrayLike<number>,
    exits: number,
    private readonly labelled: boolean,
  ) {
    const lines = 4 + exits;
    this.mean = Array.from({ length: lines }, () => new Float64Array(rounds.length));
    this.m2 = Array.from({ length: lines }, () => new Float64Array(rounds.length));
  }

  private static lines(s: SeedSeries): Float64Array[] {
    return [s.cumRegret, s.avgCost, s.accuracy, s.agreement, ...s.exitShare];
  }

  add(s: SeedSeries): void {
    const n = ++this.n;
    SeriesBands.lines(s).forEach((v, i) => {
      const mean = this.mean[i]!;
      const m2 = this.m2[i]!;
      for (let p = 0; p < mean.length; p++) {
        const x = v[p]!;
        const d = x - mean[p]!;
        mean[p]! += d / n;
        m2[p]! += d * (x - mean[p]!);
      }
    });
  }

  /** Means and bands so far; every seed's values are left out (perSeed is empty). */
  bands(): RunSeries {
    const n = this.n;
    const t = tQuantile975(n - 1);
    const stat = (i: number): SeriesStat => {
      const mean = Array.from(this.mean[i]!);
      const half = Array.from(this.m2[i]!, (m2) => (n > 1 ? t * Math.sqrt(m2 / (n - 1) / n) : 0));
      return { mean, lo: mean.map((m, p) => m - half[p]!), hi: mean.map((m, p) => m + half[p]!), perSeed: [] };
    };
    return {
      rounds: Array.from(this.rounds),
      cumRegret: stat(0),
      avgCost: stat(1),
      accuracy: this.labelled ? stat(2) : null,
      agreement: stat(3),
      exitShare: Array.from({ length: this.mean.length - 4 }, (_, k) => stat(4 + k)),
    };
  }
}

export interface SublinearCheck {
  /** Regret accumulated over the first half of the rounds. */
  firstHalf: number;
  /** Regret accumulated over the second half. */
  secondHalf: number;
  /** secondHalf / firstHalf. */
  ratio: number;
  /** secondHalf < maxRatio * firstHalf (and the first half's regret is positive). */
  sublinear: boolean;
}

/**
 * The check that a cumulative regret curve grows sub-linearly: a linear curve
 * gains as much in its second half as in its first; a learning policy gains
 * much less. `rounds` and `cum` are a series as in RunSeries (any grid).
 */
export function checkSublinearRegret(rounds: ArrayLike<number>, cum: ArrayLike<number>, maxRatio = 0.5): SublinearCheck {
  const P = rounds.length;
  const T = rounds[P - 1]!;
  let mid = 0;
  for (let p = 0; p < P; p++) if (Math.abs(rounds[p]! - T / 2) < Math.abs(rounds[mid]! - T / 2)) mid = p;
  const firstHalf = cum[mid]!;
  const secondHalf = cum[P - 1]! - cum[mid]!;
  const ratio = secondHalf / firstHalf;
  return { firstHalf, secondHalf, ratio, sublinear: firstHalf > 0 && secondHalf < maxRatio * firstHalf };
}
