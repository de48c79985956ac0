/**
 * Measured cost of each exit when the model cannot be cut into stages: milliseconds per sample
 * to compute everything up to that exit, each exit run as its own pruned model (onnxruntime
 * computes the whole graph whatever is fetched). One pruned model is in memory at a time, and it
 * reads the model's external weights where they are (prune.ts).
 */
import type * as ort from 'onnxruntime-node';
import { StudioError } from '../errors.js';
import { loadModel } from './load.js';
import { pruneToOutput } from './prune.js';
import { createSession, type SessionSettings } from './split-run.js';
import { summarizePasses, type PassSummary } from './timing.js';
import type { ModelInfo } from './types.js';

export interface LatencyOptions extends SessionSettings {
  /** Timed runs per exit after one warm-up run (default 5). */
  repeats?: number;
}

/**
 * Cumulative ms per sample for each exit of `info` (in its order): median and quartiles over the
 * timed runs. A deeper exit never reports less than a shallower one: it computes a superset, so
 * a lower reading is timer noise (each of median, q1 and q3 is kept non-decreasing).
 */
export async function measureExitLatency(path: string, info: ModelInfo, feeds: Record<string, ort.Tensor>, opts: LatencyOptions = {}): Promise<PassSummary> {
  const first = Object.values(feeds)[0];
  const batch = first && first.dims.length > 0 ? Number(first.dims[0]) : 1;
  if (!(batch > 0)) throw new StudioError('latency: the feeds hold an empty batch', { kind: 'internal' });
  const repeats = Math.max(1, opts.repeats ?? 5);
  const loaded = await loadModel(path);
  const passes: number[][] = Array.from({ length: repeats }, () => []);
  for (const exit of info.exits) {
    const pruned = await pruneToOutput(loaded, exit.name);
    const session = await createSession({ bytes: pruned.bytes, ...(pruned.weightsDir ? { weightsDir: pruned.weightsDir } : {}) }, opts).catch((e: unknown) => {
      throw new StudioError(`${path}: onnxruntime cannot run the subgraph up to exit '${exit.name}': ${e instanceof Error ? e.message : String(e)}`, { kind: 'internal', file: path, cause: e });
    });
    try {
      const own: Record<string, ort.Tensor> = {};
      for (const name of pruned.inputs) {
        const t = feeds[name];
        if (!t) throw new StudioError(`latency: no feed for input '${name}'`, { kind: 'input' });
        own[name] = t;
      }
      await session.run(own);
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        await session.run(own);
        passes[r]!.push(performance.now() - t0);
      }
    } finally {
      await session.release();
    }
  }
  const s = summarizePasses(passes, batch, true);
  for (const xs of [s.ms, s.q1, s.q3]) for (let k = 1; k < xs.length; k++) xs[k] = Math.max(xs[k]!, xs[k - 1]!);
  return s;
}
