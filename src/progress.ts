/**
 * Progress of a long job's phases. On a big model much of a job's time goes before and after its
 * main loop (hashing the weights, making sessions, splitting, verifying, timing), so each phase
 * that can take more than a second says what it is and how far it got.
 */

export interface PhaseProgress {
  /** What is being done, in a few words ("hashing the model", "verifying stage 2 of 6"). */
  phase: string;
  done: number;
  total: number;
  /** What done and total count; samples when absent. */
  unit?: 'bytes' | 'samples' | 'steps';
}

export type OnPhase = (p: PhaseProgress) => void;
