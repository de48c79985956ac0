/**
 * The inference worker: owns the onnxruntime session and the dataset reader,
 * runs batches, turns exit outputs into trace features and posts them back
 * in chunks. Runs off the calling thread so the CLI's progress bar, the
 * server and the desktop window stay responsive.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { openDataset } from '../data/open.js';
import type { Batch } from '../data/types.js';
import { isStudioError } from '../errors.js';
import { featuresOf, rowsAreProbabilities, softmaxInto, type Features } from '../trace/features.js';
import { chooseProvider } from './providers.js';
import type { WorkerMessage, WorkerStart } from './protocol.js';
import { outputAsFloat, toFeeds } from './tensors.js';

const port = parentPort!;
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

port.once('message', (m: WorkerStart) => {
  run(m).catch((e: unknown) => {
    const err = e as Error;
    post({
      type: 'error',
      message: err.message,
      kind: isStudioError(e) && e.kind === 'input' ? 'input' : 'runtime',
      ...(isStudioError(e) && e.file ? { file: e.file } : {}),
    });
  });
});

async function createSession(m: WorkerStart, warnings: string[]): Promise<{ session: ort.InferenceSession; ep: string }> {
  const choice = chooseProvider(m.ep);
  warnings.push(...choice.warnings);
  const options = (providers: string[]): ort.InferenceSession.SessionOptions => ({
    executionProviders: providers,
    intraOpNumThreads: m.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    return { session: await ort.InferenceSession.create(m.modelPath, options(choice.providers)), ep: choice.providers[0]! };
  } catch (e) {
    if (choice.providers[0] === 'cpu') throw e;
    warnings.push(`execution provider "${choice.providers[0]}" failed to start (${(e as Error).message.split('\n')[0]}); running on cpu`);
    return { session: await ort.InferenceSession.create(m.modelPath, options(['cpu'])), ep: 'cpu' };
  }
}

async function run(m: WorkerStart): Promise<void> {
  const warnings: string[] = [];
  const { session, ep } = await createSession(m, warnings);
  const dataset = await openDataset(m.dataPath, m.inputs, m.dataset);
  post({ type: 'ready', samples: dataset.samples, ep, warnings });

  const K = m.exits.length;
  const fetches = m.exits.map((e) => e.name);
  const classes = m.exits.map((e) => e.classes);
  const C = Math.max(...classes);
  // Exits declared as logits whose first batch is already made of probability rows are read as probabilities.
  const kinds = m.exits.map((e) => e.kind);

  let chunk = newChunk(m.chunkSamples, K, m.probs ? C : 0);
  let inChunk = 0;
  let seq = 0;
  let done = 0;
  let first = true;
  let latencyMs: number[] | null = null;
  const scratch = new Float64Array(C);
  const f: Features = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  const start = performance.now();

  const flush = (): void => {
    if (inChunk === 0) return;
    const c = trimChunk(chunk, inChunk, K, m.probs ? C : 0);
    const transfer = [c.pred.buffer, c.maxProb.buffer, c.entropy.buffer, c.margin.buffer] as ArrayBuffer[];
    if (c.probs) transfer.push(c.probs.buffer as ArrayBuffer);
    post({ type: 'chunk', seq: seq++, samples: inChunk, ...c }, transfer);
    chunk = newChunk(m.chunkSamples, K, m.probs ? C : 0);
    inChunk = 0;
  };

  for await (const batch of dataset.batches(m.batch)) {
    const feeds = toFeeds(batch);
    const out = await session.run(feeds, fetches);
    const n = batchSize(batch);
    const scores = fetches.map((name) => outputAsFloat(out[name]!, name));
    if (first) {
      first = false;
      for (let k = 0; k < K; k++) {
        if (kinds[k] === 'logits' && rowsAreProbabilities(scores[k]!, n, classes[k]!)) kinds[k] = 'probs';
      }
      if (m.measureLatency) latencyMs = await measureLatency(session, feeds, fetches, n);
    }
    for (let i = 0; i < n; i++) {
      if (inChunk === m.chunkSamples) flush();
      for (let k = 0; k < K; k++) {
        const ck = classes[k]!;
        const src = scores[k]!;
        const off = i * ck;
        if (kinds[k] === 'logits') softmaxInto(src, off, ck, scratch);
        else for (let c = 0; c < ck; c++) scratch[c] = src[off + c]!;
        featuresOf(scratch, ck, f);
        const at = inChunk * K + k;
        chunk.pred[at] = f.pred;
        chunk.maxProb[at] = f.maxProb;
        chunk.entropy[at] = f.entropy;
        chunk.margin[at] = f.margin;
        if (chunk.probs) for (let c = 0; c < ck; c++) chunk.probs[at * C + c] = scratch[c]!;
      }
      inChunk++;
    }
    done += n;
    post({ type: 'progress', done });
  }
  flush();
  const seconds = (performance.now() - start) / 1000;
  await dataset.close();
  await session.release();
  post({ type: 'done', samples: done, seconds, kinds, latencyMs, datasetLabels: dataset.labels ?? null, format: dataset.format });
}

function batchSize(batch: Batch): number {
  const first = Object.values(batch)[0];
  return first ? first.dims[0]! : 0;
}

interface Chunk {
  pred: Int32Array;
  maxProb: Float32Array;
  entropy: Float32Array;
  margin: Float32Array;
  probs?: Float32Array;
}

function newChunk(samples: number, K: number, C: number): Chunk {
  const c: Chunk = {
    pred: new Int32Array(samples * K),
    maxProb: new Float32Array(samples * K),
    entropy: new Float32Array(samples * K),
    margin: new Float32Array(samples * K),
  };
  if (C > 0) c.probs = new Float32Array(samples * K * C);
  return c;
}

function trimChunk(c: Chunk, n: number, K: number, C: number): Chunk {
  const t: Chunk = {
    pred: c.pred.slice(0, n * K),
    maxProb: c.maxProb.slice(0, n * K),
    entropy: c.entropy.slice(0, n * K),
    margin: c.margin.slice(0, n * K),
  };
  if (c.probs) t.probs = c.probs.slice(0, n * K * C);
  return t;
}

/**
 * Cumulative latency per exit: the time to compute the outputs up to exit k,
 * by running with only exit k fetched (onnxruntime then skips the nodes no
 * fetched output needs). Median of a few runs, per sample.
 */
async function measureLatency(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, fetches: string[], n: number): Promise<number[]> {
  const repeats = 5;
  const result: number[] = [];
  for (const name of fetches) {
    await session.run(feeds, [name]);
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      await session.run(feeds, [name]);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    result.push(times[Math.floor(repeats / 2)]! / n);
  }
  return result;
}
