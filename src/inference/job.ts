/**
 * An inference job: inspect the model, validate the dataset, run the worker,
 * store the trace chunk by chunk, and report progress. A cancelled or failed
 * job leaves no trace behind; a finished one is reused by later identical
 * requests unless forced.
 */
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { readLabels } from '../data/labels.js';
import type { ImageOptions } from '../data/types.js';
import { CancelledError, StudioError } from '../errors.js';
import { inspectModel } from '../model/inspect.js';
import { applySelection } from '../model/order.js';
import type { ModelInfo } from '../model/types.js';
import { sha256File } from '../store/assets.js';
import type { Store } from '../store/store.js';
import { normalizeCosts } from '../trace/features.js';
import type { CostSource, TraceExit } from '../trace/types.js';
import type { WorkerMessage, WorkerStart } from './protocol.js';

export interface InferRequest {
  model: string;
  data: string;
  labels?: string;
  labelColumn?: string;
  /** Exit output names to record, in depth order; default: every detected exit. */
  exits?: string[];
  ep?: string;
  batch?: number;
  threads?: number;
  limit?: number;
  probs?: boolean;
  force?: boolean;
  image?: ImageOptions;
  name?: string;
}

export interface InferProgress {
  done: number;
  total: number;
  samplesPerSecond: number;
  etaSeconds: number;
}

export interface InferResult {
  traceId: number;
  samples: number;
  exits: number;
  seconds: number;
  samplesPerSecond: number;
  exitLatencyMs: number[];
  /** True when an identical earlier inference was found and nothing ran. */
  reused: boolean;
  ep: string;
  warnings: string[];
}

export interface JobHooks {
  onProgress?: (p: InferProgress) => void;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

const CHUNK_SAMPLES = 16384;

export async function runInference(store: Store, req: InferRequest, hooks: JobHooks = {}): Promise<InferResult> {
  const modelPath = resolve(req.model);
  const dataPath = resolve(req.data);
  const batch = positiveInt(req.batch ?? 64, '--batch');
  const threads = positiveInt(req.threads ?? Math.max(1, cpus().length), '--threads');
  if (req.limit !== undefined) positiveInt(req.limit, '--limit');

  const info = await inspectModel(modelPath);
  const exits = req.exits ? applySelection(info, req.exits) : info.exits;
  const [dataSha, labelsSha] = await Promise.all([
    sha256File(dataPath).catch(() => ''),
    req.labels ? sha256File(resolve(req.labels)).catch(() => '') : Promise.resolve(''),
  ]);
  const key = traceKey(info, exits.map((e) => e.name), dataSha, labelsSha, req);
  if (!req.force) {
    const found = store.traces.findByKey(key);
    if (found && (!req.probs || found.hasProbs)) {
      return {
        traceId: found.id, samples: found.samples, exits: found.exits.length, seconds: 0, samplesPerSecond: 0,
        exitLatencyMs: found.exits.map((e) => e.latencyMs ?? 0), reused: true, ep: req.ep ?? 'cpu', warnings: [],
      };
    }
  }
  if (req.probs && new Set(exits.map((e) => e.classes)).size > 1) {
    throw new StudioError(`${modelPath}: --probs needs every exit to have the same number of classes; found ${exits.map((e) => `${e.name}: ${e.classes}`).join(', ')}`, { file: modelPath });
  }

  const modelId = store.assets.upsertModel(modelPath, info.sha256, info);
  const traceExits: TraceExit[] = exits.map((e) => ({ name: e.name, macs: e.macs }));
  const classes = Math.max(...exits.map((e) => e.classes));
  const traceId = store.traces.begin({
    name: req.name ?? `${basename(modelPath)} on ${basename(dataPath)}`,
    source: 'inference', modelId, samples: 0, classes, exits: traceExits,
    costs: exits.map(() => 1), costSource: 'uniform', hasConfidence: true, hasProbs: req.probs === true, hasLabels: false,
  });

  const start: WorkerStart = {
    type: 'start', modelPath, dataPath, inputs: info.inputs, exits, ep: req.ep ?? 'cpu', batch, threads,
    probs: req.probs === true, chunkSamples: CHUNK_SAMPLES, measureLatency: true,
    dataset: { ...(req.limit !== undefined ? { limit: req.limit } : {}), ...(req.image ? { image: req.image } : {}), ...(req.labelColumn ? { labelColumn: req.labelColumn } : {}) },
  };
  try {
    const out = await driveWorker(start, traceId, store, hooks);
    let labels: Int32Array | undefined = out.datasetLabels ?? undefined;
    if (req.labels) labels = await readLabels(resolve(req.labels), out.samples);
    if (labels) {
      if (labels.length !== out.samples) {
        throw new StudioError(`${req.labels ?? dataPath}: ${labels.length} labels for ${out.samples} samples`, { file: req.labels ?? dataPath });
      }
      store.traces.append(traceId, 0, { labels });
    }
    const latency = out.latencyMs ?? [];
    traceExits.forEach((e, k) => {
      if (latency[k] !== undefined) e.latencyMs = latency[k];
    });
    const { costs, costSource } = defaultCosts(traceExits);
    const datasetId = store.assets.upsertDataset(dataPath, dataSha, out.format, out.samples);
    store.traces.finish(traceId, {
      key, datasetId, samples: out.samples, exits: traceExits, costs, costSource, hasLabels: labels !== undefined,
      meta: { ep: out.ep, batch, threads, kinds: out.kinds, probs: req.probs === true, limit: req.limit ?? null, warnings: out.warnings },
    });
    return {
      traceId, samples: out.samples, exits: exits.length, seconds: out.seconds,
      samplesPerSecond: out.seconds > 0 ? out.samples / out.seconds : 0, exitLatencyMs: latency, reused: false, ep: out.ep, warnings: out.warnings,
    };
  } catch (e) {
    store.traces.abort(traceId);
    throw e;
  }
}

interface WorkerOutcome {
  samples: number;
  seconds: number;
  kinds: ('logits' | 'probs')[];
  latencyMs: number[] | null;
  datasetLabels: Int32Array | null;
  format: string;
  ep: string;
  warnings: string[];
}

function driveWorker(start: WorkerStart, traceId: number, store: Store, hooks: JobHooks): Promise<WorkerOutcome> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(new URL('./worker.js', import.meta.url));
    let total = 0;
    let ep = start.ep;
    let warnings: string[] = [];
    const t0 = performance.now();
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      hooks.signal?.removeEventListener('abort', onAbort);
      f();
      void worker.terminate();
    };
    const onAbort = (): void => finish(() => reject(new CancelledError('inference')));
    if (hooks.signal?.aborted) return onAbort();
    hooks.signal?.addEventListener('abort', onAbort);

    worker.on('message', (m: WorkerMessage) => {
      if (settled) return;
      try {
        switch (m.type) {
          case 'ready':
            total = m.samples;
            ep = m.ep;
            warnings = m.warnings;
            for (const w of m.warnings) hooks.onWarning?.(w);
            break;
          case 'chunk': {
            const chunk = { pred: m.pred, maxProb: m.maxProb, entropy: m.entropy, margin: m.margin, ...(m.probs ? { probs: m.probs } : {}) };
            store.traces.append(traceId, m.seq, chunk);
            break;
          }
          case 'progress': {
            const secs = (performance.now() - t0) / 1000;
            const rate = secs > 0 ? m.done / secs : 0;
            hooks.onProgress?.({ done: m.done, total, samplesPerSecond: rate, etaSeconds: rate > 0 ? (total - m.done) / rate : 0 });
            break;
          }
          case 'done':
            finish(() => resolvePromise({ ...m, ep, warnings }));
            break;
          case 'error':
            finish(() => reject(new StudioError(m.message, { kind: m.kind, ...(m.file ? { file: m.file } : {}) })));
            break;
        }
      } catch (e) {
        finish(() => reject(e));
      }
    });
    worker.on('error', (e) => finish(() => reject(new StudioError(`inference worker failed: ${e.message}`, { kind: 'runtime', cause: e }))));
    worker.on('exit', (code) => finish(() => reject(new StudioError(`inference worker exited early (code ${code})`, { kind: 'runtime' }))));
    worker.postMessage(start);
  });
}

/** MACs when the graph gave them, else measured latency, else equal steps. */
function defaultCosts(exits: TraceExit[]): { costs: number[]; costSource: CostSource } {
  const macs = exits.map((e) => e.macs ?? 0);
  if (macs[macs.length - 1]! > 0 && macs.every((m, i) => i === 0 || m >= macs[i - 1]!)) {
    return { costs: Array.from(normalizeCosts(macs)), costSource: 'macs' };
  }
  const lat = exits.map((e) => e.latencyMs ?? 0);
  if (lat[lat.length - 1]! > 0) {
    // Measured timings are noisy: keep them cumulative (non-decreasing).
    for (let i = 1; i < lat.length; i++) lat[i] = Math.max(lat[i]!, lat[i - 1]!);
    return { costs: Array.from(normalizeCosts(lat)), costSource: 'latency' };
  }
  return { costs: exits.map((_, i) => (i + 1) / exits.length), costSource: 'uniform' };
}

function traceKey(info: ModelInfo, exits: string[], dataSha: string, labelsSha: string, req: InferRequest): string {
  const identity = { model: info.sha256, data: dataSha, exits, labels: labelsSha, limit: req.limit ?? null, image: req.image ?? null, labelColumn: req.labelColumn ?? null };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

function positiveInt(v: number, flag: string): number {
  if (!Number.isInteger(v) || v < 1) throw new StudioError(`${flag} must be a positive whole number; got ${v}`);
  return v;
}

function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}
