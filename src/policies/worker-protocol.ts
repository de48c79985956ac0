/** Messages between a replay job and its worker thread. */
import type { ErrorKind } from '../errors.js';
import type { Trace } from '../trace/types.js';
import type { RunOptions, RunResult, SeedResult } from './run.js';

/** Options that cross the thread boundary (no callbacks, no signal). */
export type WorkerRunOptions = Omit<RunOptions, 'onProgress' | 'onPartial' | 'onSeed' | 'signal'>;

export interface ReplayStart {
  /**
   * Its arrays are views on SharedArrayBuffers (see shareTrace in run-job.ts):
   * structured cloning shares them with the worker instead of copying, so
   * the worker must only read them.
   */
  trace: Trace;
  spec: string;
  options: WorkerRunOptions;
}

export type ReplayMessage =
  | { type: 'progress'; seedsDone: number; seeds: number }
  | { type: 'partial'; result: RunResult }
  | { type: 'seed'; result: SeedResult }
  | { type: 'done'; result: RunResult }
  | { type: 'error'; message: string; kind: ErrorKind };
