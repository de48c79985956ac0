/**
 * What a deployment hands a learned rule: the exits it computes, and for one
 * sample at one exit the features a trace would hold. A rule turns these into
 * a Decider; the runtime (src/runtime) and the exporter use the same one, so
 * a deployed decision is the decision the replay made.
 */

/** What a rule knows of each exit of the deployment. */
export interface ExitShape {
  name: string;
  classes: number;
}

/** Features of one sample at one exit, as a trace would hold them. */
export interface ExitView {
  /** Probabilities (float32-rounded), length C. */
  probs: Float32Array;
  pred: number;
  maxProb: number;
  entropy: number;
}

/** Per-batch decision state; `sample` indexes the original batch. */
export interface Decider {
  /** Starts a batch of n samples (clears patience runs and EENet scores). */
  reset(n: number): void;
  /** Exit k (never the last) computed for `sample`: true to exit there. */
  stop(k: number, sample: number, v: ExitView): boolean;
  /**
   * What exit k needs, known before any sample: 'never' (no sample stops there and nothing is
   * looked at: a null threshold, before a fixed exit), 'always' (every sample stops there: a fixed
   * exit), 'view' (stop() decides per sample). Absent means 'view'. Lets the runner skip the
   * softmax and features nobody reads.
   */
  plan?(k: number): 'never' | 'always' | 'view';
  /**
   * The view's fields stop() reads (absent: any of them). Lets a replay of the rule over a trace
   * (rule-replay.ts) fill only those, reading a third of the memory for a thresholds rule.
   */
  readonly reads?: readonly ViewField[];
}

/** A field of ExitView a decider may read. */
export type ViewField = 'probs' | 'pred' | 'maxProb' | 'entropy';
