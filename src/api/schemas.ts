/** Payload schemas of the commands: what every transport (CLI, IPC, HTTP) must send. */
import { z } from 'zod';
import { applyOptionsSchema } from '../export/apply-options.js';
import { checkPolicyEntries, liftFlatParams, paramValues, policyEntry } from './policy-input.js';

/** Half of a UTF-16 surrogate pair without its other half: no file system can name it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A file path. Native code never gets one it cannot take: onnxruntime cuts a
 * path at a NUL character (and would open another file than the one named),
 * and a lone surrogate turns into U+FFFD on its way to the file system.
 */
const path = z
  .string()
  .min(1, 'a file path is required')
  .max(4096, 'a file path is at most 4096 characters')
  .refine((p) => !p.includes('\0'), 'a file path cannot hold a NUL character')
  .refine((p) => !LONE_SURROGATE.test(p), 'a file path cannot hold a lone UTF-16 surrogate');
const id = z.number().int().positive();

export const inspectInput = z
  .object({
    path,
    latency: z.boolean().optional(),
    threads: z.number().int().positive().optional(),
    /** Samples per timed pass of the latency profile: the batch the inference will use (default 64, as it does). */
    batch: z.number().int().positive().max(65536).optional(),
    /** A dataset whose first sample gives the input shapes the MACs are counted at (a sequence length, an image size). */
    data: path.optional(),
    /** Values for symbolic input dims by name ("seq": 256), where no dataset gives them. */
    dims: z.record(z.string().min(1), z.number().int().positive()).optional(),
  })
  .strict();

export const inferInput = z
  .object({
    model: path,
    data: path,
    labels: path.optional(),
    labelColumn: z.string().min(1).optional(),
    exits: z.array(z.string().min(1)).min(2).optional(),
    ep: z.string().min(1).optional(),
    batch: z.number().int().positive().max(1 << 20).optional(),
    threads: z.number().int().positive().max(1024).optional(),
    limit: z.number().int().positive().optional(),
    probs: z.boolean().optional(),
    force: z.boolean().optional(),
    name: z.string().min(1).max(200).optional(),
    image: z.object({ mean: z.array(z.number()).optional(), std: z.array(z.number().positive()).optional() }).strict().optional(),
    /** Feed NaN and Inf to the model (refused by default). */
    allowNonFinite: z.boolean().optional(),
  })
  .strict();

/** Shard I of N, I from 0 (a Kubernetes completion index is one as it is). */
export const shardSpec = z
  .object({ index: z.number().int().nonnegative(), count: z.number().int().positive().max(1_000_000) })
  .strict()
  .refine((s) => s.index < s.count, { message: 'the shard index must be below the shard count (0 to N-1)' });

/** trace.record: an inference written to an .npz instead of the database, optionally one shard of the data. */
export const recordInput = inferInput
  .omit({ name: true })
  .extend({ out: path, shard: shardSpec.optional() })
  .strict();

export const importInput = z
  .object({
    /** One file, or the shard files of one job (merged in shard order). */
    path: z.union([path, z.array(path).min(1).max(100_000)]),
    labelColumn: z.string().min(1).optional(),
    labels: path.optional(),
    costs: z.array(z.number().nonnegative()).min(2).optional(),
    layout: z.enum(['KNC', 'NKC']).optional(),
    name: z.string().min(1).max(200).optional(),
  })
  .strict();

export const idInput = z.object({ id }).strict();
/** run.show: every seed's series values only when asked (megabytes per run; charts draw means and bands). */
export const runShowInput = z.object({ id, perSeed: z.boolean().optional() }).strict();
export const renameInput = z.object({ id, name: z.string().min(1).max(200) }).strict();
/** force: replace a file already at `out` (refused by default, with the error code 'exists'). */
export const exportTraceInput = z.object({ id, out: path, force: z.boolean().optional() }).strict();
export const emptyInput = z.object({}).strict();

/**
 * How a run's figures are obtained (docs/policies.md): held-out (`holdout`: the evaluation part's
 * share, default 0.5), cross-trace (fitted policies fit on stored trace `traceId`), or in-sample.
 * Left out: held-out when a policy of the run fits on data, in-sample otherwise.
 */
export const evaluationInput = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('held-out'), holdout: z.number().gt(0, 'holdout is a share between 0 and 1').lt(1, 'holdout is a share between 0 and 1').optional() }).strict(),
  z.object({ mode: z.literal('cross-trace'), traceId: id }).strict(),
  z.object({ mode: z.literal('in-sample') }).strict(),
]);

export const costSpec = z.union([z.array(z.number().nonnegative()).min(2), z.enum(['trace', 'macs', 'latency', 'uniform'])]);

/**
 * Most seed replays one policy.run may ask for (seeds × policies): each replays
 * the whole trace and keeps a row of series (tens of KB), so 10,000 seeds of 32
 * policies would be hours of work and gigabytes. More belongs in several runs.
 */
export const MAX_SEED_REPLAYS = 4000;

export const policyRunInput = z.preprocess(
  liftFlatParams,
  z
    .object({
      traceId: id,
      policies: z.array(policyEntry).min(1).max(32),
      seeds: z.number().int().positive().max(10000).optional(),
      firstSeed: z.number().int().optional(),
      lambda: z.number().nonnegative().optional(),
      costs: costSpec.optional(),
      supervised: z.boolean().optional(),
      evaluation: evaluationInput.optional(),
      /** Values for every chosen policy that reads the name (the CLI's --alpha, --param NAME=VALUE). */
      params: paramValues.optional(),
      name: z.string().min(1).max(200).optional(),
      /**
       * An interrupted run of this very request (one policy) whose kept seeds are
       * reused instead of replayed; job.rerun sets it.
       */
      resumeFrom: id.optional(),
    })
    .strict()
    .superRefine(checkPolicyEntries)
    .superRefine((input, ctx) => {
      const seeds = input.seeds ?? 20;
      const replays = seeds * input.policies.length;
      if (replays > MAX_SEED_REPLAYS) {
        ctx.addIssue({
          code: 'custom',
          path: ['seeds'],
          message: `${seeds} seeds × ${input.policies.length} ${input.policies.length > 1 ? 'policies' : 'policy'} = ${replays} replays; a run takes at most ${MAX_SEED_REPLAYS} (use fewer seeds, or run the policies separately)`,
        });
      }
    }),
);

/** policy.costs: the costs a run of this trace would use with this choice (the trace's own when none). */
export const policyCostsInput = z.object({ traceId: id, costs: costSpec.optional() }).strict();
/** trace.diagnose: the trace's per-exit figures and cost–accuracy front, at its own costs or the ones given. */
export const diagnoseInput = z.object({ id, costs: costSpec.optional() }).strict();

export const idsInput = z.object({ ids: z.array(id).min(1).max(64) }).strict();
export const tagInput = z.object({ id, tags: z.array(z.string().min(1).max(50)).max(32) }).strict();
export const exportFileInput = z.object({ id, out: path, force: z.boolean().optional() }).strict();

export const bundleInput = z
  .object({
    /** The run whose policy to bundle, or an exit-policy file (version 1 or 2) written by `export`. */
    runId: id.optional(),
    policyFile: path.optional(),
    model: path,
    out: path,
    verifyData: path.optional(),
    ep: z.string().min(1).optional(),
    threads: z.number().int().positive().max(1024).optional(),
    /** Replace a bundle already in `out`. */
    overwrite: z.boolean().optional(),
    /** Replace a bundle already in `out`, and bundle a model other than the one the trace was recorded with. */
    force: z.boolean().optional(),
  })
  .strict()
  .refine((b) => (b.runId === undefined) !== (b.policyFile === undefined), { message: 'give runId or policyFile (one of them)' });

/** applyBundle's own options (src/export/bundle.ts), with the bundle and the data; its paths checked as every path of a request is. */
export const applyInput = applyOptionsSchema.extend({ dir: path, data: path, labels: path.optional(), model: path.optional() }).strict();

export const previewInput = z
  .object({ path, model: path, labels: path.optional(), count: z.number().int().positive().max(64).optional() })
  .strict();
