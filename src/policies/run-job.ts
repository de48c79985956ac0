/**
 * Runs one policy's multi-seed replay in a worker thread, with progress, live
 * partial results and cancel. The trace crosses to the worker without a copy:
 * its arrays are views on SharedArrayBuffers (a SharedArrayBuffer in
 * workerData is shared, not cloned), so several policies side by side read
 * one trace. Workers only read it.
 */
import { Worker } from 'node:worker_threads';
import { CancelledError, StudioError } from '../errors.js';
import { isShared, toShared } from '../store/blobs.js';
import type { Trace } from '../trace/types.js';
import type { RunResult, SeedResult } from './run.js';
import type { ReplayMessage, ReplayStart, WorkerRunOptions } from './worker-protocol.js';

export interface ReplayHooks {
  onProgress?: (p: { seedsDone: number; seeds: number }) => void;
  onPartial?: (r: RunResult) => void;
  /** Each seed replayed in the worker, as it completes (kept so an interrupted run can resume). */
  onSeed?: (r: SeedResult) => void;
  signal?: AbortSignal;
}

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

export function runPolicyInWorker(trace: Trace, spec: string, options: WorkerRunOptions, hooks: ReplayHooks = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // A calibration trace crosses shared too.
    const e = options.evaluation;
    const shared = e?.mode === 'cross-trace' ? { ...options, evaluation: { ...e, calibration: shareTrace(e.calibration) } } : options;
    const data: ReplayStart = { trace: shareTrace(trace), spec, options: shared };
    const worker = new Worker(new URL('./run-worker.js', import.meta.url), { workerData: data });
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      hooks.signal?.removeEventListener('abort', onAbort);
      f();
      void worker.terminate();
    };
    const onAbort = (): void => finish(() => reject(new CancelledError('the replay')));
    if (hooks.signal?.aborted) return onAbort();
    hooks.signal?.addEventListener('abort', onAbort);
    worker.on('message', (m: ReplayMessage) => {
      if (settled) return;
      if (m.type === 'progress') hooks.onProgress?.(m);
      else if (m.type === 'partial') hooks.onPartial?.(m.result);
      else if (m.type === 'seed') hooks.onSeed?.(m.result);
      else if (m.type === 'done') finish(() => resolve(m.result));
      else finish(() => reject(new StudioError(m.message, { kind: m.kind })));
    });
    worker.on('error', (e) => finish(() => reject(new StudioError(`replay worker failed: ${e.message}`, { kind: 'internal', cause: e }))));
    worker.on('exit', (code) => finish(() => reject(new StudioError(`replay worker exited early (code ${code})`, { kind: 'internal' }))));
  });
}
