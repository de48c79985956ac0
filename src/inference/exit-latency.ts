/**
 * The latency cost model: cumulative ms per sample to reach each exit, as a
 * deployment pays it. Measured by running the model as stages (what an
 * exported bundle runs: exit k costs stages 1..k, features and hand-overs
 * included); a model that cannot be split is timed exit by exit as pruned
 * models instead, and the result says which.
 */
import type * as ort from 'onnxruntime-node';
import { isStudioError } from '../errors.js';
import { measureExitLatency } from '../model/latency.js';
import { splitStages } from '../model/split.js';
import type { ModelInfo } from '../model/types.js';
import { measureStageLatency } from '../runtime/latency.js';

export interface ExitLatency {
  /** Cumulative ms per sample, depth order. */
  ms: number[];
  method: 'staged' | 'pruned';
  /** Why staged timing was not possible, when it was not. */
  note?: string;
}

export async function measureCascadeLatency(info: ModelInfo, feeds: Record<string, ort.Tensor>, opts: { threads?: number; ep?: string } = {}): Promise<ExitLatency> {
  const settings = { ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.ep ? { ep: opts.ep } : {}) };
  try {
    const split = await splitStages(info.path, info.exits.map((e) => e.name));
    const staged = await measureStageLatency(split.stages, feeds, settings);
    return { ms: staged.cumulative, method: 'staged' };
  } catch (e) {
    if (!isStudioError(e)) throw e;
    const ms = await measureExitLatency(info.path, info, feeds, settings);
    return { ms, method: 'pruned', note: e.message };
  }
}
