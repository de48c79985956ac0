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

/**
 * A byte counter for a phase that reads `total` bytes in chunks: reports at each whole percent
 * and at the end, not at every chunk (hashing 440 MB reads 7,000 of them, each an event to the
 * CLI, the window or a WebSocket).
 */
export function byteProgress(onPhase: OnPhase, phase: string, total: number): (n: number) => void {
  let done = 0;
  let shown = -1;
  return (n) => {
    done += n;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    if (pct === shown && done < total) return;
    shown = pct;
    onPhase({ phase, done, total, unit: 'bytes' });
  };
}
