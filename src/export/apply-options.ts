/**
 * What applyBundle (bundle.ts) takes besides the bundle and the data: the one
 * schema of these options. The `bundle.apply` command's payload is this schema
 * with the bundle and the data added (src/api/schemas.ts `applyInput`), so
 * every option here reaches the engine from every door. It lives apart from
 * bundle.ts so the command table can hold it without loading onnxruntime,
 * the data readers and the ONNX parser: commands that need none of them
 * (`run`, `runs list`) start without them.
 */
import { z } from 'zod';

export const applyOptionsSchema = z
  .object({
    /** Labels file (one per sample); the data's own label column otherwise. */
    labels: z.string().min(1).max(4096).optional(),
    /** Execution provider (default cpu); the full model runs on the same one. */
    ep: z.string().min(1).optional(),
    threads: z.number().int().positive().max(1024).optional(),
    /** Samples per batch (default 64). */
    batch: z.number().int().positive().max(1 << 20).optional(),
    /** Read at most this many samples. */
    limit: z.number().int().positive().optional(),
    /** The full model, when it is not at the path the manifest recorded: the baseline of the measured speedup. */
    model: z.string().min(1).max(4096).optional(),
    /** Re-cut the stages from onnxruntime's optimized graph on this machine (default true; CPU EP only). */
    optimize: z.boolean().optional(),
  })
  .strict();

export type ApplyOptions = z.output<typeof applyOptionsSchema>;
