/**
 * Messages between an inference job (calling thread) and its session worker.
 *
 * The worker owns the onnxruntime sessions: onnxruntime-node runs a batch synchronously on the
 * thread that calls it, so the job reads the next batch and turns the previous batch's scores
 * into trace features while the worker computes. Two batches in flight keep the session busy;
 * memory stays O(batch). When onnxruntime has every core, the worker reads the batches too,
 * where the data can be opened again for the price of its header (see DataSite in job.ts).
 *
 * With a profile asked for, the first batches run through the model's stages, one session per
 * exit, each stage timed (the latency profile), and then the worker swaps the stages for one
 * session of the whole model: one copy of the weights in memory at any time.
 */
import type { ErrorCode, ErrorKind } from '../errors.js';
import type { Batch, ReopenSpec } from '../data/types.js';
import type { ModelInfo } from '../model/types.js';
import type { PhaseProgress } from '../progress.js';
import type { TraceChunk } from '../store/traces.js';
import type { LatencyProfile } from './exit-latency.js';
import type { ScoreKind } from './featurize.js';

export interface ProfileRequest {
  /** Timed passes wanted (after one untimed warm-up batch). */
  passes: number;
  /** Fewest timed passes: a job with fewer batches times its last one again until it has these. */
  minPasses: number;
}

/** What the worker needs to turn scores into trace features itself (see FeatureSite in job.ts). */
export interface FeatureSpec {
  classes: number[];
  kinds: ScoreKind[];
  probs: boolean;
  chunkSamples: number;
  /** What checkScores names when a batch's scores hold NaN or infinities. */
  check: { modelPath: string; dataPath: string; exits: { name: string; classes: number }[] };
}

export type ToWorker =
  /** `data`: the worker opens the samples itself, and reads the next batch for each 'batch' message that brings none. */
  | { type: 'start'; modelPath: string; ep: string; threads: number; fetches: string[]; profile?: ProfileRequest; features?: FeatureSpec; data?: { source: ReopenSpec; batch: number } }
  | { type: 'batch'; seq: number; feeds?: Batch }
  /** The last, partial chunk of features (when the worker makes them), once every batch is done. */
  | { type: 'flush' }
  /** The latency profile, once every batch is done (the model is passed for timing exit by exit when it could not be split). */
  | { type: 'latency'; info: ModelInfo }
  | { type: 'close' };

export type FromWorker =
  /** `staged`: the first batches run as stages (a profile was asked for and the model splits at the exits). */
  | { type: 'ready'; ep: string; warnings: string[]; staged: boolean }
  /**
   * One batch done: the scores of every fetched exit, in fetch order, [n, C_k] row-major; or,
   * when the worker makes the features, the chunks of them this batch completed (often none).
   */
  | { type: 'output'; seq: number; n: number; scores?: (Float32Array | Float64Array)[]; chunks?: TraceChunk[] }
  | { type: 'flushed'; chunks: TraceChunk[]; kinds: ScoreKind[] }
  | { type: 'latency'; profile: LatencyProfile | null }
  /** A step of the worker's own work (cutting the model, making sessions, timing), for progress. */
  | ({ type: 'phase' } & PhaseProgress)
  | { type: 'error'; message: string; kind: ErrorKind; file?: string; field?: string; code?: ErrorCode };
