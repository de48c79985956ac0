/**
 * The exit-policy file: what a run learned, in a versioned JSON a deployment
 * can apply without the studio (schema in docs/formats.md). It names the
 * model and trace it was tuned on, the exits with the costs the run used
 * (normalized and as given, with how MACs were counted), the policy
 * and its parameters, the decision rule, how its figures were obtained
 * (held-out, cross-trace or in-sample) with the estimates and their 95 %
 * intervals, what the rule guarantees where it guarantees anything, and the
 * run's metrics. Version 2; version 1 files (no evaluation, estimates or
 * guarantee) still read (policy-file-read.ts).
 */
import { StudioError } from '../errors.js';
import type { Stat } from '../policies/stats.js';
import { learnedPolicySchema, makeDecider, ruleOf, type LearnedPolicy } from '../policies/rules/index.js';
import { POLICY_FORMAT, POLICY_VERSION, type ExitPolicyFile, type FileEvaluation, type Interval } from './policy-file-schema.js';
import type { CompleteRun } from '../store/runs.js';
import { traceCosts } from '../trace/costs.js';
import type { TraceMeta } from '../trace/types.js';

export { POLICY_FORMAT, POLICY_VERSION, type ExitPolicyFile, type FileEvaluation, type Interval } from './policy-file-schema.js';

/**
 * What the run learned, as its rule writes it, checked to apply to the trace's
 * exits with the decider a deployment will use: a file that would not apply
 * is refused here, naming the run, not later on another machine.
 */
function decisionOf(run: CompleteRun, trace: TraceMeta): LearnedPolicy {
  const parsed = learnedPolicySchema.safeParse(run.learned);
  if (!parsed.success) throw new StudioError(`run ${run.id}: what it learned is not a valid ${String(run.learned.kind)} rule (${parsed.error.issues[0]?.message ?? 'invalid'})`, { kind: 'internal' });
  const decision = parsed.data;
  if (ruleOf(decision.kind).deployable) {
    try {
      makeDecider(decision, trace.exits.map((e) => ({ name: e.name, classes: trace.classes })));
    } catch (e) {
      throw new StudioError(`run ${run.id}: its ${decision.kind} rule does not apply to trace ${trace.id}'s exits: ${e instanceof Error ? e.message : String(e)}`, { kind: 'internal', cause: e });
    }
  }
  return decision;
}

function interval(s: Stat): Interval {
  return { mean: s.mean, lo: s.mean - s.ci95, hi: s.mean + s.ci95 };
}

/** The run's evaluation as the file states it; `calibration` names the trace a cross-trace run fitted on, where it is still stored. */
function fileEvaluation(run: CompleteRun, calibration: TraceMeta | null): FileEvaluation {
  const e = run.evaluation;
  const id = e.calibrationTrace;
  return {
    mode: e.mode,
    calibrationSamples: e.calibrationSamples,
    evaluationSamples: e.evaluationSamples,
    calibrationTrace: id === undefined ? null : { id, name: calibration?.id === id ? calibration.name : null },
    hindsight: e.mode === 'in-sample' && run.config.usesHindsight === true,
  };
}

export function buildPolicyFile(run: CompleteRun, trace: TraceMeta, appVersion: string, now = new Date(), calibration: TraceMeta | null = null): ExitPolicyFile {
  const { summary, config } = run;
  // Runs stored before their costs were kept in full read the trace's.
  const used = config.costs ? config : traceCosts(trace);
  const costs = used.costs;
  const decision = decisionOf(run, trace);
  return {
    format: POLICY_FORMAT,
    version: POLICY_VERSION,
    createdAt: now.toISOString(),
    app: { name: 'exit-studio', version: appVersion },
    model: trace.modelPath && trace.modelSha256 ? { path: trace.modelPath, sha256: trace.modelSha256 } : null,
    trace: { id: trace.id, name: trace.name, samples: trace.samples, datasetPath: trace.datasetPath ?? null, datasetSha256: trace.datasetSha256 ?? null },
    exits: trace.exits.map((e, k) => ({
      index: k, name: e.name, cost: costs[k]!, rawCost: used.rawCosts?.[k] ?? null,
      macs: e.macs ?? null, macsSource: used.macs?.source[k] ?? e.macsSource ?? null, latencyMs: e.latencyMs ?? null,
    })),
    costSource: used.costSource,
    costsAssumed: used.costsAssumed ?? false,
    lambda: config.lambda ?? 1,
    policy: { spec: run.policy, supervised: run.supervised, seeds: run.seeds.length, learnedFromSeed: run.seeds[0]!, params: config.params ?? {} },
    decision,
    evaluation: fileEvaluation(run, calibration),
    estimates: {
      seeds: run.seeds.length,
      reference: summary.reference,
      accuracy: summary.accuracy ? interval(summary.accuracy) : null,
      agreement: interval(summary.agreement),
      avgCost: interval(summary.avgCost),
    },
    guarantee: 'guarantee' in decision && decision.guarantee ? decision.guarantee : null,
    metrics: {
      reference: summary.reference,
      accuracy: summary.accuracy ? summary.accuracy.mean : null,
      agreement: summary.agreement.mean,
      avgCost: summary.avgCost.mean,
      exitShare: summary.exitShare.map((s) => s.mean),
      cumRegret: summary.cumRegret.mean,
    },
  };
}
