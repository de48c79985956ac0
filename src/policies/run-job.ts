/** Runs one policy's multi-seed replay in a worker thread, with progress, live partial results and cancel. */
import { Worker } from 'node:worker_threads';
import { CancelledError, StudioError } from '../errors.js';
import type { Trace } from '../trace/types.js';
import type { RunResult } from './run.js';
import type { ReplayMessage, ReplayStart, WorkerRunOptions } from './worker-protocol.js';

export interface ReplayHooks {
  onProgress?: (p: { seedsDone: number; seeds: number }) => void;
  onPartial?: (r: RunResult) => void;
  signal?: AbortSignal;
}

export function runPolicyInWorker(trace: Trace, spec: string, options: WorkerRunOptions, hooks: ReplayHooks = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const data: ReplayStart = { trace, spec, options };
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
      else if (m.type === 'done') finish(() => resolve(m.result));
      else finish(() => reject(new StudioError(m.message, { kind: m.kind })));
    });
    worker.on('error', (e) => finish(() => reject(new StudioError(`replay worker failed: ${e.message}`, { kind: 'runtime', cause: e }))));
    worker.on('exit', (code) => finish(() => reject(new StudioError(`replay worker exited early (code ${code})`, { kind: 'runtime' }))));
  });
}
