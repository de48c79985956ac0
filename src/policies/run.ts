/**
 * runPolicy: one policy replayed over S seeds, with metrics per seed and
 * across seeds. This is the engine's entry point for the CLI, the service and
 * the worker; it refuses a policy the trace cannot serve before any work.
 */
import { CancelledError, StudioError } from '../errors.js';
import { checkCosts } from '../trace/costs.js';
import { subsetTrace } from '../trace/subset.js';
import type { Trace } from '../trace/types.js';
import { bestFixedExit } from './best-fixed.js';
import { gridRounds } from './decimate.js';
import { deeOptimalRule } from './dee.js';
import type { EENetEpoch } from './eenet.js';
import { EENetPolicy } from './eenet-policy.js';
import { calibrationFor, defaultEvaluation, evaluationOf, heldOutSplit, type Evaluation, type EvaluationPlan } from './evaluation.js';
import {
  aggregateSeries, aggregateSummary, checkSublinearRegret, seedMetrics, SeriesBands,
  type SublinearCheck, type RegretModel, type RunSeries, type RunSummary, type SeedSeries, type SeedSummary,
} from './metrics.js';
import { errorRates, hasLabels, referenceOf } from './reference.js';
import { replay, type ReplayRecord } from './replay.js';
import { shuffledOrder } from './rng.js';
import { checkPolicyCanRun, policyRefusal, type ParamValues, type ParsedSpec } from './spec.js';
import type { LearnedPolicy, PolicyEnv } from './types.js';

export interface RunOptions {
  /**
   * Parameter values, by name: the policy takes those it reads (spec.ts), so
   * one set serves every policy of a run. The argument after ':' wins.
   */
  params?: ParamValues;
  /** Number of seeds (default 20); seed i is firstSeed + i. */
  seeds?: number;
  firstSeed?: number;
  /** Trade-off weight on cost (default 1). */
  lambda?: number;
  /** Per-exit cumulative costs replacing trace.costs, in any unit: normalized so the last exit costs 1 (the budget's unit). */
  costs?: number[];
  /** Let policies read labels (default false: labels feed metrics only). */
  supervised?: boolean;
  /**
   * How the figures are obtained (evaluation.ts). Default: held-out at the
   * default share when the policy fits on data, in-sample otherwise.
   */
  evaluation?: EvaluationPlan;
  /** Points per series (default 2000). */
  seriesPoints?: number;
  onProgress?: (p: { seedsDone: number; seeds: number }) => void;
  /** After each seed: the result over the seeds done so far, for live charts (its series carry means and bands; perSeed is empty). */
  onPartial?: (result: RunResult) => void;
  /** After each seed replayed here: its own result, to keep so an interrupted run can resume. */
  onSeed?: (result: SeedResult) => void;
  /**
   * Seeds already replayed by an earlier, interrupted run of the same request:
   * used as they are instead of replaying them (a seed's replay depends only
   * on the trace, the request and the seed, so the result is the same).
   */
  resumed?: readonly SeedResult[];
  signal?: AbortSignal;
}

export interface RunResult {
  spec: string;
  seeds: number[];
  lambda: number;
  /** Costs used (reported units), and whether they came from the trace or the user. */
  costs: number[];
  costSource: string;
  supervised: boolean;
  /** The policy read calibration data (best fixed exit, budget-calibrated thresholds, EENet without warm-up). */
  usesHindsight: boolean;
  /** How the figures were obtained: the mode, and how many samples calibrated and were scored per seed. */
  evaluation: Evaluation;
  summary: RunSummary;
  series: RunSeries;
  /** What the first seed's policy learned: what a deployment applies. */
  learned: LearnedPolicy;
  learnedPerSeed: LearnedPolicy[];
  /** EENet: per fit, per epoch loss terms, achieved cost and accuracy; per seed. */
  fits?: FitRecord[];
  /** How many seeds were taken from an interrupted run instead of replayed (0 normally). */
  resumedSeeds: number;
}

/** One EENet fit within a run: its seed, budget, training target and per-epoch history. */
export interface FitRecord {
  seed: number;
  /** The budget its rule was fitted to (below the run's when explored rounds take their share). */
  budget: number;
  /** How many samples it was fitted on (absent in runs stored before it was kept). */
  samples?: number;
  target: string;
  history: EENetEpoch[];
}

/** The trace's costs, or the ones given, checked and normalized as everywhere else (last exit = 1). */
function resolveCosts(trace: Trace, costs: number[] | undefined): Float64Array {
  if (!costs) return trace.costs;
  try {
    return Float64Array.from(checkCosts(costs, trace.exits.length));
  } catch (e) {
    throw new StudioError(`costs: ${e instanceof Error ? e.message : String(e)}`, { kind: 'input', cause: e });
  }
}

/** Each sample's reference class (its label, or the last exit's prediction): the same whichever samples a seed scores. */
function referenceClasses(trace: Trace, labelled: boolean): Int32Array {
  const ref = new Int32Array(trace.samples);
  for (let s = 0; s < trace.samples; s++) ref[s] = referenceOf(trace, s, labelled);
  return ref;
}

/** The regret comparator on the samples a seed is scored on (`samples`; default every sample). */
function regretModel(trace: Trace, parsed: ParsedSpec, scaled: Float64Array, labelled: boolean, samples?: ArrayLike<number>, refs?: Int32Array): RegretModel {
  if (parsed.regretKind === 'dee') {
    // DEE's comparator is the best rule over its own context bins.
    const bins = Number(parsed.params.bins);
    return { kind: 'dee', optimal: deeOptimalRule(trace, scaled, bins, samples).value, maxProb: trace.maxProb!, costs: scaled };
  }
  const err = errorRates(trace, labelled, samples);
  const K = err.length;
  const best = bestFixedExit(err, scaled);
  const mu = err[best]! + scaled[best]!;
  if (parsed.regretKind === 'fixed-exit') {
    return { kind: 'fixed-exit', gap: Float64Array.from({ length: K }, (_, k) => err[k]! + scaled[k]! - mu) };
  }
  return { kind: 'contextual', ref: refs ?? referenceClasses(trace, labelled), costs: scaled, best: mu };
}

/** A cross-trace plan's calibration trace, checked to fit the run: the same exits and classes, and what the fitting policy needs. */
function checkCalibrationTrace(trace: Trace, plan: EvaluationPlan, parsed: ParsedSpec, supervised: boolean, costs: Float64Array): void {
  if (plan.mode !== 'cross-trace') return;
  const cal = plan.calibration;
  const which = plan.traceId === undefined ? 'the calibration trace' : `the calibration trace ${plan.traceId}`;
  if (cal.exits.length !== trace.exits.length || cal.classes !== trace.classes) {
    throw new StudioError(`${which} has ${cal.exits.length} exits and ${cal.classes} classes; the trace evaluated has ${trace.exits.length} and ${trace.classes}: calibrate on a trace of the same model and exits`, { kind: 'input' });
  }
  if (!parsed.usesHindsight) return;
  const why = policyRefusal(parsed, cal, supervised, costs);
  if (why) throw new StudioError(`${which}: ${why}`, { kind: 'input' });
}

/** Synchronous core of runPolicy (tests and benchmarks call it directly). */
export function runPolicySync(trace: Trace, spec: string, opts: RunOptions = {}): RunResult {
  return runCore(trace, spec, opts);
}

/** Replays a policy over seeds; yields to the event loop between seeds so progress and cancellation land. */
export async function runPolicy(trace: Trace, spec: string, opts: RunOptions = {}): Promise<RunResult> {
  return runCoreAsync(trace, spec, opts);
}

/** A run checked and laid out before any replay: what each seed's replay and the final aggregate share. */
export interface Prepared {
  parsed: ParsedSpec;
  costs: Float64Array;
  scaled: Float64Array;
  lambda: number;
  supervised: boolean;
  seedList: number[];
  grid: Uint32Array;
  plan: EvaluationPlan;
  evaluation: Evaluation;
  /**
   * The regret comparator where every seed scores the same samples (not
   * held-out). Computed on first use, as refs: a thread that only lays a run
   * out (the seed pool's scheduler) never pays for them.
   */
  readonly regret: RegretModel | undefined;
  /** Held out, for a contextual regret: every sample's reference class, computed once for all seeds. */
  readonly refs: Int32Array | undefined;
  labelled: boolean;
  /** Seeds kept from an interrupted run, by seed: used instead of replayed. */
  prior: Map<number, SeedResult>;
  signal: AbortSignal | undefined;
}

export function prepare(trace: Trace, spec: string, opts: RunOptions): Prepared {
  const supervised = opts.supervised ?? false;
  const costs = resolveCosts(trace, opts.costs);
  const can = checkPolicyCanRun(spec, trace, supervised, opts.params, costs);
  if (!can.ok) throw new StudioError(can.reason, { kind: 'input' });
  const lambda = opts.lambda ?? 1;
  if (!(Number.isFinite(lambda) && lambda >= 0)) throw new StudioError(`lambda must be a finite number >= 0; got ${lambda}`, { kind: 'input' });
  const S = opts.seeds ?? 20;
  if (!(Number.isInteger(S) && S >= 1)) throw new StudioError(`seeds must be a whole number >= 1; got ${S}`, { kind: 'input' });
  const first = opts.firstSeed ?? 1;
  const scaled = Float64Array.from(costs, (c) => c * lambda);
  const labelled = hasLabels(trace);
  const seedList = Array.from({ length: S }, (_, i) => first + i);
  const plan = opts.evaluation ?? defaultEvaluation([can.parsed]);
  checkCalibrationTrace(trace, plan, can.parsed, supervised, costs);
  const evaluation = evaluationOf(plan, trace.samples);
  const grid = gridRounds(evaluation.evaluationSamples, opts.seriesPoints ?? 2000);
  let regret: RegretModel | undefined;
  let refs: Int32Array | undefined;
  return {
    parsed: can.parsed,
    costs,
    scaled,
    lambda,
    supervised,
    seedList,
    grid,
    plan,
    evaluation,
    get regret(): RegretModel | undefined {
      return plan.mode === 'held-out' ? undefined : (regret ??= regretModel(trace, can.parsed, scaled, labelled));
    },
    get refs(): Int32Array | undefined {
      return plan.mode === 'held-out' && can.parsed.regretKind === 'contextual' ? (refs ??= referenceClasses(trace, labelled)) : undefined;
    },
    labelled,
    prior: resumedBySeed(opts, seedList, costs.length, grid.length),
    signal: opts.signal,
  };
}

/** What seed `seed` replays and scores, and the calibration data its policy may fit on. */
interface SeedStream {
  order: Uint32Array;
  calibration: () => Trace;
  regret: RegretModel;
}

function streamOf(trace: Trace, p: Prepared, seed: number, buf: ReplayRecord | undefined): SeedStream {
  const plan = p.plan;
  if (plan.mode === 'held-out') {
    const split = heldOutSplit(trace.samples, plan.holdout, seed);
    let part: Trace | undefined;
    return {
      order: split.evaluation,
      // Copied only when a fitting policy reads it.
      calibration: () => (part ??= subsetTrace(trace, split.calibration)),
      regret: regretModel(trace, p.parsed, p.scaled, p.labelled, split.evaluation, p.refs),
    };
  }
  const calibration = plan.mode === 'cross-trace' ? plan.calibration : trace;
  return { order: shuffledOrder(trace.samples, seed, buf?.order), calibration: () => calibration, regret: p.regret! };
}

/** One seed's replay, measured: what the run's summary and series aggregate. */
export interface SeedResult {
  seed: number;
  summary: SeedSummary;
  series: SeedSeries;
  learned: LearnedPolicy;
  fits?: FitRecord[];
}

/** What a seed adds to a run besides its series. */
export type SeedOutcome = Omit<SeedResult, 'series'>;

/** One seed replayed and measured; `buf` (an earlier seed's record) is reused when it fits. */
export function runSeed(trace: Trace, p: Prepared, seed: number, buf: ReplayRecord | undefined): { out: SeedResult; rec: ReplayRecord } {
  const stream = streamOf(trace, p, seed, buf);
  const calibration = calibrationFor(p.parsed.spec, p.parsed.usesHindsight, stream.calibration);
  const env: PolicyEnv = {
    exits: trace.exits.length,
    classes: trace.classes,
    costs: p.scaled,
    lambda: p.lambda,
    seed,
    supervised: p.supervised,
    rounds: stream.order.length,
    get calibration() {
      return calibration();
    },
    ...(p.signal ? { signal: p.signal } : {}),
  };
  const policy = p.parsed.create(env, p.costs);
  const rec = replay(trace, policy, { seed, supervised: p.supervised, order: stream.order, ...(buf ? { out: buf } : {}) });
  const learned = policy.learned();
  const m = seedMetrics(trace, rec, p.costs, stream.regret, p.grid, learned);
  const out: SeedResult = { seed, ...m, learned };
  if (policy instanceof EENetPolicy) {
    out.fits = policy.fits.map((f) => ({ seed, budget: f.budget, samples: f.samples, target: f.target, history: f.history }));
  }
  return { out, rec };
}

/** A run's result but its series, from its seeds' outcomes in seed order. */
export function runOutcome(trace: Trace, p: Prepared, outs: readonly SeedOutcome[], opts: Pick<RunOptions, 'costs'>): Omit<RunResult, 'series'> {
  const summary = aggregateSummary(outs.map((o) => o.summary), p.parsed.regretKind, p.labelled ? 'labels' : 'final-exit');
  const result: Omit<RunResult, 'series'> = {
    spec: p.parsed.spec,
    seeds: outs.map((o) => o.seed),
    lambda: p.lambda,
    costs: Array.from(p.costs),
    costSource: opts.costs ? 'user' : trace.costSource,
    supervised: p.supervised,
    usesHindsight: p.parsed.usesHindsight,
    evaluation: p.evaluation,
    summary,
    learned: outs[0]!.learned,
    learnedPerSeed: outs.map((o) => o.learned),
    // A kept seed is never replayed: those of this run's seeds are the resumed ones.
    resumedSeeds: outs.filter((o) => p.prior.has(o.seed)).length,
  };
  const fits = outs.flatMap((o) => o.fits ?? []);
  if (fits.length > 0) result.fits = fits;
  return result;
}

function finish(trace: Trace, p: Prepared, outs: SeedResult[], opts: RunOptions): RunResult {
  const result = runOutcome(trace, p, outs, opts);
  return { ...result, series: aggregateSeries(outs.map((o) => o.series), p.grid, result.summary.accuracy !== null) };
}

function runCore(trace: Trace, spec: string, opts: RunOptions): RunResult {
  const p = prepare(trace, spec, opts);
  const outs: SeedResult[] = [];
  const live = opts.onPartial ? new SeriesBands(p.grid, trace.exits.length, p.labelled) : undefined;
  let buf: ReplayRecord | undefined;
  for (const seed of p.seedList) {
    if (opts.signal?.aborted) throw new CancelledError('the replay');
    let out = p.prior.get(seed);
    if (!out) {
      const r = runSeed(trace, p, seed, buf);
      buf = r.rec;
      out = r.out;
      opts.onSeed?.(out);
    }
    seedDone(trace, p, outs, out, opts, live);
  }
  return finish(trace, p, outs, opts);
}

async function runCoreAsync(trace: Trace, spec: string, opts: RunOptions): Promise<RunResult> {
  const p = prepare(trace, spec, opts);
  const outs: SeedResult[] = [];
  const live = opts.onPartial ? new SeriesBands(p.grid, trace.exits.length, p.labelled) : undefined;
  let buf: ReplayRecord | undefined;
  for (const seed of p.seedList) {
    let out = p.prior.get(seed);
    if (!out) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted) throw new CancelledError('the replay');
      const r = runSeed(trace, p, seed, buf);
      buf = r.rec;
      out = r.out;
      opts.onSeed?.(out);
    }
    seedDone(trace, p, outs, out, opts, live);
  }
  return finish(trace, p, outs, opts);
}

/** The resumed seeds that belong to this run, by seed; a result of another shape is a bug, not a resume. */
export function resumedBySeed(opts: RunOptions, seedList: readonly number[], K: number, gridPoints: number): Map<number, SeedResult> {
  const wanted = new Set(seedList);
  const out = new Map<number, SeedResult>();
  for (const r of opts.resumed ?? []) {
    if (!wanted.has(r.seed)) continue;
    if (r.summary.exitShare.length !== K || r.series.cumRegret.length !== gridPoints) {
      throw new StudioError(`seed ${r.seed} kept from an interrupted run does not match this run (exits or series points differ); run it afresh`, { kind: 'conflict' });
    }
    out.set(r.seed, r);
  }
  return out;
}

function seedDone(trace: Trace, p: Prepared, outs: SeedResult[], out: SeedResult, opts: RunOptions, live: SeriesBands | undefined): void {
  outs.push(out);
  opts.onProgress?.({ seedsDone: outs.length, seeds: p.seedList.length });
  if (!live || !opts.onPartial) return;
  // Bands are updated per seed, in memory of the chart's points: never re-aggregated from every seed so far.
  live.add(out.series);
  if (outs.length < p.seedList.length) opts.onPartial(partialResult(trace, p, outs, live, opts));
}

/** The result over the seeds done so far, for live charts: means and bands only. */
export function partialResult(trace: Trace, p: Prepared, outs: readonly SeedOutcome[], live: SeriesBands, opts: Pick<RunOptions, 'costs'>): RunResult {
  return { ...runOutcome(trace, p, outs, opts), series: live.bands() };
}

/**
 * Runs `spec` and checks that its mean cumulative regret grows sub-linearly
 * (second half's regret below maxRatio times the first half's): the check a
 * learning policy (UEE-UCB, DEE) should pass on any trace that suits it.
 */
export function checkPolicyRegret(
  trace: Trace,
  spec: string,
  opts: RunOptions = {},
  maxRatio = 0.5,
): { result: RunResult; check: SublinearCheck } {
  const result = runPolicySync(trace, spec, opts);
  return { result, check: checkSublinearRegret(result.series.rounds, result.series.cumRegret.mean, maxRatio) };
}
