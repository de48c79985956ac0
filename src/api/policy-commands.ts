/** Commands about policies and runs: catalog, run side by side, list, show, compare, rename, tag, delete, export; trace diagnostics. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isStudioError, StudioError } from '../errors.js';
import { writeOutput } from '../files/write.js';
import { buildPolicyFile } from '../export/policy-file.js';
import { costChoices, resolveCostChoice } from '../policies/costs.js';
import { costDefaults, describePolicies } from '../policies/registry.js';
import type { RunSeries, RunSummary, SeriesStat } from '../policies/metrics.js';
import type { RunResult, SeedResult } from '../policies/run.js';
import { parsePolicySpec, policyLabel, policyRefusal, type ParsedSpec } from '../policies/spec.js';
import { runPolicyInWorker } from '../policies/run-job.js';
import type { ResolvedCosts } from '../trace/costs.js';
import { traceDiagnostics } from '../trace/diagnostics.js';
import type { Trace } from '../trace/types.js';
import { appVersion } from '../version.js';
import { samplePaths } from '../paths.js';
import type { RunConfig } from '../store/runs.js';
import type { z } from 'zod';
import { command } from './command.js';
import type { CommandContext } from './context.js';
import { entryOf, liftFlatParams, type PolicyEntry } from './policy-input.js';
import { diagnoseInput, emptyInput, exportFileInput, idInput, idsInput, policyCostsInput, policyRunInput, renameInput, runShowInput, tagInput } from './schemas.js';

type RunInput = z.output<typeof policyRunInput>;

export interface RunOutcome {
  /** The policy's place in the request (policies[index]). */
  index: number;
  runId: number;
  policy: string;
  /** The policy as people read it: "EENet (budget 0.59)". */
  label: string;
  seeds: number;
  summary: { accuracy: number | null; agreement: number; avgCost: number; exitShare: number[]; cumRegret: number; regretKind: string; reference: string };
  learned: RunResult['learned'];
  /** Seeds taken from the interrupted run it resumes (resumeFrom) instead of replayed. */
  resumedSeeds: number;
}

/** A policy of the request that did not run, and why; the others ran. */
export interface FailedPolicy {
  index: number;
  policy: string;
  error: string;
  /** input: refused before any work (its parameters do not fit the trace); runtime: failed while replaying. */
  kind: 'input' | 'runtime';
}

export interface PolicyRunOutput {
  /** The costs every run of the request used, with where they came from. */
  costs: ResolvedCosts;
  runs: RunOutcome[];
  failed: FailedPolicy[];
}

/** The request a run keeps: this policy alone, without resumeFrom (a rerun sets its own). */
function runRequest(input: RunInput, entry: PolicyEntry): { command: string; payload: unknown } {
  const { resumeFrom: _resumed, ...rest } = input;
  return { command: 'policy.run', payload: { ...rest, policies: [entry] } };
}

/** Two request payloads with the same fields and values, whatever their key order. */
function samePayload(a: unknown, b: unknown): boolean {
  const sorted = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sorted) : typeof x === 'object' && x !== null ? Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1)).map(([k, v]) => [k, sorted(v)]) : x;
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

/** The seeds an interrupted run of the same request kept, checked to be that run's. */
function seedsToResume(ctx: CommandContext, input: RunInput): SeedResult[] {
  if (input.resumeFrom === undefined) return [];
  const from = input.resumeFrom;
  if (input.policies.length !== 1) throw new StudioError('resumeFrom resumes one run: give exactly one policy');
  const run = ctx.store.runs.get(from);
  if (run.status !== 'interrupted') throw new StudioError(`run ${from} is ${run.status}; only an interrupted run can be resumed`);
  const kept = ctx.store.runs.request(from);
  // A request kept before parameters moved into `params` compares as it would be run now.
  if (!samePayload(liftFlatParams(kept?.payload), runRequest(input, input.policies[0]!).payload)) {
    throw new StudioError(`run ${from} was started by another request; resume it with 'job.rerun' (exit-studio rerun run ${from})`);
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
      return why ? { index, policy: parsed.spec, error: why, kind: 'input' } : { index, parsed, label: policyLabel(parsed) };
    } catch (err) {
      if (!isStudioError(err)) throw err;
      return { index, policy: spec, error: err.message, kind: 'input' };
    }
  });
}

async function runPolicies(ctx: CommandContext, input: RunInput): Promise<PolicyRunOutput> {
  const resumed = seedsToResume(ctx, input);
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
  if (going.length === 0) throw new StudioError(failed.length === 1 ? failed[0]!.error : `no policy can run on trace ${input.traceId}: ${failed.map((f) => f.error).join('; ')}`);
  const jobs = new Progress(going.length, options.seeds, (p) => ctx.emit({ type: 'progress', job: 'policy', ...p }));
  const lastPartial = new Map<number, number>();
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
      config: { lambda: options.lambda, ...used, params: parsed.params },
      appVersion,
      request: runRequest(input, input.policies[index]!),
    }),
  );
  // The new run keeps what it resumes from too: interrupted again, it loses nothing.
  for (const r of resumed) ctx.store.runs.saveSeed(runIds[0]!, r);
  const settled = await Promise.allSettled(
    going.map(({ parsed, label, index }, i) =>
      runPolicyInWorker(trace, parsed.spec, { ...options, params: parsed.params, ...(resumed.length ? { resumed } : {}) }, {
        onSeed: (r) => ctx.store.runs.saveSeed(runIds[i]!, r),
        onProgress: (p) => jobs.set(i, p.seedsDone),
        onPartial: (r) => {
          // Live charts draw means and bands: every seed's values stay out of the
          // event (they are megabytes per run), and events are throttled per policy.
          const now = Date.now();
          if (now - (lastPartial.get(i) ?? 0) < PARTIAL_EVERY_MS && r.seeds.length < options.seeds) return;
          lastPartial.set(i, now);
          ctx.emit({ type: 'partial', job: 'policy', data: { index, spec: r.spec, label, summary: r.summary, series: withoutSeeds(r.series), learned: r.learned, seedsDone: r.seeds.length } });
        },
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
        failed.push({ index, policy: parsed.spec, error: s.reason instanceof Error ? s.reason.message : String(s.reason), kind: 'runtime' });
        return;
      }
      const r = s.value;
      ctx.store.runs.complete(runId, r.summary, r.learned, { series: r.series, fits: r.fits ?? null }, {
        seeds: r.seeds,
        supervised: r.supervised,
        config: { lambda: r.lambda, ...used, params: parsed.params, usesHindsight: r.usesHindsight },
      });
      runs.push({ index, runId, policy: r.spec, label, seeds: r.seeds.length, summary: meanSummary(r.summary), learned: r.learned, resumedSeeds: r.resumedSeeds });
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

/** Mean costs compare only in the same units: runs on one trace at the same costs. */
export function costScale(r: { traceId: number; config: RunConfig }): string {
  return JSON.stringify([r.traceId, r.config.costs]);
}

/**
 * Which run is best on each metric: higher accuracy and agreement, lower cost and regret
 * (cost only among runs at the same costs, regret only among runs on one scale).
 */
export function bestPerMetric(runs: { id: number; summary: RunOutcome['summary']; regretScale: string; costScale?: string }[]): Record<'accuracy' | 'agreement' | 'avgCost' | 'cumRegret', number | null> {
  const pick = (get: (s: RunOutcome['summary']) => number | null, better: (a: number, b: number) => boolean): number | null => {
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

function runView(ctx: CommandContext, id: number) {
  const r = ctx.store.runs.getComplete(id);
  return { ...r, means: meanSummary(r.summary) };
}

export const policyCommands = {
  /** Every policy of the registry: what it is, what it needs, its parameters as JSON Schema. */
  'policy.catalog': command(emptyInput, () => ({ policies: describePolicies() })),
  'policy.run': command(policyRunInput, runPolicies, true),

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
    const stored = ctx.store.runs.series(input.id);
    const series = stored && !input.perSeed ? { ...stored, series: withoutSeeds(stored.series) } : stored;
    return { ...runView(ctx, input.id), series };
  }),
  'run.compare': command(idsInput, (ctx, input) => {
    const runs = input.ids.map((id) => runView(ctx, id));
    const scaled = runs.map((r) => ({ id: r.id, summary: r.means, regretScale: regretScale(r), costScale: costScale(r) }));
    return { runs, best: bestPerMetric(scaled), regretComparable: regretsComparable(scaled), costsComparable: scaled.every((r) => r.costScale === scaled[0]?.costScale) };
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
  'run.exportPolicy': command(idInput, (ctx, input) => {
    const run = runView(ctx, input.id);
    return buildPolicyFile(run, ctx.store.traces.meta(run.traceId), appVersion);
  }),
  'run.exportFile': command(exportFileInput, async (ctx, input) => {
    const run = runView(ctx, input.id);
    const file = buildPolicyFile(run, ctx.store.traces.meta(run.traceId), appVersion);
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
