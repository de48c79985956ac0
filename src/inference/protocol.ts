/**
 * Messages between an inference job (calling thread) and its session worker.
 *
 * The worker owns only the onnxruntime session: onnxruntime-node runs a batch
 * synchronously on the thread that calls it, so the job reads the next batch
 * and turns the previous batch's scores into trace features while the worker
 * computes. Two batches in flight keep the session busy; memory stays O(batch).
 */
import type { ErrorKind } from '../errors.js';
import type { Batch } from '../data/types.js';
import type { ModelInfo } from '../model/types.js';

export type ToWorker =
  | { type: 'start'; modelPath: string; ep: string; threads: number; fetches: string[] }
  | { type: 'batch'; seq: number; feeds: Batch }
  /** Measure the per-exit latency profile on one batch (after the pass, so it does not disturb its timing). */
  | { type: 'latency'; info: ModelInfo; feeds: Batch }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; ep: string; warnings: string[] }
  /** Scores of every fetched exit for one batch, in fetch order, [n, C_k] row-major. */
  | { type: 'output'; seq: number; n: number; scores: (Float32Array | Float64Array)[] }
  | { type: 'latency'; ms: number[]; method: 'staged' | 'pruned'; note?: string }
  | { type: 'error'; message: string; kind: ErrorKind; file?: string };
