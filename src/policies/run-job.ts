/**
 * Runs one policy's multi-seed replay on the process's seed pool (seed-pool.ts),
 * with progress, live partial results and cancel. The trace crosses to the
 * workers without a copy: its arrays are views on SharedArrayBuffers (a
 * SharedArrayBuffer in a message is shared, not cloned), so every policy and
 * seed of a run reads one trace. Workers only read it.
 *
 * This thread keeps, per run, each seed's summary and what it learned, and
 * the live charts' means and bands (a few numbers per chart point): never
 * every seed's series, which go to the store as each seed completes.
 */
import { StudioError } from '../errors.js';
import { isShared, toShared } from '../store/blobs.js';
import type { StoredSeed } from '../store/seed-record.js';
import type { Trace } from '../trace/types.js';
import { SeriesBands } from './metrics.js';
import { partialResult, prepare, runOutcome, type RunResult, type SeedOutcome, type SeedResult } from './run.js';
import { seedPool, workersFor } from './seed-pool.js';
import type { WorkerRunOptions } from './worker-protocol.js';

export interface ReplayHooks {
  onProgress?: (p: { seedsDone: number; seeds: number }) => void;
  /** The result over the seeds done so far, at most every PARTIAL_EVERY_MS as seeds complete: means and bands only (perSeed is empty). */
  onPartial?: (r: RunResult) => void;
  /** Each seed replayed, as it completes, ready to save (an interrupted run resumes from the saved ones). */
  onSeed?: (r: StoredSeed) => void;
  signal?: AbortSignal;
}

/** A run's result without its series: those are in the seeds handed to onSeed (the store aggregates them when read). */
export type JobResult = Omit<RunResult, 'series'>;

let runs = 0;

/** Least time between two partial results of a run: live charts need no more, and each costs a pass over the chart's points. */
const PARTIAL_EVERY_MS = 250;

const BIG_FIELDS = ['pred', 'maxProb', 'entropy', 'margin', 'probs', 'labels', 'costs'] as const;

/** Shared copies of traces that were not loaded shared (made once per trace object, reused by every worker). */
const sharedCopies = new WeakMap<Trace, { from: Trace; shared: Trace }>();

/** True when every array of the trace is SharedArrayBuffer-backed. */
export function isSharedTrace(trace: Trace): boolean {
  return BIG_FIELDS.every((f) => {
    const a = trace[f];
    return a === undefined || isShared(a);
  });
}

/**
 * The trace with every array on a SharedArrayBuffer: the trace itself when it
 * is already (TraceStore.load makes them so), else one shared copy per trace
 * object, kept while the trace lives, so N workers cost one copy instead of N.
 * Traces are read-only once made; a copy follows a field replaced by another
 * array, not writes into an array.
 */
export function shareTrace(trace: Trace): Trace {
  if (isSharedTrace(trace)) return trace;
  const cached = sharedCopies.get(trace);
  if (cached && BIG_FIELDS.every((f) => cached.from[f] === trace[f]) && cached.from.samples === trace.samples) return cached.shared;
  const shared: Trace = { ...trace, costs: toShared(trace.costs), pred: toShared(trace.pred) };
  if (trace.maxProb) shared.maxProb = toShared(trace.maxProb);
  if (trace.entropy) shared.entropy = toShared(trace.entropy);
  if (trace.margin) shared.margin = toShared(trace.margin);
  if (trace.probs) shared.probs = toShared(trace.probs);
  if (trace.labels) shared.labels = toShared(trace.labels);
  sharedCopies.set(trace, { from: { ...trace }, shared });
  return shared;
}

/** Starts the threads a run of `seedReplays` seeds over `samples` samples is worth, while the caller still reads the trace. */
export function warmReplayThreads(seedReplays: number, samples: number): void {
  const pool = seedPool();
  pool.warm(Math.min(seedReplays, workersFor(seedReplays * samples, pool.size)));
}

/**
 * Replays `spec` over the seeds of `options` on the seed pool; seeds in
 * `resumed` (kept from an interrupted run) are taken as they are. Checks and
 * lays the run out here first, so a policy the trace cannot serve is refused
 * before any thread starts.
 */
export async function runPolicyInWorker(trace: Trace, spec: string, options: WorkerRunOptions & { resumed?: readonly SeedResult[] }, hooks: ReplayHooks = {}): Promise<JobResult> {
  const shared = shareTrace(trace);
  const { resumed, ...given } = options;
  // A calibration trace crosses to the workers shared too.
  const e = given.evaluation;
  const rest: WorkerRunOptions = e?.mode === 'cross-trace' ? { ...given, evaluation: { ...e, calibration: shareTrace(e.calibration) } } : given;
  const p = prepare(shared, spec, { ...rest, ...(resumed ? { resumed } : {}) });
  const bySeed = new Map<number, SeedOutcome>();
  const live = hooks.onPartial ? new SeriesBands(p.grid, shared.exits.length, p.labelled) : undefined;
  const total = p.seedList.length;
  let lastPartial = -Infinity;
  const seedDone = (outcome: SeedOutcome): void => {
    bySeed.set(outcome.seed, outcome);
    hooks.onProgress?.({ seedsDone: bySeed.size, seeds: total });
    const now = performance.now();
    if (live && bySeed.size < total && now - lastPartial >= PARTIAL_EVERY_MS) {
      lastPartial = now;
      hooks.onPartial!(partialResult(shared, p, [...bySeed.values()], live, options));
    }
  };
  for (const r of p.prior.values()) {
    live?.add(r.series);
    const { series: _series, ...outcome } = r;
    seedDone(outcome);
  }
  await seedPool().run({
    id: `run-${process.pid}-${++runs}`,
    task: { trace: shared, spec, options: rest },
    seeds: p.seedList.filter((s) => !p.prior.has(s)),
    // The whole trace's length: a held-out seed replays less, and fits on the rest.
    roundsPerSeed: shared.samples,
    // Online policies and baselines replay in one pass; a fitted one (EENet trains per seed) may take seconds a seed.
    quick: p.parsed.module.kind !== 'fitted',
    onSeed: (m) => {
      hooks.onSeed?.(m.stored);
      live?.add(m.series);
      seedDone(m.outcome);
    },
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  });
  if (bySeed.size !== total) throw new StudioError(`the replay finished with ${bySeed.size} of ${total} seeds`, { kind: 'internal' });
  return runOutcome(shared, p, p.seedList.map((s) => bySeed.get(s)!), options);
}
