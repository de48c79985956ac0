/** What every command handler gets: the store, a way to report progress, and a cancel signal. */
import type { Evaluation } from '../policies/evaluation.js';
import type { RunSeries, RunSummary } from '../policies/metrics.js';
import type { LearnedPolicy } from '../policies/types.js';
import type { PhaseProgress } from '../progress.js';
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

/**
 * Events a long command emits while it works; the transports forward them as they come. A
 * progress event with a `phase` is one step of a job's preparation or wrap-up (hashing,
 * making sessions, splitting, verifying, timing), counted in `unit`.
 */
export type StudioEvent =
  | { type: 'progress'; job: string; done: number; total: number; samplesPerSecond?: number; etaSeconds?: number; message?: string; phase?: string; unit?: 'bytes' | 'samples' | 'steps' }
  | { type: 'warning'; job: string; message: string }
  | { type: 'partial'; job: 'policy'; data: PolicyPartial }
  /** A long job waiting for a free slot (serve mode, the desktop): its place in line from 1, then 0 as it starts. */
  | { type: 'queue'; job: string; position: number };

/** Progress of a job's named phase, as an event of that job. */
export function phaseEvent(job: string, p: PhaseProgress): StudioEvent {
  return { type: 'progress', job, done: p.done, total: p.total, phase: p.phase, ...(p.unit ? { unit: p.unit } : {}) };
}

export interface CommandContext {
  store: Store;
  emit: (event: StudioEvent) => void;
  signal?: AbortSignal;
}
