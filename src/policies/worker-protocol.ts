/** Messages between the seed pool (seed-pool.ts) and its replay worker threads (run-worker.ts). */
import type { ErrorKind } from '../errors.js';
import type { Trace } from '../trace/types.js';
import type { StoredSeed } from '../store/seed-record.js';
import type { SeedSeries } from './metrics.js';
import type { RunOptions, SeedOutcome } from './run.js';

/** Options that cross the thread boundary (no callbacks, no signal, no resumed seeds: those never reach a worker). */
export type WorkerRunOptions = Omit<RunOptions, 'onProgress' | 'onPartial' | 'onSeed' | 'signal' | 'resumed'>;

/** Replay one seed of one policy run. */
export interface SeedTask {
  type: 'seed';
  /** The pool's id of this task. */
  task: number;
  /** The run this seed belongs to: a worker lays a run out once (prepare) and reuses it for its next seeds. */
  run: string;
  /**
   * Its arrays are views on SharedArrayBuffers (see shareTrace in run-job.ts):
   * structured cloning shares them with the worker instead of copying, so
   * the worker must only read them.
   */
  trace: Trace;
  spec: string;
  options: WorkerRunOptions;
  seed: number;
}

/** A seed replayed: what the run aggregates, and the row the store writes as it is. */
export interface SeedDone {
  type: 'done';
  task: number;
  outcome: SeedOutcome;
  series: SeedSeries;
  stored: StoredSeed;
}

export type WorkerMessage = SeedDone | { type: 'error'; task: number; message: string; kind: ErrorKind };
