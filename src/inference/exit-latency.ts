/**
 * The latency cost model: cumulative ms per sample to reach each exit, as a deployment pays it.
 * Measured by running the model as stages (what an exported bundle runs: exit k costs stages
 * 1..k, features and hand-overs included); a model that cannot be split is timed exit by exit as
 * pruned models instead, and the profile says which.
 *
 * An inference job times the stages on its own first batches (worker.ts): the passes are real
 * inference, at the job's batch size, so the profile costs only the stage sessions, not extra
 * runs of the model. measureCascadeLatency is the same measurement on demand (the Model screen),
 * on inputs made up from the model's declared shapes.
 */
import type * as ort from 'onnxruntime-node';
import { isStudioError } from '../errors.js';
import { measureExitLatency } from '../model/latency.js';
import { splitStages } from '../model/split.js';
import type { LatencyProfile } from '../model/timing.js';
import type { ModelInfo } from '../model/types.js';
import { measureStageLatency } from '../runtime/latency.js';

export type { LatencyProfile } from '../model/timing.js';

export interface CascadeOptions {
  threads?: number;
  ep?: string;
  repeats?: number;
}

/** The profile of `info`'s exits on the batch `feeds`, timed as stages when the model splits there. */
export async function measureCascadeLatency(info: ModelInfo, feeds: Record<string, ort.Tensor>, opts: CascadeOptions = {}): Promise<LatencyProfile> {
  const settings = { ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.ep ? { ep: opts.ep } : {}), ...(opts.repeats ? { repeats: opts.repeats } : {}) };
  const common = { inputs: 'synthetic' as const, ep: opts.ep ?? 'cpu', threads: opts.threads ?? null };
  const t0 = performance.now();
  try {
    const split = await splitStages(info.path, info.exits.map((e) => e.name));
    const staged = await measureStageLatency(split.stages, feeds, settings);
    const { ms, q1, q3, repeats, batch, layout } = staged;
    return { ms, q1, q3, repeats, batch, method: 'staged', layout, ...common, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    if (!isStudioError(e)) throw e;
    const summary = await measureExitLatency(info.path, info, feeds, settings);
    return { ...summary, method: 'pruned', ...common, seconds: (performance.now() - t0) / 1000, note: e.message };
  }
}
