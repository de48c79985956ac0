/** Commands about policies and runs: catalog, run side by side, list, show, compare, rename, tag, delete, export; trace diagnostics. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StudioError } from '../errors.js';
import { writeOutput } from '../files/write.js';
import { buildPolicyFile, type ExitPolicyFile } from '../export/policy-file.js';
import { resolveCostChoice } from '../policies/costs.js';
import { calibrationTraceRefusal, defaultEvaluation, DEFAULT_HOLDOUT, evaluationOf, fitsOnData, heldOutSizes, type Evaluation, type EvaluationPlan } from '../policies/evaluation.js';
import { describePolicies } from '../policies/registry.js';
import type { RunSeries, RunSummary, SeriesStat } from '../policies/metrics.js';
import type { RunResult, SeedResult } from '../policies/run.js';
import { parsePolicySpec, policyRefusal, type ParsedSpec } from '../policies/spec.js';
import { runPolicyInWorker } from '../policies/run-job.js';
import { traceDiagnostics } from '../trace/diagnostics.js';
import type { Trace } from '../trace/types.js';
import { appVersion } from '../version.js';
import { samplePaths } from '../paths.js';
import type { RunConfig } from '../store/runs.js';
import type { z } from 'zod';
import { command } from './command.js';
import type { CommandContext } from './context.js';
import { entryOf, storedRunPayload, type PolicyEntry } from './policy-input.js';
import { emptyInput, exportFileInput, idInput, idsInput, policyRunInput, renameInput, runShowInput, tagInput, type evaluationInput } from './schemas.js';

type RunInput = z.output<typeof policyRunInput>;
type EvaluationRequest = z.output<typeof evaluationInput>;

export interface RunOutcome {
  runId: number;
  policy: string;
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
    if (no) throw new StudioError(`calibration trace ${asked.traceId}: ${no}`, { kind: 'input', field: 'calibrateOn' });
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

async function runPolicies(ctx: CommandContext, input: RunInput): Promise<{ runs: RunOutcome[] }> {
  const trace = ctx.store.traces.load(input.traceId);
  const { costs, source } = resolveCostChoice(trace, input.costs);
  const options = {
    seeds: input.seeds ?? 20,
    firstSeed: input.firstSeed ?? 1,
    lambda: input.lambda ?? 1,
    costs,
    supervised: input.supervised ?? false,
  };
  // Each policy with its own values (the run's shared ones it reads, its own, its argument); every
  // policy the trace cannot serve is refused before any work starts.
  const parsed = input.policies.map((e) => {
    const { spec, own } = entryOf(e);
    const p = parsePolicySpec(spec, input.params ?? {}, own);
    const why = policyRefusal(p, trace, options.supervised, costs);
    if (why) throw new StudioError(why, { kind: 'input' });
    return p;
  });
  for (const note of new Set(parsed.flatMap((p) => (p.note ? [p.note] : [])))) ctx.emit({ type: 'warning', job: 'policy', message: note });
  const { plan, request: evaluationRequest } = planEvaluation(ctx, input, trace, parsed, costs);
  const evaluation = evaluationOf(plan, trace.samples);
  const resumed = seedsToResume(ctx, input, evaluationRequest);
  const total = input.policies.length * options.seeds;
  const lastPartial = new Map<string, number>();
  const done = new Map<string, number>();
  const report = (): void => {
    const d = [...done.values()].reduce((a, b) => a + b, 0);
    ctx.emit({ type: 'progress', job: 'policy', done: d, total, message: `${d}/${total} seeds` });
  };
  // Each run is stored as 'running' before its replay starts, with the request
  // that runs it alone again: a killed process leaves interrupted rows that
  // 'job.rerun' can redo, never half-present ones.
  const runName = (spec: string): string => input.name ?? `${spec} on trace ${input.traceId}`;
  const runIds = parsed.map((p, i) =>
    ctx.store.runs.begin({
      name: runName(p.spec),
      traceId: input.traceId,
      policy: p.spec,
      supervised: options.supervised,
      seeds: Array.from({ length: options.seeds }, (_, s) => options.firstSeed + s),
      config: { lambda: options.lambda, costs, costSource: source, params: p.params, usesHindsight: p.usesHindsight },
      evaluation,
      appVersion,
      request: runRequest(input, input.policies[i]!, evaluationRequest),
    }),
  );
  // The new run keeps what it resumes from too: interrupted again, it loses nothing.
  for (const r of resumed) ctx.store.runs.saveSeed(runIds[0]!, r);
  let results: RunResult[];
  try {
    results = await Promise.all(
      parsed.map(({ spec, params }, i) => {
        const key = `${i}:${spec}`;
        return runPolicyInWorker(trace, spec, { ...options, params, evaluation: plan, ...(resumed.length ? { resumed } : {}) }, {
          onSeed: (r) => ctx.store.runs.saveSeed(runIds[i]!, r),
          onProgress: (p) => {
            done.set(key, p.seedsDone);
            report();
          },
          onPartial: (r) => {
            // Live charts draw means and bands: every seed's values stay out of the
            // event (they are megabytes per run), and events are throttled per policy.
            const now = Date.now();
            if (now - (lastPartial.get(key) ?? 0) < PARTIAL_EVERY_MS && r.seeds.length < options.seeds) return;
            lastPartial.set(key, now);
            ctx.emit({ type: 'partial', job: 'policy', data: { index: i, spec, summary: r.summary, series: withoutSeeds(r.series), learned: r.learned, seedsDone: r.seeds.length, evaluation, usesHindsight: r.usesHindsight } });
          },
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
      }),
    );
  } catch (e) {
    // Cancelled or failed: nothing of these runs stays.
    for (const id of runIds) ctx.store.runs.abort(id);
    throw e;
  }
  const runs: RunOutcome[] = [];
  ctx.store.db.transaction(() => {
    results.forEach((r, i) => {
      const runId = runIds[i]!;
      ctx.store.runs.complete(runId, r.summary, r.learned, { series: r.series, fits: r.fits ?? null }, {
        seeds: r.seeds,
        supervised: r.supervised,
        config: { lambda: r.lambda, costs: r.costs, costSource: source, params: parsed[i]!.params, usesHindsight: r.usesHindsight },
      });
      runs.push({ runId, policy: r.spec, seeds: r.seeds.length, summary: meanSummary(r.summary), learned: r.learned, evaluation, usesHindsight: r.usesHindsight, resumedSeeds: r.resumedSeeds });
    });
    // The resumed run is replaced by the one that finished it.
    if (input.resumeFrom !== undefined) ctx.store.runs.discardInterrupted(input.resumeFrom);
  })();
  return { runs };
}

/** Least time between two live 'partial' events of one policy. */
const PARTIAL_EVERY_MS = 250;

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

type Ranked = { id: number; summary: RunOutcome['summary']; regretScale: string; samples: string };

/**
 * Which run is best on each metric: higher accuracy and agreement, lower cost
 * and regret. Nothing is ranked across runs scored on different samples, and
 * regret only among runs on one scale.
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
    avgCost: pick((s) => s.avgCost, (a, b) => a < b),
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

  'trace.diagnose': command(idInput, (ctx, input) => traceDiagnostics(ctx.store.traces.load(input.id))),

  'run.list': command(emptyInput, (ctx) => ctx.store.runs.list().map((r) => ({ ...r, means: meanSummary(r.summary) }))),
  'run.show': command(runShowInput, (ctx, input) => {
    const stored = ctx.store.runs.series(input.id);
    const series = stored && !input.perSeed ? { ...stored, series: withoutSeeds(stored.series) } : stored;
    return { ...runView(ctx, input.id), series };
  }),
  'run.compare': command(idsInput, (ctx, input) => {
    const runs = input.ids.map((id) => runView(ctx, id));
    const scaled = runs.map((r) => ({ id: r.id, summary: r.means, regretScale: regretScale(r), samples: evaluationSamples(r) }));
    return {
      runs,
      best: bestPerMetric(scaled),
      regretComparable: regretsComparable(scaled),
      /** False: some runs were scored on other samples (another trace, split or seeds), so none is ranked. */
      samplesComparable: scaled.every((r) => r.samples === scaled[0]!.samples),
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
