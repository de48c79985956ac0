/**
 * Measured cost of each exit: milliseconds per sample to compute everything up to that exit.
 * Each exit runs as its own pruned model, since onnxruntime computes the whole graph whatever
 * is fetched.
 */
import * as ort from 'onnxruntime-node';
import { StudioError } from '../errors.js';
import { loadModel } from './load.js';
import { pruneToOutput } from './prune.js';
import type { ModelInfo } from './types.js';

export interface LatencyOptions {
  threads?: number;
  /** Execution provider name as onnxruntime knows it ("cpu", "cuda", ...). */
  ep?: string;
  /** Timed runs per exit after one warm-up run; the median counts (default 5). */
  repeats?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Cumulative ms per sample for each exit of `info` (in its order). A deeper exit never reports
 * less than a shallower one: it computes a superset, so a lower reading is timer noise.
 */
export async function measureExitLatency(
  path: string,
  info: ModelInfo,
  feeds: Record<string, ort.Tensor>,
  opts: LatencyOptions = {},
): Promise<number[]> {
  const first = Object.values(feeds)[0];
  const batch = first && first.dims.length > 0 ? Number(first.dims[0]) : 1;
  if (!(batch > 0)) throw new StudioError('latency: the feeds hold an empty batch', { kind: 'internal' });
  const repeats = Math.max(1, opts.repeats ?? 5);
  const loaded = await loadModel(path);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [opts.ep ?? 'cpu'],
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
  };
  const out: number[] = [];
  for (const exit of info.exits) {
    const pruned = await pruneToOutput(loaded, exit.name);
    const session = await ort.InferenceSession.create(pruned.bytes, sessionOptions).catch((e: unknown) => {
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
      const times: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        await session.run(own);
        times.push(performance.now() - t0);
      }
      out.push(median(times) / batch);
    } finally {
      await session.release();
    }
  }
  for (let k = 1; k < out.length; k++) out[k] = Math.max(out[k]!, out[k - 1]!);
  return out;
}
