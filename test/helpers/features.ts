/**
 * The features of one exit's scores, written out from their definitions with none of the
 * product's code: the reference tests hold softmaxInto/featuresOf and the stored traces to.
 * Plain and slow on purpose (sorting, no max shift beyond what exp needs to stay finite).
 */
export interface PlainFeatures {
  probs: number[];
  pred: number;
  maxProb: number;
  /** -sum p ln p / ln C. */
  entropy: number;
  /** Largest minus second-largest probability. */
  margin: number;
}

/** Features of logits[off .. off+C) through softmax. */
export function plainFeatures(logits: ArrayLike<number>, off: number, C: number): PlainFeatures {
  const l = Array.from({ length: C }, (_, c) => logits[off + c]!);
  const m = Math.max(...l);
  const e = l.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return ofProbabilities(e.map((x) => x / z));
}

/** Features of a probability vector as it is. */
export function ofProbabilities(probs: number[]): PlainFeatures {
  const C = probs.length;
  const sorted = [...probs].sort((a, b) => b - a);
  return {
    probs,
    pred: probs.indexOf(sorted[0]!), // the first index of the largest: numpy's argmax
    maxProb: sorted[0]!,
    entropy: -probs.reduce((h, p) => h + (p > 0 ? p * Math.log(p) : 0), 0) / Math.log(C),
    margin: C > 1 ? sorted[0]! - sorted[1]! : sorted[0]!,
  };
}
