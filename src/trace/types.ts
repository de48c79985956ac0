/**
 * The Trace: what a multi-exit model said about every sample at every exit.
 * Inference and imports produce it; policies, diagnostics and exports read it.
 *
 * Layout is sample-major (index = sample * K + exit) because a replay walks
 * one sample at a time and reads exits 1..j of it: contiguous reads keep the
 * hot loop in cache. Column-wise typed arrays, never arrays of objects.
 */

import type { MacsBasis, MacsSource } from '../model/types.js';

/** Where a trace's per-exit cost numbers came from. */
export type CostSource = 'macs' | 'latency' | 'user' | 'layers' | 'uniform';

export interface TraceExit {
  /** Output name in the model, or the column name of an imported matrix. */
  name: string;
  /** Cumulative multiply-accumulates up to and including this exit, per sample, when known. */
  macs?: number;
  /** How `macs` was counted: exact from the graph, exact from one run, or an estimate (src/model/types.ts). */
  macsSource?: MacsSource;
  /** Cumulative measured latency (ms per sample) up to this exit, when measured. */
  latencyMs?: number;
  /** The cumulative cost given for this exit at import, in the user's own unit (before normalizing). */
  givenCost?: number;
}

export interface Trace {
  /** Number of samples, N. */
  samples: number;
  /** Exits in depth order, K = exits.length >= 2. */
  exits: TraceExit[];
  /** Number of classes (max over exits when predictions are hard labels). */
  classes: number;
  /**
   * Cumulative cost per exit, normalized so the last exit costs 1.
   * Non-decreasing; `costSource` says what it was computed from.
   */
  costs: Float64Array;
  costSource: CostSource;
  /** The input shapes the exits' MACs were counted at, and how (inference only). */
  macsBasis?: MacsBasis;
  /** Predicted class, N*K, sample-major. */
  pred: Int32Array;
  /**
   * Confidence features, N*K, sample-major. Absent (undefined) for traces of
   * hard predictions (an imported class matrix): policies that need
   * confidence refuse such traces with a clear reason.
   */
  maxProb?: Float32Array;
  /** Normalized entropy in [0, 1] (entropy / ln C). */
  entropy?: Float32Array;
  /** Top-1 minus top-2 probability. */
  margin?: Float32Array;
  /** Full probability vectors, N*K*C, sample-major then exit then class; only with --probs. */
  probs?: Float32Array;
  /** True labels, length N, -1 where unknown; evaluation only. */
  labels?: Int32Array;
}

/** Identity and provenance of a stored trace. */
export interface TraceMeta {
  id: number;
  name: string;
  source: 'inference' | 'import';
  samples: number;
  exits: TraceExit[];
  classes: number;
  /** Cumulative cost per exit, normalized so the last is 1. */
  costs: number[];
  costSource: CostSource;
  /** The input shapes the exits' MACs were counted at, and how (inference only). */
  macsBasis?: MacsBasis;
  hasConfidence: boolean;
  hasProbs: boolean;
  hasLabels: boolean;
  modelPath?: string;
  modelSha256?: string;
  datasetPath?: string;
  datasetSha256?: string;
  createdAt: string;
}
