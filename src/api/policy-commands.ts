/** Commands about policies and runs: catalog, run side by side, list, show, compare, rename, tag, delete, export; trace diagnostics. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isStudioError, StudioError, type ErrorKind } from '../errors.js';
import { writeOutput } from '../files/write.js';
import { buildPolicyFile, type ExitPolicyFile } from '../export/policy-file.js';
import { costChoices, resolveCostChoice } from '../policies/costs.js';
import { calibrationTraceRefusal, defaultEvaluation, DEFAULT_HOLDOUT, evaluationOf, fitsOnData, heldOutSizes, type Evaluation, type EvaluationPlan } from '../policies/evaluation.js';
import { costDefaults, describePolicies } from '../policies/registry.js';
import type { RunSeries, RunSummary, SeriesStat } from '../policies/metrics.js';
import type { RunResult, SeedResult } from '../policies/run.js';
import { missingNeed, parsePolicySpec, policyLabel, policyRefusal, type MissingNeed, type ParsedSpec } from '../policies/spec.js';
import { runPolicyInWorker, warmReplayThreads } from '../policies/run-job.js';
import type { ResolvedCosts } from '../trace/costs.js';
import { traceDiagnostics } from '../trace/diagnostics.js';
import type { Trace } from '../trace/types.js';
import { appVersion } from '../version.js';
import { samplePaths } from '../paths.js';
import type { RunConfig } from '../store/runs.js';
import type { z } from 'zod';
import { command } from './command.js';
import type { CommandContext } from './context.js';
import { entryOf, storedRunPayload, type PolicyEntry } from './policy-input.js';
import { diagnoseInput, emptyInput, exportFileInput, idInput, idsInput, policyCostsInput, policyRunInput, renameInput, runShowInput, tagInput, type evaluationInput } from './schemas.js';

type RunInput = z.output<typeof policyRunInput>;
type EvaluationRequest = z.output<typeof evaluationInput>;

export interface RunOutcome {
  /** The policy's place in the request (policies[index]). */
  index: number;
  runId: number;
  policy: string;
  /** The policy as people read it: "EENet (budget 0.59)". */
  label: string;
  seeds: number;
  summary: {
    accuracy: number | null;
    agreement: number;
    avgCost: number;
    exitShare: number[];
    cumRegret: number;
    /** Share of the last tenth of the stream spent on the learned rule; null where the rule is not deployable or was not measured. */
    onRule: number | null;
    regretKind: string;
    reference: string;
  };
  learned: RunResult['learned'];
  /** How its figures were obtained: the same for every run of one policy.run. */
  evaluation: Evaluation;
  /** It read calibration data: run in-sample, its figures are hindsight. */
  usesHindsight: boolean;
  /** Seeds taken from the interrupted run it resumes (resumeFrom) instead of replayed. */
  resumedSeeds: number;
}

/** A policy of the request that did not run, and why; the others ran. */
export interface FailedPolicy {
  index: number;
  policy: string;
  error: string;
  /** input: refused before any work (its parameters do not fit the trace); otherwise why its replay failed (src/errors.ts). */
  kind: ErrorKind;
  /** When it was refused for something the trace lacks: what (a front end points to how such a trace is recorded). */
  needs?: MissingNeed;
}

export interface PolicyRunOutput {
  /** The costs every run of the request used, with where they came from. */
  costs: ResolvedCosts;
  runs: RunOutcome[];
  failed: FailedPolicy[];
}

/**
 * The request a run keeps: this policy alone, with the evaluation the whole
 * request resolved to (so it runs again on the same split, even alone), without
 * resumeFrom (a rerun sets its own).
 */
function runRequest(input: RunInput, entry: PolicyEntry, evaluation: EvaluationRequest): { command: string; payload: unknown } {
  const { resumeFrom: _resumed, ...rest } = input;
  return { command: 'policy.run', payload: { ...rest, evaluation, policies: [entry] } };
}

/**
 * The run's evaluation: as the request says, or held-out at the default share
 * when one of its policies fits on data, else in-sample. Returns the plan the
 * engine follows and the request a rerun repeats; refuses, before any work, a
 * split that leaves a part empty and a calibration trace that does not fit.
 */
function planEvaluation(ctx: CommandContext, input: RunInput, trace: Trace, parsed: ParsedSpec[], costs: number[]): { plan: EvaluationPlan; request: EvaluationRequest } {
  const asked = input.evaluation ?? defaultEvaluation(parsed);
  if (asked.mode === 'in-sample') return { plan: asked, request: asked };
  if (asked.mode === 'held-out') {
    const holdout = asked.holdout ?? DEFAULT_HOLDOUT;
    heldOutSizes(trace.samples, holdout);
    return { plan: { mode: 'held-out', holdout }, request: { mode: 'held-out', holdout } };
  }
  const why = calibrationTraceRefusal(ctx.store.traces.meta(input.traceId), ctx.store.traces.meta(asked.traceId));
  if (why) throw new StudioError(why, { kind: 'input', field: 'calibrateOn' });
  const calibration = ctx.store.traces.load(asked.traceId);
  for (const p of parsed) {
    const no = p.usesHindsight ? policyRefusal(p, calibration, input.supervised ?? false, costs) : undefined;
    if (no) {
      const need = missingNeed(p, calibration, input.supervised ?? false);
      throw new StudioError(`calibration trace ${asked.traceId}: ${no}`, { kind: 'input', field: 'calibrateOn', ...(need ? { code: `needs-${need}` as const } : {}) });
    }
  }
  if (!parsed.some(fitsOnData)) ctx.emit({ type: 'warning', job: 'policy', message: `no policy of this run fits on data, so trace ${asked.traceId} calibrates nothing: every policy learns from the stream of trace ${input.traceId} alone` });
  return { plan: { mode: 'cross-trace', calibration, traceId: asked.traceId }, request: asked };
}

/** Two request payloads with the same fields and values, whatever their key order. */
function samePayload(a: unknown, b: unknown): boolean {
  const sorted = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sorted) : typeof x === 'object' && x !== null ? Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1)).map(([k, v]) => [k, sorted(v)]) : x;
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

/** The seeds an interrupted run of the same request kept, checked to be that run's. */
function seedsToResume(ctx: CommandContext, input: RunInput, evaluation: EvaluationRequest): SeedResult[] {
  if (input.resumeFrom === undefined) return [];
  const from = input.resumeFrom;
  if (input.policies.length !== 1) throw new StudioError('resuming continues one run: give exactly one policy', { kind: 'input', field: 'resumeFrom' });
  const run = ctx.store.runs.get(from);
  if (run.status !== 'interrupted') throw new StudioError(`run ${from} is ${run.status}; only an interrupted run can be resumed`, { kind: 'conflict' });
  const kept = ctx.store.runs.request(from);
  // A request kept before parameters moved into `params`, or before evaluation modes, compares as it would be run now.
  if (!samePayload(storedRunPayload(kept?.payload), runRequest(input, input.policies[0]!, evaluation).payload)) {
    throw new StudioError(`run ${from} was started by another request; run that request again instead (job.rerun)`, { kind: 'conflict', field: 'resumeFrom' });
  }
  return ctx.store.runs.keptSeeds(from);
}

/** Mean values of a summary: what tables and --json show first. */
export function meanSummary(s: RunSummary): RunOutcome['summary'] {
  return {
    accuracy: s.accuracy ? s.accuracy.mean : null,
    agreement: s.agreement.mean,
    avgCost: s.avgCost.mean,
    exitShare: s.exitShare.map((x) => x.mean),
    cumRegret: s.cumRegret.mean,
    onRule: s.onRule ? s.onRule.mean : null,
    regretKind: s.regretKind,
    reference: s.reference,
  };
}

/** A policy of the request, parsed with the run's costs, or why it cannot run on the trace. */
type Planned = { index: number; parsed: ParsedSpec; label: string } | FailedPolicy;

function plan(input: RunInput, trace: Trace, costs: number[], supervised: boolean): Planned[] {
  return input.policies.map((e, index) => {
    const { spec, own } = entryOf(e);
    try {
      const parsed = parsePolicySpec(spec, input.params ?? {}, own, costs);
      const why = policyRefusal(parsed, trace, supervised, costs);
      if (!why) return { index, parsed, label: policyLabel(parsed) };
      const needs = missingNeed(parsed, trace, supervised);
      return { index, policy: parsed.spec, error: why, kind: 'input', ...(needs ? { needs } : {}) };
    } catch (err) {
      if (!isStudioError(err)) throw err;
      return { index, policy: spec, error: err.message, kind: 'input' };
    }
  });
}

async function runPolicies(ctx: CommandContext, input: RunInput): Promise<PolicyRunOutput> {
  warmReplayThreads(input.policies.length * (input.seeds ?? 20), ctx.store.traces.meta(input.traceId).samples);
  const trace = ctx.store.traces.load(input.traceId);
  const used = resolveCostChoice(trace, input.costs);
  const options = {
    seeds: input.seeds ?? 20,
    firstSeed: input.firstSeed ?? 1,
    lambda: input.lambda ?? 1,
    costs: used.costs,
    supervised: input.supervised ?? false,
  };
  // Each policy with its own values (the run's shared ones it reads, its own, its argument, and
  // defaults that follow the costs). A policy the trace cannot serve is reported in its own row
  // and the others run; only when none can is the whole request refused.
  const planned = plan(input, trace, used.costs, options.supervised);
  const failed = planned.filter((p): p is FailedPolicy => 'error' in p);
  const going = planned.filter((p): p is Exclude<Planned, FailedPolicy> => !('error' in p));
  if (going.length === 0) {
    // One thing every policy lacks is something the trace can be recorded with: say which.
    const needs = new Set(failed.map((f) => f.needs));
    const need = needs.size === 1 ? failed[0]!.needs : undefined;
    const message = failed.length === 1 ? failed[0]!.error : `no policy can run on trace ${input.traceId}: ${failed.map((f) => f.error).join('; ')}`;
    throw new StudioError(message, { kind: 'input', ...(need ? { code: `needs-${need}` as const } : {}) });
  }
  const parsed = going.map((g) => g.parsed);
  for (const note of new Set(parsed.flatMap((p) => (p.note ? [p.note] : [])))) ctx.emit({ type: 'warning', job: 'policy', message: note });
  // The policies that run share one evaluation (a refused one does not choose it).
  const { plan: evaluationPlan, request: evaluationRequest } = planEvaluation(ctx, input, trace, parsed, used.costs);
  const evaluation = evaluationOf(evaluationPlan, trace.samples);
  const resumed = seedsToResume(ctx, input, evaluationRequest);
  const jobs = new Progress(going.length, options.seeds, (p) => ctx.emit({ type: 'progress', job: 'policy', ...p }));
  // Each run is stored as 'running' before its replay starts, with the request
  // that runs it alone again: a killed process leaves interrupted rows that
  // 'job.rerun' can redo, never half-present ones.
  const runName = (label: string): string => input.name ?? `${label} on trace ${input.traceId}`;
  const runIds = going.map(({ parsed, label, index }) =>
    ctx.store.runs.begin({
      name: runName(label),
      traceId: input.traceId,
      policy: parsed.spec,
      supervised: options.supervised,
      seeds: Array.from({ length: options.seeds }, (_, s) => options.firstSeed + s),
      config: { lambda: options.lambda, ...used, params: parsed.params, usesHindsight: parsed.usesHindsight },
      evaluation,
      appVersion,
      request: runRequest(input, input.policies[index]!, evaluationRequest),
    }),
  );
  // The new run keeps what it resumes from too: interrupted again, it loses nothing.
  if (input.resumeFrom !== undefined) ctx.store.runs.copySeeds(input.resumeFrom, runIds[0]!);
  const settled = await Promise.allSettled(
    going.map(({ parsed, label, index }, i) =>
      runPolicyInWorker(trace, parsed.spec, { ...options, params: parsed.params, evaluation: evaluationPlan, ...(resumed.length ? { resumed } : {}) }, {
        onSeed: (r) => ctx.store.runs.saveSeed(runIds[i]!, r),
        onProgress: (p) => jobs.set(i, p.seedsDone),
        // Live charts draw means and bands (the job sends them a few times a second): every
        // seed's values stay out of the event (they are megabytes per run).
        onPartial: (r) =>
          ctx.emit({
            type: 'partial',
            job: 'policy',
            data: { index, spec: r.spec, label, summary: r.summary, series: withoutSeeds(r.series), learned: r.learned, seedsDone: r.seeds.length, evaluation, usesHindsight: r.usesHindsight },
          }),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
    ),
  );
  // Cancelled: nothing of these runs stays. A policy that failed while replaying loses its own
  // run and reports why in its row; when every one failed, the first failure is the answer.
  const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  const cancelled = rejected.find((s) => isStudioError(s.reason) && s.reason.kind === 'cancelled');
  if (cancelled || rejected.length === settled.length) {
    for (const id of runIds) ctx.store.runs.abort(id);
    throw (cancelled ?? rejected[0]!).reason;
  }
  const runs: RunOutcome[] = [];
  ctx.store.db.transaction(() => {
    settled.forEach((s, i) => {
      const { parsed, label, index } = going[i]!;
      const runId = runIds[i]!;
      if (s.status === 'rejected') {
        ctx.store.runs.abort(runId);
        failed.push({ index, policy: parsed.spec, error: s.reason instanceof Error ? s.reason.message : String(s.reason), kind: isStudioError(s.reason) ? s.reason.kind : 'internal' });
        return;
      }
      const r = s.value;
      ctx.store.runs.complete(runId, r.summary, r.learned, {
        seeds: r.seeds,
        supervised: r.supervised,
        config: { lambda: r.lambda, ...used, params: parsed.params, usesHindsight: r.usesHindsight },
      });
      runs.push({ index, runId, policy: r.spec, label, seeds: r.seeds.length, summary: meanSummary(r.summary), learned: r.learned, evaluation, usesHindsight: r.usesHindsight, resumedSeeds: r.resumedSeeds });
    });
    // The resumed run is replaced by the one that finished it.
    if (input.resumeFrom !== undefined) ctx.store.runs.discardInterrupted(input.resumeFrom);
  })();
  failed.sort((a, b) => a.index - b.index);
  return { costs: used, runs, failed };
}

/**
 * Progress of a side-by-side run, counted in jobs (one policy on one seed),
 * with an estimate of the time left from the pace so far.
 */
class Progress {
  private readonly done: number[];
  private readonly started = Date.now();
  constructor(
    private readonly policies: number,
    private readonly seeds: number,
    private readonly emit: (p: { done: number; total: number; etaSeconds?: number; message: string }) => void,
  ) {
    this.done = new Array<number>(policies).fill(0);
  }

  set(policy: number, seedsDone: number): void {
    this.done[policy] = seedsDone;
    const done = this.done.reduce((a, b) => a + b, 0);
    const total = this.policies * this.seeds;
    const elapsed = (Date.now() - this.started) / 1000;
    const message = `${done} of ${total} jobs (${this.policies} ${this.policies === 1 ? 'policy' : 'policies'} × ${this.seeds} ${this.seeds === 1 ? 'seed' : 'seeds'})`;
    this.emit({ done, total, message, ...(done > 0 && done < total ? { etaSeconds: (elapsed / done) * (total - done) } : {}) });
  }
}

/** A run's series with means and 95 % bands only: what a chart draws (every seed's values left out). */
function withoutSeeds(s: RunSeries): RunSeries {
  const strip = (x: SeriesStat): SeriesStat => ({ mean: x.mean, lo: x.lo, hi: x.hi, perSeed: [] });
  return {
    rounds: s.rounds,
    cumRegret: strip(s.cumRegret),
    avgCost: strip(s.avgCost),
    accuracy: s.accuracy ? strip(s.accuracy) : null,
    agreement: strip(s.agreement),
    exitShare: s.exitShare.map(strip),
  };
}

/**
 * Regrets rank only when they measure the same thing: the same trace, costs and
 * lambda, and the same comparator. DEE's regret is against its own best per-bin
 * rule, in its reward units (confidence - lambda * cost); every other policy's
 * is against the best fixed exit, in errors + lambda * cost (docs/policies.md).
 */
export function regretScale(r: { traceId: number; config: RunConfig; summary: { regretKind: string } }): string {
  return JSON.stringify([r.traceId, r.config.lambda, r.config.costs, r.summary.regretKind === 'dee' ? 'dee' : 'fixed-exit']);
}

/** Mean costs compare only in the same units: runs on one trace at the same costs. */
export function costScale(r: { traceId: number; config: RunConfig }): string {
  return JSON.stringify([r.traceId, r.config.costs]);
}

/**
 * The samples a run's figures were measured on: the whole trace (in-sample,
 * cross-trace), or the held-out evaluation parts of its seeds, which the
 * trace, the share and the seeds fix. Runs rank together only on the same
 * samples.
 */
export function evaluationSamples(r: { traceId: number; seeds: readonly number[]; evaluation: Evaluation }): string {
  const e = r.evaluation;
  return JSON.stringify(e.mode === 'held-out' ? [r.traceId, 'held-out', e.evaluationSamples, r.seeds] : [r.traceId, 'all', e.evaluationSamples]);
}

type Ranked = { id: number; summary: RunOutcome['summary']; regretScale: string; samples: string; costScale?: string };

/**
 * Which run is best on each metric: higher accuracy and agreement, lower cost
 * and regret. Nothing is ranked across runs scored on different samples; cost
 * only among runs at the same costs, and regret only among runs on one scale.
 */
export function bestPerMetric(runs: Ranked[]): Record<'accuracy' | 'agreement' | 'avgCost' | 'cumRegret', number | null> {
  const sameSamples = runs.every((r) => r.samples === runs[0]?.samples);
  const pick = (get: (s: RunOutcome['summary']) => number | null, better: (a: number, b: number) => boolean): number | null => {
    if (!sameSamples) return null;
    let best: { id: number; v: number } | null = null;
    for (const r of runs) {
      const v = get(r.summary);
      if (v === null || Number.isNaN(v)) continue;
      if (!best || better(v, best.v)) best = { id: r.id, v };
    }
    return best ? best.id : null;
  };
  return {
    accuracy: pick((s) => s.accuracy, (a, b) => a > b),
    agreement: pick((s) => s.agreement, (a, b) => a > b),
    avgCost: runs.every((r) => r.costScale === runs[0]?.costScale) ? pick((s) => s.avgCost, (a, b) => a < b) : null,
    cumRegret: regretsComparable(runs) ? pick((s) => s.cumRegret, (a, b) => a < b) : null,
  };
}

function regretsComparable(runs: readonly { regretScale: string }[]): boolean {
  return runs.every((r) => r.regretScale === runs[0]?.regretScale);
}

/** A run's exit-policy file; a cross-trace run names the trace it fitted on while that trace is stored. */
export function policyFileOf(ctx: CommandContext, id: number): ExitPolicyFile {
  const run = runView(ctx, id);
  const cal = run.evaluation.calibrationTrace;
  const calibration = cal === undefined ? null : (ctx.store.traces.list().find((t) => t.id === cal) ?? null);
  return buildPolicyFile(run, ctx.store.traces.meta(run.traceId), appVersion, new Date(), calibration);
}

function runView(ctx: CommandContext, id: number) {
  const r = ctx.store.runs.getComplete(id);
  return { ...r, means: meanSummary(r.summary) };
}

export const policyCommands = {
  /** Every policy of the registry: what it is, what it needs, its parameters as JSON Schema. */
  'policy.catalog': command(emptyInput, () => ({ policies: describePolicies() })),
  'policy.run': command(policyRunInput, runPolicies, { long: true, rerunnable: true }),

  /**
   * The costs a run would use (checked and normalized by the same function as a run), the
   * choices the trace can serve, and the parameter defaults that follow those costs: what
   * the Policy lab shows before it runs anything.
   */
  'policy.costs': command(policyCostsInput, (ctx, input) => {
    const meta = ctx.store.traces.meta(input.traceId);
    const costs = resolveCostChoice(meta, input.costs);
    return { costs, choices: costChoices(meta), defaults: costDefaults(costs.costs) };
  }),

  /** Per-exit figures and the cost–accuracy front, at the trace's costs or at a run's own (a front is only comparable at the costs it was drawn with). */
  'trace.diagnose': command(diagnoseInput, (ctx, input) => {
    const trace = ctx.store.traces.load(input.id);
    const costs = resolveCostChoice(trace, input.costs);
    return { ...traceDiagnostics({ ...trace, costs: Float64Array.from(costs.costs) }), costs };
  }),

  'run.list': command(emptyInput, (ctx) => ctx.store.runs.list().map((r) => ({ ...r, means: meanSummary(r.summary) }))),
  'run.show': command(runShowInput, (ctx, input) => {
    const series = ctx.store.runs.series(input.id, { perSeed: input.perSeed === true });
    return { ...runView(ctx, input.id), series };
  }),
  'run.compare': command(idsInput, (ctx, input) => {
    const runs = input.ids.map((id) => runView(ctx, id));
    const scaled = runs.map((r) => ({ id: r.id, summary: r.means, regretScale: regretScale(r), samples: evaluationSamples(r), costScale: costScale(r) }));
    return {
      runs,
      best: bestPerMetric(scaled),
      regretComparable: regretsComparable(scaled),
      /** False: some runs were scored on other samples (another trace, split or seeds), so none is ranked. */
      samplesComparable: scaled.every((r) => r.samples === scaled[0]!.samples),
      /** False: some runs used other costs, so their mean costs (and fronts) are in other units. */
      costsComparable: scaled.every((r) => r.costScale === scaled[0]!.costScale),
    };
  }),
  'run.rename': command(renameInput, (ctx, input) => {
    ctx.store.runs.rename(input.id, input.name);
    return runView(ctx, input.id);
  }),
  'run.tag': command(tagInput, (ctx, input) => {
    ctx.store.runs.setTags(input.id, input.tags);
    return runView(ctx, input.id);
  }),
  'run.delete': command(idInput, (ctx, input) => {
    ctx.store.runs.delete(input.id);
    return { deleted: input.id };
  }),
  'run.exportPolicy': command(idInput, (ctx, input) => policyFileOf(ctx, input.id)),
  'run.exportFile': command(exportFileInput, async (ctx, input) => {
    const file = policyFileOf(ctx, input.id);
    const out = resolve(input.out);
    await writeOutput(out, (tmp) => writeFile(tmp, JSON.stringify(file, null, 2) + '\n', { flag: 'wx' }), { force: input.force === true });
    return { path: out };
  }),

  'home.recent': command(emptyInput, (ctx) => {
    ctx.store.recover();
    return {
      models: ctx.store.assets.recentModels(),
      datasets: ctx.store.assets.recentDatasets(),
      traces: ctx.store.traces.list().slice(-10).reverse(),
      runs: ctx.store.runs.list().slice(-10).reverse().map((r) => ({ ...r, means: meanSummary(r.summary) })),
      interrupted: ctx.store.traces.interrupted(),
      /** Runs whose process died mid-replay; the UI runs one again with 'job.rerun' {kind: 'run', id}. */
      interruptedRuns: ctx.store.runs.interrupted(),
    };
  }),
  'sample.paths': command(emptyInput, () => {
    const p = samplePaths();
    return { ...p, available: existsSync(p.model) && existsSync(p.data) };
  }),
};
