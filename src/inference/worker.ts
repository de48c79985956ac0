/**
 * The session worker: owns the onnxruntime sessions and runs the batches the job sends, off the
 * calling thread, so the CLI's progress bar, the server and the desktop window stay responsive
 * while a batch computes. When the job asks, it reads the batches itself too (DataSite in job.ts).
 *
 * With a profile asked for, it first cuts the model into stages at the exits and runs the first
 * batches through them, timing every stage (StageTimer): those passes are the job's own
 * inference, at its batch size, so the latency profile costs the stage sessions and nothing
 * more. Then the stages are released and one session of the whole model runs the rest. The
 * stages compute the model's own nodes, so their exits are the model's (bundles verify this
 * exactly; the tests check the traces match).
 */
import { parentPort } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { openDataset } from '../data/open.js';
import type { Batch, Dataset, ReopenSpec } from '../data/types.js';
import { isStudioError, StudioError } from '../errors.js';
import { measureExitLatency } from '../model/latency.js';
import { createSession, type SessionSettings } from '../model/split-run.js';
import { splitStages } from '../model/split.js';
import { summarizePasses } from '../model/timing.js';
import type { PhaseProgress } from '../progress.js';
import { StageTimer } from '../runtime/latency.js';
import type { TraceChunk } from '../store/traces.js';
import type { LatencyProfile } from './exit-latency.js';
import { Featurizer } from './featurize.js';
import { checkScores } from './nonfinite.js';
import { usableProvider } from './providers.js';
import type { FeatureSpec, FromWorker, ProfileRequest, ToWorker } from './protocol.js';
import { outputAsFloat, toFeeds } from './tensors.js';

const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);
const phase = (p: PhaseProgress): void => post({ type: 'phase', ...p });

/** Timing the first batches as stages, until the profile has its passes. */
interface Profiling {
  timer: StageTimer;
  want: ProfileRequest;
  /** ms of each stage, per timed pass. */
  passes: number[][];
  /** Samples in a timed pass: the first batch's size (a smaller last batch is not timed). */
  batch: number;
  /** The last batch run as stages, for extra passes when the job is short. */
  last: Record<string, ort.Tensor> | undefined;
  /** Seconds spent cutting the model and making the stage sessions. */
  prepSeconds: number;
}

let modelPath = '';
let settings: SessionSettings = {};
let fetches: string[] = [];
let session: ort.InferenceSession | undefined;
let profiling: Profiling | undefined;
/** The profile, once the stages are done with. */
let profile: LatencyProfile | null = null;
/** Why the stages could not be timed (the profile is then timed exit by exit at the end). */
let splitNote: string | undefined;
/** The first batch, kept for timing exit by exit when the model does not split. */
let firstFeeds: Record<string, ort.Tensor> | undefined;
/** Features made here, when the job asked (onnxruntime has every core: see FeatureSite in job.ts). */
let features: { featurizer: Featurizer; spec: FeatureSpec; samples: number } | undefined;
/** Chunks of features completed and not yet sent. */
let done: TraceChunk[] = [];
/**
 * Wall ms and samples of the batches run as stages, and of those the whole model ran after its
 * first: the stages' passes are inference, but slower than the model's (hand-overs, features,
 * sessions that do not spin), and that difference is part of what the profile cost the job.
 */
const ran = { stagedMs: 0, stagedSamples: 0, modelMs: 0, modelSamples: 0, modelWarm: false };
/** The data, when the job asked this thread to read it (see DataSite in job.ts). */
let data: { dataset: Dataset; batches: AsyncIterator<Batch> } | undefined;

// Messages are handled one at a time, in order: the job relies on outputs coming back in batch order.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: ToWorker) => {
  queue = queue.then(() => handle(m)).catch((e: unknown) => {
    post({
      type: 'error',
      message: (e as Error).message,
      kind: isStudioError(e) ? e.kind : 'internal',
      ...(isStudioError(e) && e.file ? { file: e.file } : {}),
      ...(isStudioError(e) && e.field ? { field: e.field } : {}),
      ...(isStudioError(e) && e.code ? { code: e.code } : {}),
    });
  });
});

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'start': {
      const warnings: string[] = [];
      modelPath = m.modelPath;
      fetches = m.fetches;
      settings = { ep: await usableProvider(m.ep, m.modelPath, warnings), threads: m.threads };
      if (m.features) {
        const f = m.features;
        // The featurizer refills its buffers after each chunk: a completed chunk is copied out at once.
        features = { featurizer: new Featurizer(f.classes, f.kinds, f.probs, f.chunkSamples, (chunk) => done.push(copyChunk(chunk))), spec: f, samples: 0 };
      }
      if (m.data) data = await openData(m.data.source, m.data.batch);
      if (m.profile) profiling = await startStages(m.profile);
      if (!profiling) session = await fullSession();
      post({ type: 'ready', ep: settings.ep!, warnings, staged: profiling !== undefined });
      return;
    }
    case 'batch': {
      const batch = m.feeds ?? (await nextBatch());
      const feeds = toFeeds(batch);
      const first = Object.values(batch)[0];
      const n = first ? first.dims[0]! : 0;
      if (profiling) {
        const t0 = performance.now();
        const scores = await stagedBatch(profiling, feeds, n);
        ran.stagedMs += performance.now() - t0;
        ran.stagedSamples += n;
        output(m.seq, n, scores);
        if (profiling.passes.length >= profiling.want.passes) await finishStages(profiling);
        return;
      }
      firstFeeds ??= feeds;
      if (!session) {
        phase({ phase: 'loading the model', done: 0, total: 1, unit: 'steps' });
        session = await fullSession();
      }
      const t0 = performance.now();
      const out = await session.run(feeds, fetches);
      const scores = fetches.map((name) => outputAsFloat(out[name]!, name));
      // The model's first batch warms its session up: not a fair rate to hold the stages to.
      if (ran.modelWarm) {
        ran.modelMs += performance.now() - t0;
        ran.modelSamples += n;
      }
      ran.modelWarm = true;
      output(m.seq, n, scores);
      return;
    }
    case 'flush': {
      features!.featurizer.flush();
      const chunks = done;
      done = [];
      port.postMessage({ type: 'flushed', chunks, kinds: features!.featurizer.kinds } satisfies FromWorker, chunkBuffers(chunks));
      return;
    }
    case 'latency': {
      if (profiling) await finishStages(profiling);
      else if (!profile && firstFeeds && splitNote !== undefined) profile = await prunedProfile(m.info);
      if (profile?.method === 'staged' && ran.modelSamples > 0) {
        const beyond = ran.stagedMs - (ran.stagedSamples * ran.modelMs) / ran.modelSamples;
        profile = { ...profile, seconds: profile.seconds + Math.max(0, beyond) / 1000 };
      }
      post({ type: 'latency', profile });
      return;
    }
    case 'close':
      await data?.dataset.close();
      await profiling?.timer.release();
      await session?.release();
      session = undefined;
      port.close();
      return;
  }
}

/** A batch's scores to the job, or the features they make, whichever the job asked for. */
function output(seq: number, n: number, scores: (Float32Array | Float64Array)[]): void {
  if (!features) return post({ type: 'output', seq, n, scores });
  const { check } = features.spec;
  checkScores(check.modelPath, check.dataPath, check.exits, scores, features.samples, n);
  features.samples += n;
  features.featurizer.add(scores, n);
  const chunks = done;
  done = [];
  port.postMessage({ type: 'output', seq, n, chunks } satisfies FromWorker, chunkBuffers(chunks));
}

function copyChunk(chunk: TraceChunk): TraceChunk {
  const out: TraceChunk = {};
  for (const [k, v] of Object.entries(chunk) as [keyof TraceChunk, NonNullable<TraceChunk[keyof TraceChunk]>][]) out[k] = v.slice();
  return out;
}

/** The chunks' own buffers (copies made here), moved to the job rather than copied again. */
function chunkBuffers(chunks: TraceChunk[]): ArrayBuffer[] {
  return chunks.flatMap((c) => Object.values(c).map((v) => v.buffer as ArrayBuffer));
}

/** The samples the job validated, opened again here: the same count, or the file changed in between. */
async function openData(source: ReopenSpec, batch: number): Promise<{ dataset: Dataset; batches: AsyncIterator<Batch> }> {
  const whole = await openDataset(source.path, source.inputs, source.options);
  const dataset = source.first === 0 && source.samples === whole.samples ? whole : whole.slice(source.first, source.samples);
  if (dataset.samples !== source.samples) {
    await whole.close();
    throw new StudioError(`${source.path}: the data changed while the job started (${whole.samples} samples, ${source.samples} expected)`, { kind: 'input', file: source.path });
  }
  return { dataset, batches: dataset.batches(batch)[Symbol.asyncIterator]() };
}

/** The next batch of the data this thread reads. */
async function nextBatch(): Promise<Batch> {
  const r = await data?.batches.next();
  if (!r || r.done) throw new StudioError('the job asked for a batch past the end of the data', { kind: 'internal' });
  return r.value;
}

function fullSession(): Promise<ort.InferenceSession> {
  return createSession({ path: modelPath }, settings);
}

/** The stage sessions, or undefined (with the reason kept) when the model does not split at the exits. */
async function startStages(want: ProfileRequest): Promise<Profiling | undefined> {
  const t0 = performance.now();
  try {
    phase({ phase: 'cutting the model into stages', done: 0, total: 2, unit: 'steps' });
    const split = await splitStages(modelPath, fetches);
    phase({ phase: 'making the stage sessions', done: 1, total: 2, unit: 'steps' });
    // The stages as cut from the model, not re-cut for this CPU (split-optimize.ts): the re-cut
    // makes and verifies a dozen sessions, and a 50,000-sample job on the sample model ran at
    // 0.805 of the bare loop with it against 0.877 without (one run, loaded 2-core machine).
    // Only convolution stages differ (their NCHWc hand-overs: all stages cost 1.19x the model as
    // cut, 1.10x re-cut, on the sample), and the profile says which stages it timed.
    const timer = await StageTimer.create(split.stages, { ...settings, optimize: false });
    return { timer, want, passes: [], batch: 0, last: undefined, prepSeconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    if (!isStudioError(e)) throw e;
    splitNote = e.message;
    return undefined;
  }
}

/** One batch through the stages: the exits' scores in fetch order; timed unless it is the warm-up or a short last batch. */
async function stagedBatch(p: Profiling, feeds: Record<string, ort.Tensor>, n: number): Promise<(Float32Array | Float64Array)[]> {
  const pass = await p.timer.pass(feeds);
  if (p.batch === 0) p.batch = n; // the first pass warms the sessions up: not timed
  else if (n === p.batch) p.passes.push(pass.ms);
  if (n === p.batch) p.last = feeds;
  return pass.exits.map((t, k) => outputAsFloat(t, fetches[k]!));
}

/**
 * Extra passes when the job was short, the profile summarized, the stages released. The whole
 * model is loaded by the next batch, if one comes: never both in memory at once.
 */
async function finishStages(p: Profiling): Promise<void> {
  const t0 = performance.now();
  while (p.passes.length < p.want.minPasses && p.last) {
    phase({ phase: 'timing the stages', done: p.passes.length, total: p.want.minPasses, unit: 'steps' });
    p.passes.push((await p.timer.pass(p.last)).ms);
  }
  const extraSeconds = (performance.now() - t0) / 1000;
  if (p.passes.length) {
    profile = {
      ...summarizePasses(p.passes, p.batch),
      method: 'staged',
      layout: p.timer.layout,
      inputs: 'inference',
      ep: settings.ep ?? 'cpu',
      threads: settings.threads ?? null,
      seconds: p.prepSeconds + extraSeconds,
    };
  }
  await p.timer.release();
  profiling = undefined;
}

/** Exit by exit as pruned models, on the first batch: for a model the stages cannot be cut from. */
async function prunedProfile(info: Extract<ToWorker, { type: 'latency' }>['info']): Promise<LatencyProfile> {
  phase({ phase: 'timing the exits one by one', done: 0, total: 1, unit: 'steps' });
  const t0 = performance.now();
  const summary = await measureExitLatency(modelPath, info, firstFeeds!, settings);
  return { ...summary, method: 'pruned', inputs: 'inference', ep: settings.ep ?? 'cpu', threads: settings.threads ?? null, seconds: (performance.now() - t0) / 1000, note: splitNote! };
}
