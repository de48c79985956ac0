/** Messages between the inference job (calling thread) and its worker thread. */
import type { DatasetOptions } from '../data/types.js';
import type { ExitInfo, TensorInfo } from '../model/types.js';

export interface WorkerStart {
  type: 'start';
  modelPath: string;
  dataPath: string;
  /** The model's inputs, to validate and shape the dataset against. */
  inputs: TensorInfo[];
  /** Exits to record, depth order (already selected and ordered by the caller). */
  exits: ExitInfo[];
  dataset: DatasetOptions;
  ep: string;
  batch: number;
  threads: number;
  probs: boolean;
  /** Samples per stored chunk: bounds the worker's memory and the size of one write. */
  chunkSamples: number;
  /** Measure the per-exit latency profile on the first batch. */
  measureLatency: boolean;
}

export type WorkerMessage =
  | { type: 'ready'; samples: number; ep: string; warnings: string[] }
  | { type: 'chunk'; seq: number; samples: number; pred: Int32Array; maxProb: Float32Array; entropy: Float32Array; margin: Float32Array; probs?: Float32Array }
  | { type: 'progress'; done: number }
  | { type: 'done'; samples: number; seconds: number; kinds: ('logits' | 'probs')[]; latencyMs: number[] | null; datasetLabels: Int32Array | null; format: string }
  | { type: 'error'; message: string; kind: 'input' | 'runtime'; file?: string };
