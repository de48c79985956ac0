/**
 * The exit-policy file: what a run learned, in a versioned JSON a deployment
 * can apply without the studio (schema in docs/formats.md). It names the
 * model and trace it was tuned on, the exits with their costs, the policy
 * and its parameters, the decision rule, and the run's metrics.
 */
import { StudioError } from '../errors.js';
import { learnedPolicySchema, makeDecider, ruleOf, type LearnedPolicy } from '../policies/rules/index.js';
import type { CompleteRun } from '../store/runs.js';
import type { MacsSource } from '../model/types.js';
import { traceCosts } from '../trace/costs.js';
import type { TraceMeta } from '../trace/types.js';

export const POLICY_FORMAT = 'exit-studio/exit-policy';
export const POLICY_VERSION = 1;

export interface ExitPolicyFile {
  format: typeof POLICY_FORMAT;
  version: typeof POLICY_VERSION;
  createdAt: string;
  app: { name: 'exit-studio'; version: string };
  model: { path: string; sha256: string } | null;
  trace: { id: number; name: string; samples: number; datasetPath: string | null; datasetSha256: string | null };
  /**
   * Per exit: its cost as the run used it (normalized, last exit = 1), the number that came from
   * in its own unit (rawCost: the user's number, MACs or ms; null for equal steps or older runs),
   * its MACs with how they were counted, and its measured latency.
   */
  exits: { index: number; name: string; cost: number; rawCost: number | null; macs: number | null; macsSource: MacsSource | null; latencyMs: number | null }[];
  costSource: string;
  /** True when no one gave costs and equal steps were assumed. */
  costsAssumed: boolean;
  lambda: number;
  /** seeds: how many seeds the metrics are means over; learnedFromSeed: the seed whose learned rule `decision` is. */
  policy: { spec: string; supervised: boolean; seeds: number; learnedFromSeed: number; params: Record<string, unknown> };
  /**
   * The rule to apply, exits 0-based:
   *  fixed: always exit at `exit`;
   *  thresholds: at exit k, exit when `measure` is >= (direction "above") or <= ("below") thresholds[k]; null never exits there; the last exit always exits;
   *  patience: exit once `patience` consecutive exits agree;
   *  eenet: EENet's scorer (model) gives q_k; exit at the first k with q_k >= thresholds[k];
   *  random: exit k with probability shares[k] (a baseline, not for deployment).
   */
  decision: LearnedPolicy;
  metrics: {
    reference: string;
    accuracy: number | null;
    agreement: number;
    avgCost: number;
    exitShare: number[];
    cumRegret: number;
  };
}

/**
 * What the run learned, as its rule writes it, checked to apply to the trace's
 * exits with the decider a deployment will use: a file that would not apply
 * is refused here, naming the run, not later on another machine.
 */
function decisionOf(run: CompleteRun, trace: TraceMeta): LearnedPolicy {
  const parsed = learnedPolicySchema.safeParse(run.learned);
  if (!parsed.success) throw new StudioError(`run ${run.id}: what it learned is not a valid ${String(run.learned.kind)} rule (${parsed.error.issues[0]?.message ?? 'invalid'})`, { kind: 'runtime' });
  const decision = parsed.data;
  if (ruleOf(decision.kind).deployable) {
    try {
      makeDecider(decision, trace.exits.map((e) => ({ name: e.name, classes: trace.classes })));
    } catch (e) {
      throw new StudioError(`run ${run.id}: its ${decision.kind} rule does not apply to trace ${trace.id}'s exits: ${e instanceof Error ? e.message : String(e)}`, { kind: 'runtime', cause: e });
    }
  }
  return decision;
}

export function buildPolicyFile(run: CompleteRun, trace: TraceMeta, appVersion: string, now = new Date()): ExitPolicyFile {
  const { summary, config } = run;
  // Runs stored before their costs were kept in full read the trace's.
  const used = config.costs ? config : traceCosts(trace);
  const costs = used.costs;
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
    decision: decisionOf(run, trace),
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
