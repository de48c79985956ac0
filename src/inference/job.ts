/**
 * An inference job: inspect the model, validate the dataset, run the worker,
 * store the trace chunk by chunk, and report progress. A cancelled or failed
 * job leaves no trace behind; a finished one is reused by later identical
 * requests unless forced.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { checkLabelClasses, readLabels } from '../data/labels.js';
import { effectiveBatchSize } from '../data/dataset.js';
import { openDataset } from '../data/open.js';
import type { Dataset, DatasetOptions, ImageOptions } from '../data/types.js';
import { CancelledError, StudioError, inputError } from '../errors.js';
import { inspectModel } from '../model/inspect.js';
import { applySelection } from '../model/order.js';
import type { ModelInfo } from '../model/types.js';
import { sha256Path, sizeOfPath, type HashMemo } from '../hash.js';
import { byteProgress, type OnPhase } from '../progress.js';
import type { Store } from '../store/store.js';
import type { TraceChunk } from '../store/traces.js';
import { defaultCosts } from '../trace/costs.js';
import { firstSample } from './first-sample.js';
import { shardPlace, type ShardPlace, type ShardSpec } from '../trace/shards.js';
import type { TraceExit } from '../trace/types.js';
import { digestFiles, filesBytes } from '../model/digest.js';
import type { ToWorker } from './protocol.js';
import { SessionWorker } from './session-worker.js';
import type { LatencyProfile } from './exit-latency.js';
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
}

export interface InferResult {
  traceId: number;
  samples: number;
  exits: number;
  /** Seconds of the inference loop (every batch through the model); `jobSeconds` is the whole job. */
  seconds: number;
  samplesPerSecond: number;
  /** The latency profile's medians (cumulative ms per sample to each exit); [] when none was measured. */
  exitLatencyMs: number[];
  /** The latency profile: what was timed, its spread, and what it cost the job. */
  latency: LatencyProfile | null;
  /** Wall seconds of the whole job: hashing, sessions, inference, profile, storing. */
  jobSeconds: number;
  /** onnxruntime's intra-op threads, and why that many (asked for, or the default's reason). */
  threads: number;
  threadsWhy: string;
  /** Which thread read the batches and which made the features: this one ('job') or the session worker (FeatureSite, DataSite). */
  pipeline: { reads: DataSite; features: FeatureSite };
  /** True when an identical earlier inference was found and nothing ran. */
  reused: boolean;
  ep: string;
  warnings: string[];
  /** Where the recorded shard lies in the dataset, when one was asked for. */
  shard?: ShardPlace;
}

export interface JobHooks {
  onProgress?: (p: InferProgress) => void;
  /** Steps before and after the inference loop (hashing, cutting, making sessions, timing). */
  onPhase?: OnPhase;
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
  const tJob = performance.now();
  const modelPath = resolve(req.model);
  const dataPath = resolve(req.data);
  const batch = positiveInt(req.batch ?? 64, 'batch');
  const auto = defaultThreads();
  const threads = req.threads !== undefined ? positiveInt(req.threads, 'threads') : auto.threads;
  const threadsWhy = req.threads !== undefined ? 'as asked' : auto.why;
  if (req.limit !== undefined) positiveInt(req.limit, 'limit');

  // Validates --ep up front (an unknown name is bad input); a missing provider falls back in the worker.
  chooseProvider(req.ep ?? 'cpu');
  const reading: DatasetOptions = {
    ...(req.image ? { image: req.image } : {}),
    ...(req.labelColumn ? { labelColumn: req.labelColumn } : {}),
    ...(req.allowNonFinite ? { allowNonFinite: true } : {}),
  };
  // The MACs are counted at the data's own shapes (a symbolic sequence length or image side takes
  // the first sample's value), so the trace's costs are those of the data it records. The model is
  // hashed below, beside the worker making its sessions.
  const info = await inspectModel(modelPath, { hash: false, sample: firstSample(dataPath, reading) });
  const selected = req.exits ? applySelection(info, req.exits) : info;
  const exits = selected.exits;
  if (req.probs && new Set(exits.map((e) => e.classes)).size > 1) {
    throw new StudioError(`${modelPath}: keeping the class scores needs every exit to have the same number of classes; found ${exits.map((e) => `${e.name}: ${e.classes}`).join(', ')}`, { kind: 'input', file: modelPath, field: 'probs' });
  }
  // Opening the dataset validates it against the model's inputs: bad data fails here, before any work.
  const whole = await openDataset(dataPath, selected.inputs, { ...reading, ...(req.limit !== undefined ? { limit: req.limit } : {}) });
  // A shard reads only its block of samples; labels are checked against the whole dataset, then cut the same way.
  const shard = req.shard ? shardPlace(req.shard, whole.samples) : undefined;
  const dataset = shard ? whole.slice(shard.first, shard.samples) : whole;
  let traceId: number | undefined;
  // A model first seen by a run that fails is forgotten again: a failed run stores nothing.
  let newModelId: number | undefined;
  let worker: SessionWorker | undefined;
  // Hashes the job makes are kept for later jobs once it succeeds: a failed job stores nothing.
  const hashes = store.fileHashes.pending();
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
    // The worker cuts the model and makes its sessions (a core's work) while this thread hashes
    // the model and the data (another core's); if an identical trace is stored, it goes unused.
    const site = featureSite(threads);
    const o: DriveOptions = { modelPath, dataPath, ep: req.ep ?? 'cpu', batch, threads, probs: req.probs === true, site, reads: dataSite(site, dataset) };
    worker = SessionWorker.start(startMessage(selected, dataset, o), hooks.onPhase);
    const modelSha = await hashModel(modelPath, info.weightFiles ?? [], hooks.onPhase, hashes);
    const dataSha = await hashData(dataPath, hooks.onPhase, hashes);
    const labelsSha = req.labels ? await sha256Path(resolve(req.labels), undefined, hashes) : '';
    if (hooks.signal?.aborted) throw new CancelledError('inference');
    info.sha256 = modelSha;
    selected.sha256 = modelSha;
    const key = traceKey(info, exits.map((e) => e.name), dataSha, labelsSha, req);
    const knownModel = store.assets.modelId(modelPath, info.sha256) !== undefined;
    const traceExits: TraceExit[] = exits.map((e) => ({ name: e.name, macs: e.macs, macsSource: e.macsSource }));
    const classes = Math.max(...exits.map((e) => e.classes));
    for (let waited = false; traceId === undefined; ) {
      if (!req.force) {
        const found = store.traces.findByKey(key);
        if (found && (!req.probs || found.hasProbs)) {
          if (newModelId !== undefined) store.assets.forgetUnusedModel(newModelId);
          hashes.commit();
          return {
            traceId: found.id, samples: found.samples, exits: found.exits.length, seconds: 0, samplesPerSecond: 0,
            exitLatencyMs: found.exits.map((e) => e.latencyMs ?? 0), latency: found.latency ?? null, jobSeconds: (performance.now() - tJob) / 1000,
            threads, threadsWhy, pipeline: { reads: o.reads, features: o.site }, reused: true, ep: req.ep ?? 'cpu', warnings: [], ...(shard ? { shard } : {}),
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
    const out = await drive(store, traceId, selected, dataset, worker, o, hooks);
    if (labels) store.traces.append(traceId, 0, { labels });
    traceExits.forEach((e, k) => {
      if (out.latency?.ms[k] !== undefined) e.latencyMs = out.latency.ms[k];
    });
    const { costs, costSource } = defaultCosts(traceExits);
    const datasetId = store.assets.upsertDataset(dataPath, dataSha, dataset.format, out.samples);
    store.traces.finish(traceId, {
      key, datasetId, samples: out.samples, exits: traceExits, costs, costSource, hasLabels: labels !== undefined,
      meta: {
        macsBasis: info.macsBasis, ep: out.ep, batch, threads, kinds: out.kinds, latencyMethod: out.latency?.method ?? null, latency: out.latency,
        probs: req.probs === true, limit: req.limit ?? null, warnings: out.warnings, ...(shard ? { shard } : {}),
      },
    });
    hashes.commit();
    return {
      traceId, samples: out.samples, exits: exits.length, seconds: out.seconds,
      samplesPerSecond: out.seconds > 0 ? out.samples / out.seconds : 0, exitLatencyMs: out.latency?.ms ?? [], latency: out.latency,
      jobSeconds: (performance.now() - tJob) / 1000, threads, threadsWhy, pipeline: { reads: o.reads, features: o.site }, reused: false, ep: out.ep, warnings: out.warnings,
      ...(shard ? { shard } : {}),
    };
  } catch (e) {
    if (traceId !== undefined) store.traces.abort(traceId);
    if (newModelId !== undefined) store.assets.forgetUnusedModel(newModelId);
    throw e;
  } finally {
    await worker?.close();
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
  site: FeatureSite;
  reads: DataSite;
}

/**
 * Where the trace features are computed. With a core to spare they are computed here, beside
 * onnxruntime computing the next batch, for free. When onnxruntime has every core, work here
 * takes a core from it in the middle of its parallel loops, and the whole loop waits for that
 * thread: computing the features in the worker between two runs costs only their own time
 * (on the sample model at 2 threads, 50,000 samples, the job without its features ran 7 % faster
 * against the bare loop: 0.974 against 0.908, one run on a loaded 2-core machine).
 */
export type FeatureSite = 'job' | 'worker';

function featureSite(threads: number): FeatureSite {
  return threads >= availableParallelism() ? 'worker' : 'job';
}

/**
 * Where the batches are read. For the same reason as the features, when onnxruntime has every
 * core the worker reads them between two runs, if the data can be opened there again for the
 * price of its header (Dataset.reopen: an .npy, read at file offsets); then this thread only
 * stores chunks, a few times a job. Read here and sent, each batch woke this thread in the
 * middle of onnxruntime's parallel loops (reading, checking for NaN, posting: about 0.6 ms a
 * batch), and both of onnxruntime's threads waited for the one it took. On the sample model at
 * 2 threads, batch 256, 50,000 samples, the loop after the profile ran at 0.78 of the bare
 * loop's rate read here and 0.82 read in the worker with the faster NaN check (medians of four
 * runs side by side, on a shared 2-core machine): what is left is the worker's own serial work
 * between runs (reading, the check, the features: about 10 % of the loop).
 */
export type DataSite = 'job' | 'worker';

function dataSite(site: FeatureSite, dataset: Dataset): DataSite {
  return site === 'worker' && dataset.reopen ? 'worker' : 'job';
}

interface DriveOutcome {
  samples: number;
  seconds: number;
  kinds: ScoreKind[];
  latency: LatencyProfile | null;
  ep: string;
  warnings: string[];
}

/** Most timed passes the latency profile takes: enough for quartiles. */
const PROFILE_PASSES = 10;
/** Fewest timed passes: a job with fewer batches times its last batch again. */
const PROFILE_MIN_PASSES = 3;
/**
 * Batches of the job per timed pass, so the profile stays a small part of the job: its passes run
 * as the deployment's stages, about 3x the model's time a batch on the sample model (hand-overs,
 * each exit's features, sessions that do not spin). Ten passes were a tenth of a 50,000-sample
 * job (196 batches of 256: 0.19 s of 2 s); one per 40 batches keeps it near 5 %, and a job of
 * 400 batches or more gets all ten.
 */
const BATCHES_PER_PASS = 40;

/** Batches kept in flight: one computing in the worker while the next is read (and the last featurized, when that is done here). */
const IN_FLIGHT = 2;

/** The worker's start message: the model, its exits, and the latency profile's passes. */
function startMessage(info: ModelInfo, dataset: Dataset, o: DriveOptions): Extract<ToWorker, { type: 'start' }> {
  // The profile is timed on the first batches (after one to warm up), one per BATCHES_PER_PASS of the job, within the bounds above.
  const batches = Math.ceil(dataset.samples / effectiveBatchSize(o.batch, info.inputs));
  const passes = Math.max(PROFILE_MIN_PASSES, Math.min(PROFILE_PASSES, batches - 1, Math.ceil(batches / BATCHES_PER_PASS)));
  const profile = { passes, minPasses: PROFILE_MIN_PASSES };
  const features = {
    classes: info.exits.map((e) => e.classes), kinds: info.exits.map((e) => e.kind), probs: o.probs, chunkSamples: CHUNK_SAMPLES,
    check: { modelPath: o.modelPath, dataPath: o.dataPath, exits: info.exits.map(({ name, classes }) => ({ name, classes })) },
  };
  return {
    type: 'start', modelPath: o.modelPath, ep: o.ep, threads: o.threads, fetches: info.exits.map((e) => e.name), profile,
    ...(o.site === 'worker' ? { features } : {}),
    ...(o.reads === 'worker' ? { data: { source: dataset.reopen!, batch: o.batch } } : {}),
  };
}

async function drive(store: Store, traceId: number, info: ModelInfo, dataset: Dataset, worker: SessionWorker, o: DriveOptions, hooks: JobHooks): Promise<DriveOutcome> {
  const { ch } = worker;
  const unwatch = worker.watch(hooks.signal);
  try {
    const ready = await ch.next('ready');
    for (const w of ready.warnings) hooks.onWarning?.(w);

    let seq = 0;
    const store1 = (chunk: TraceChunk): void => store.traces.append(traceId, seq++, chunk);
    const feats = o.site === 'job' ? new Featurizer(info.exits.map((e) => e.classes), info.exits.map((e) => e.kind), o.probs, CHUNK_SAMPLES, store1) : undefined;
    const reader = o.reads === 'job' ? dataset.batches(o.batch)[Symbol.asyncIterator]() : undefined;
    // Read in the worker: a 'batch' message with no feeds asks it for its next batch.
    const batches = Math.ceil(dataset.samples / effectiveBatchSize(o.batch, info.inputs));
    let inFlight = 0;
    let exhausted = false;
    let sent = 0;
    let done = 0;
    const total = dataset.samples;
    const t0 = performance.now();
    for (;;) {
      while (!exhausted && inFlight < IN_FLIGHT) {
        const r = reader ? await reader.next() : { done: sent === batches, value: undefined };
        if (r.done) {
          exhausted = true;
          break;
        }
        ch.send({ type: 'batch', seq: sent++, ...(r.value ? { feeds: r.value } : {}) });
        inFlight++;
      }
      if (inFlight === 0) break;
      const m = await ch.next('output');
      inFlight--;
      if (feats) {
        checkScores(o.modelPath, o.dataPath, info.exits, m.scores!, done, m.n);
        feats.add(m.scores!, m.n);
      } else for (const c of m.chunks ?? []) store1(c);
      done += m.n;
      const secs = (performance.now() - t0) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      hooks.onProgress?.({ done, total, samplesPerSecond: rate, etaSeconds: rate > 0 ? (total - done) / rate : 0 });
    }
    let kinds: ScoreKind[];
    if (feats) {
      feats.flush();
      kinds = feats.kinds;
    } else {
      ch.send({ type: 'flush' });
      const f = await ch.next('flushed');
      for (const c of f.chunks) store1(c);
      kinds = f.kinds;
    }
    const seconds = (performance.now() - t0) / 1000;
    ch.send({ type: 'latency', info });
    const { profile: latency } = await ch.next('latency');
    if (latency?.note) ready.warnings.push(`latency timed exit by exit, not as stages: ${latency.note}`);
    return { samples: done, seconds, kinds, latency, ep: ready.ep, warnings: ready.warnings };
  } finally {
    unwatch();
  }
}

/**
 * The intra-op thread count when the request names none, and why: every core. The job's own
 * work (reading batches, features, storing) is a few percent of onnxruntime's, so a core kept
 * back for it would idle most of the time, while onnxruntime's kernels (convolutions, matrix
 * products) use every core they get. The features move into the worker between runs then
 * (FeatureSite), so the job's work does not stall onnxruntime's parallel loops.
 */
export function defaultThreads(): { threads: number; why: string } {
  const cores = availableParallelism();
  return { threads: cores, why: `the default: one per core (${cores}), features computed between onnxruntime's runs` };
}

/** The model's content digest (its weights included), streamed from its files unless the memo knows them, with progress. */
async function hashModel(path: string, weightFiles: string[], onPhase: OnPhase | undefined, memo: HashMemo): Promise<string> {
  if (!onPhase) return digestFiles(path, weightFiles, undefined, memo);
  return digestFiles(path, weightFiles, byteProgress(onPhase, 'hashing the model', await filesBytes([path, ...weightFiles])), memo);
}

/** The dataset's content hash, unless the memo knows it, with progress for a big file or folder. */
async function hashData(path: string, onPhase: OnPhase | undefined, memo: HashMemo): Promise<string> {
  if (!onPhase) return sha256Path(path, undefined, memo);
  return sha256Path(path, byteProgress(onPhase, 'hashing the data', sizeOfPath(path)), memo);
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
