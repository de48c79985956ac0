/**
 * The exit-policy file's shape, as zod schemas: the writer's type is inferred
 * from them and the reader checks a file against them, version by version.
 * Version 2 adds how the figures were obtained (`evaluation`), the estimates
 * with their 95 % intervals, the rule's guarantee, each exit's cost as given
 * and how its MACs were counted, whether costs were assumed, and the seed the
 * rule was learned on; version 1 lacks them.
 */
import { z } from 'zod';
import { guaranteeSchema, learnedPolicySchema } from '../policies/rules/index.js';

export const POLICY_FORMAT = 'exit-studio/exit-policy';
export const POLICY_VERSION = 2;

/** A mean across seeds with its 95 % t-interval. */
export const intervalSchema = z.object({ mean: z.number(), lo: z.number(), hi: z.number() });

/** How a file's figures were obtained: the run's evaluation mode and sample counts. */
export const fileEvaluationSchema = z.object({
  mode: z.enum(['held-out', 'cross-trace', 'in-sample']),
  calibrationSamples: z.number().int().nonnegative(),
  evaluationSamples: z.number().int().nonnegative(),
  /** Cross-trace: the trace the policy was fitted on. */
  calibrationTrace: z.object({ id: z.number().int(), name: z.string().nullable() }).nullable(),
  /** In-sample and fitted on those very samples: the estimates are hindsight, not a forecast. */
  hindsight: z.boolean(),
});

/**
 * What to expect from the decision on unseen data like the evaluation samples: mean across seeds
 * and 95 % t-interval of accuracy (labels; null without), agreement with the last exit, and mean
 * cost, measured as the evaluation says.
 */
export const estimatesSchema = z.object({
  seeds: z.number().int().positive(),
  reference: z.string(),
  accuracy: intervalSchema.nullable(),
  agreement: intervalSchema,
  avgCost: intervalSchema,
});

const metricsSchema = z.object({
  reference: z.string(),
  accuracy: z.number().nullable(),
  agreement: z.number(),
  avgCost: z.number(),
  exitShare: z.array(z.number()),
  cumRegret: z.number(),
});

export const policyFileV1Schema = z.object({
  format: z.literal(POLICY_FORMAT),
  version: z.literal(1),
  createdAt: z.string(),
  app: z.object({ name: z.literal('exit-studio'), version: z.string() }),
  model: z.object({ path: z.string(), sha256: z.string() }).nullable(),
  trace: z.object({ id: z.number(), name: z.string(), samples: z.number(), datasetPath: z.string().nullable(), datasetSha256: z.string().nullable() }),
  exits: z.array(z.object({ index: z.number().int(), name: z.string().min(1), cost: z.number(), macs: z.number().nullable(), latencyMs: z.number().nullable() })).min(1),
  costSource: z.string(),
  lambda: z.number(),
  policy: z.object({ spec: z.string(), supervised: z.boolean(), seeds: z.number(), params: z.record(z.string(), z.unknown()) }),
  /**
   * The rule to apply, exits 0-based:
   *  fixed: always exit at `exit`;
   *  thresholds: at exit k, exit when `measure` is >= (direction "above") or <= ("below") thresholds[k]; null never exits there; the last exit always exits;
   *  patience: exit once `patience` consecutive exits agree;
   *  eenet: EENet's scorer (model) gives q_k; exit at the first k with q_k >= thresholds[k];
   *  random: exit k with probability shares[k] (a baseline, not for deployment).
   */
  decision: learnedPolicySchema,
  metrics: metricsSchema,
});

export const policyFileSchema = policyFileV1Schema.extend({
  version: z.literal(POLICY_VERSION),
  /**
   * Per exit: its cost as the run used it (normalized, last exit = 1), the number it came from in
   * its own unit (rawCost: the user's number, MACs or ms; null for equal steps or older runs), its
   * MACs with how they were counted, and its measured latency.
   */
  exits: z
    .array(
      policyFileV1Schema.shape.exits.element.extend({
        rawCost: z.number().nullable(),
        macsSource: z.enum(['static', 'probed', 'estimate']).nullable(),
      }),
    )
    .min(1),
  /** True when no one gave costs and equal steps were assumed. */
  costsAssumed: z.boolean(),
  /** seeds: how many seeds the metrics are means over; learnedFromSeed: the seed whose learned rule `decision` is. */
  policy: policyFileV1Schema.shape.policy.extend({ learnedFromSeed: z.number().int() }),
  evaluation: fileEvaluationSchema,
  estimates: estimatesSchema,
  /** What the rule guarantees, with its numbers (risk control); null when it guarantees nothing. */
  guarantee: guaranteeSchema.nullable(),
});

export type Interval = z.output<typeof intervalSchema>;
export type FileEvaluation = z.output<typeof fileEvaluationSchema>;
export type Estimates = z.output<typeof estimatesSchema>;
export type ExitPolicyFileV1 = z.output<typeof policyFileV1Schema>;
export type ExitPolicyFile = z.output<typeof policyFileSchema>;
