/** What every command handler gets: the store, a way to report progress, and a cancel signal. */
import type { Evaluation } from '../policies/evaluation.js';
import type { RunSeries, RunSummary } from '../policies/metrics.js';
import type { LearnedPolicy } from '../policies/types.js';
import type { Store } from '../store/store.js';

/** One policy of a policy.run after each seed: the result over the seeds done so far, for live charts. */
export interface PolicyPartial {
  /** Position in the request's policy list. */
  index: number;
  spec: string;
  /** The policy as people read it: "EENet (budget 0.59)". */
  label: string;
  summary: RunSummary;
  /** Means and 95 % bands; every seed's values are left out (megabytes per run). */
  series: RunSeries;
  learned: LearnedPolicy;
  seedsDone: number;
  /** How its figures are obtained, and whether it read calibration data (in-sample: hindsight). */
  evaluation: Evaluation;
  usesHindsight: boolean;
}

/** Events a long command emits while it works; the transports forward them as they come. */
export type StudioEvent =
  | { type: 'progress'; job: string; done: number; total: number; samplesPerSecond?: number; etaSeconds?: number; message?: string }
  | { type: 'warning'; job: string; message: string }
  | { type: 'partial'; job: 'policy'; data: PolicyPartial }
  /** A long job waiting for a free slot (serve mode, the desktop): its place in line from 1, then 0 as it starts. */
  | { type: 'queue'; job: string; position: number };

export interface CommandContext {
  store: Store;
  emit: (event: StudioEvent) => void;
  signal?: AbortSignal;
}
