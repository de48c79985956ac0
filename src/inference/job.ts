/**
 * An inference job: inspect the model, validate the dataset, run the worker,
 * store the trace chunk by chunk, and report progress. A cancelled or failed
 * job leaves no trace behind; a finished one is reused by later identical
 * requests unless forced.
 */
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { basename, resolve } from 'node:path';
import { checkLabelClasses, readLabels } from '../data/labels.js';
import { openDataset } from '../data/open.js';
import type { Batch, Dataset, ImageOptions } from '../data/types.js';
import { CancelledError, StudioError, inputError } from '../errors.js';
import { inspectModel } from '../model/inspect.js';
import { applySelection } from '../model/order.js';
import type { ModelInfo } from '../model/types.js';
import { sha256Path } from '../store/assets.js';
import type { Store } from '../store/store.js';
import { defaultCosts } from '../trace/costs.js';
import { firstSample } from './first-sample.js';
import { shardPlace, type ShardPlace, type ShardSpec } from '../trace/shards.js';
import type { TraceExit } from '../trace/types.js';
import { copyBatch, WorkerChannel } from './channel.js';
import { chooseProvider } from './providers.js';
import { Featurizer, type ScoreKind } from './featurize.js';
import { checkScores } from './nonfinite.js';

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
  /** Record only this shard of the (limited) dataset. */
  shard?: ShardSpec;
  /** Feed NaN and Inf in the data to the model; refused by default. */
  allowNonFinite?: boolean;
}

export interface InferProgress {
  done: number;
  total: number;
  samplesPerSecond: number;
  etaSeconds: number;
  /** What is being done when it is not the pass over the data (the latency profile after it). */
  message?: string;
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
  /** Where the recorded shard lies in the dataset, when one was asked for. */
  shard?: ShardPlace;
}

export interface JobHooks {
  onProgress?: (p: InferProgress) => void;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

const CHUNK_SAMPLES = 16384;

/** How often a request waits to see whether the identical inference running elsewhere has finished. */
const WAIT_MS = 500;

/** Waits `ms`, or throws CancelledError as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError('inference'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError('inference'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runInference(store: Store, req: InferRequest, hooks: JobHooks = {}): Promise<InferResult> {
  const modelPath = resolve(req.model);
  const dataPath = resolve(req.data);
  const batch = positiveInt(req.batch ?? 64, 'batch');
  const threads = positiveInt(req.threads ?? Math.max(1, cpus().length), 'threads');
  if (req.limit !== undefined) positiveInt(req.limit, 'limit');

  // Validates --ep up front (an unknown name is bad input); a missing provider falls back in the worker.
  chooseProvider(req.ep ?? 'cpu');
  // MACs counted at the data's own input shapes (a sequence length, an image side), not at assumed ones.
  const info = await inspectModel(modelPath, {
    sample: firstSample(dataPath, {
      ...(req.image ? { image: req.image } : {}), ...(req.labelColumn ? { labelColumn: req.labelColumn } : {}), ...(req.allowNonFinite ? { allowNonFinite: true } : {}),
    }),
  });
  const selected = req.exits ? applySelection(info, req.exits) : info;
  const exits = selected.exits;
  if (req.probs && new Set(exits.map((e) => e.classes)).size > 1) {
    throw new StudioError(`${modelPath}: keeping the class scores needs every exit to have the same number of classes; found ${exits.map((e) => `${e.name}: ${e.classes}`).join(', ')}`, { kind: 'input', file: modelPath, field: 'probs' });
  }
  // Opening the dataset validates it against the model's inputs: bad data fails here, before any work.
  const whole = await openDataset(dataPath, selected.inputs, {
    ...(req.limit !== undefined ? { limit: req.limit } : {}),
    ...(req.image ? { image: req.image } : {}),
    ...(req.labelColumn ? { labelColumn: req.labelColumn } : {}),
    ...(req.allowNonFinite ? { allowNonFinite: true } : {}),
  });
  // A shard reads only its block of samples; labels are checked against the whole dataset, then cut the same way.
  const shard = req.shard ? shardPlace(req.shard, whole.samples) : undefined;
  const dataset = shard ? whole.slice(shard.first, shard.samples) : whole;
  let traceId: number | undefined;
  // A model first seen by a run that fails is forgotten again: a failed run stores nothing.
  let newModelId: number | undefined;
  try {
    if (shard?.samples === 0) throw inputError(dataPath, `shard ${shard.index}/${shard.count} of ${shard.total} samples would be empty: use at most ${shard.total} shards`);
    // Labels are checked before the run too: a bad labels file must not cost a whole inference.
    let labels: Int32Array | undefined = dataset.labels;
    if (req.labels) {
      const file = resolve(req.labels);
      // With --limit only the first labels apply; without it, the counts must match.
      labels = await readLabels(file, req.limit !== undefined ? whole.samples : undefined);
      if (labels.length !== whole.samples) throw new StudioError(`${file}: ${labels.length} labels for ${whole.samples} samples in ${dataPath}`, { kind: 'input', file, field: 'labels' });
      if (shard) labels = labels.subarray(shard.first, shard.first + shard.samples);
    }
    if (labels) checkLabelClasses(req.labels ? resolve(req.labels) : dataPath, labels, Math.max(...exits.map((e) => e.classes)));
    const [dataSha, labelsSha] = await Promise.all([sha256Path(dataPath), req.labels ? sha256Path(resolve(req.labels)) : Promise.resolve('')]);
    const key = traceKey(info, exits.map((e) => e.name), dataSha, labelsSha, req);
    const knownModel = store.assets.modelId(modelPath, info.sha256) !== undefined;
    const traceExits: TraceExit[] = exits.map((e) => ({ name: e.name, macs: e.macs, macsSource: e.macsSource }));
    const classes = Math.max(...exits.map((e) => e.classes));
    for (let waited = false; traceId === undefined; ) {
      if (!req.force) {
        const found = store.traces.findByKey(key);
        if (found && (!req.probs || found.hasProbs)) {
          if (newModelId !== undefined) store.assets.forgetUnusedModel(newModelId);
          return {
            traceId: found.id, samples: found.samples, exits: found.exits.length, seconds: 0, samplesPerSecond: 0,
            exitLatencyMs: found.exits.map((e) => e.latencyMs ?? 0), reused: true, ep: req.ep ?? 'cpu', warnings: [], ...(shard ? { shard } : {}),
          };
        }
      }
      const modelId = store.assets.upsertModel(modelPath, info.sha256, info);
      if (!knownModel) newModelId = modelId;
      // The same inference started twice at once (two windows, two shells) runs once: the second waits and reuses it.
      const started = store.traces.beginUnique({
        name: req.name ?? `${basename(modelPath)} on ${basename(dataPath)}`,
        source: 'inference', key, modelId, samples: 0, classes, exits: traceExits,
        costs: exits.map(() => 1), costSource: 'uniform', hasConfidence: true, hasProbs: req.probs === true, hasLabels: false,
      }, req.force === true);
      if ('id' in started) {
        traceId = started.id;
        break;
      }
      if (!waited) hooks.onWarning?.(`the same inference is already running (trace ${started.running}); waiting for it, to reuse its trace (forcing runs it again)`);
      waited = true;
      await pause(WAIT_MS, hooks.signal);
    }
    const out = await drive(store, traceId, selected, dataset, { modelPath, dataPath, ep: req.ep ?? 'cpu', batch, threads, probs: req.probs === true }, hooks);
    if (labels) store.traces.append(traceId, 0, { labels });
    traceExits.forEach((e, k) => {
      if (out.latencyMs[k] !== undefined) e.latencyMs = out.latencyMs[k];
    });
    const { costs, costSource } = defaultCosts(traceExits);
    const datasetId = store.assets.upsertDataset(dataPath, dataSha, dataset.format, out.samples);
    store.traces.finish(traceId, {
      key, datasetId, samples: out.samples, exits: traceExits, costs, costSource, hasLabels: labels !== undefined,
      meta: { macsBasis: info.macsBasis, ep: out.ep, batch, threads, kinds: out.kinds, latencyMethod: out.latencyMethod, probs: req.probs === true, limit: req.limit ?? null, warnings: out.warnings, ...(shard ? { shard } : {}) },
    });
    return {
      traceId, samples: out.samples, exits: exits.length, seconds: out.seconds,
      samplesPerSecond: out.seconds > 0 ? out.samples / out.seconds : 0, exitLatencyMs: out.latencyMs, reused: false, ep: out.ep, warnings: out.warnings,
      ...(shard ? { shard } : {}),
    };
  } catch (e) {
    if (traceId !== undefined) store.traces.abort(traceId);
    if (newModelId !== undefined) store.assets.forgetUnusedModel(newModelId);
    throw e;
  } finally {
    await dataset.close();
  }
}

interface DriveOptions {
  modelPath: string;
  dataPath: string;
  ep: string;
  batch: number;
  threads: number;
  probs: boolean;
}

interface DriveOutcome {
  samples: number;
  seconds: number;
  kinds: ScoreKind[];
  latencyMs: number[];
  /** How the latency profile was timed: as deployment stages, or exit by exit as pruned models. */
  latencyMethod: string | null;
  ep: string;
  warnings: string[];
}

/** Batches kept in flight: one computing in the worker while the next is read and the last featurized here. */
const IN_FLIGHT = 2;

async function drive(store: Store, traceId: number, info: ModelInfo, dataset: Dataset, o: DriveOptions, hooks: JobHooks): Promise<DriveOutcome> {
  const worker = new Worker(new URL('./worker.js', import.meta.url));
  const ch = new WorkerChannel(worker);
  const onAbort = (): void => ch.fail(new CancelledError('inference'));
  hooks.signal?.addEventListener('abort', onAbort);
  try {
    if (hooks.signal?.aborted) throw new CancelledError('inference');
    ch.send({ type: 'start', modelPath: o.modelPath, ep: o.ep, threads: o.threads, fetches: info.exits.map((e) => e.name) });
    const ready = await ch.next('ready');
    for (const w of ready.warnings) hooks.onWarning?.(w);

    let seq = 0;
    const feats = new Featurizer(info.exits.map((e) => e.classes), info.exits.map((e) => e.kind), o.probs, CHUNK_SAMPLES, (chunk) => store.traces.append(traceId, seq++, chunk));
    const batches = dataset.batches(o.batch)[Symbol.asyncIterator]();
    let firstBatch: Batch | undefined;
    let inFlight = 0;
    let exhausted = false;
    let sent = 0;
    let done = 0;
    const total = dataset.samples;
    const t0 = performance.now();
    for (;;) {
      while (!exhausted && inFlight < IN_FLIGHT) {
        const r = await batches.next();
        if (r.done) {
          exhausted = true;
          break;
        }
        firstBatch ??= copyBatch(r.value);
        ch.send({ type: 'batch', seq: sent++, feeds: r.value });
        inFlight++;
      }
      if (inFlight === 0) break;
      const m = await ch.next('output');
      inFlight--;
      checkScores(o.modelPath, o.dataPath, info.exits, m.scores, done, m.n);
      feats.add(m.scores, m.n);
      done += m.n;
      const secs = (performance.now() - t0) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      hooks.onProgress?.({ done, total, samplesPerSecond: rate, etaSeconds: rate > 0 ? (total - done) / rate : 0 });
    }
    feats.flush();
    const seconds = (performance.now() - t0) / 1000;
    let latencyMs: number[] = [];
    let latencyMethod: string | null = null;
    if (firstBatch) {
      // Timing each exit as a stage takes a while for a model of many exits: say so rather than go quiet.
      hooks.onProgress?.({ done, total, samplesPerSecond: seconds > 0 ? done / seconds : 0, etaSeconds: 0, message: `timing the latency of ${info.exits.length} exits…` });
      ch.send({ type: 'latency', info, feeds: firstBatch });
      const l = await ch.next('latency');
      latencyMs = l.ms;
      latencyMethod = l.method;
      if (l.note) ready.warnings.push(`latency timed exit by exit, not as stages: ${l.note}`);
    }
    return { samples: done, seconds, kinds: feats.kinds, latencyMs, latencyMethod, ep: ready.ep, warnings: ready.warnings };
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
    await closeWorker(worker, ch);
  }
}

/** How long a cancelled job waits for the batch in flight before the worker is stopped hard. */
const CLOSE_GRACE_MS = 60_000;

/**
 * Ends the worker by asking it to close: it finishes the batch onnxruntime is
 * running, releases the session and exits. Terminating a thread inside a
 * native onnxruntime call can abort the whole process, so termination is only
 * the last resort for a worker that does not answer.
 */
async function closeWorker(worker: Worker, ch: WorkerChannel): Promise<void> {
  try {
    ch.send({ type: 'close' });
  } catch {
    // The worker is already gone.
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), CLOSE_GRACE_MS)));
  const outcome = await Promise.race([ch.exited.then(() => 'exited' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') await worker.terminate();
}

function traceKey(info: ModelInfo, exits: string[], dataSha: string, labelsSha: string, req: InferRequest): string {
  // A shard joins the identity only when given, so the keys of whole-dataset traces stored earlier stay valid.
  const identity = {
    model: info.sha256, data: dataSha, exits, labels: labelsSha, limit: req.limit ?? null, image: req.image ?? null, labelColumn: req.labelColumn ?? null,
    ...(req.shard ? { shard: req.shard } : {}),
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

function positiveInt(v: number, field: 'batch' | 'threads' | 'limit'): number {
  if (!Number.isInteger(v) || v < 1) throw new StudioError(`${field} must be a positive whole number; got ${v}`, { kind: 'input', field });
  return v;
}
