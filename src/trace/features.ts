/**
 * Per-sample, per-exit features computed from a score vector: the predicted
 * class, max probability, normalized entropy and top-1 minus top-2 margin.
 * Shared by inference (scores from onnxruntime) and imports (probability arrays).
 */

/** Writes softmax(logits[off .. off+C)) into out[0 .. C) with the max-shift for stability. */
export function softmaxInto(src: ArrayLike<number>, off: number, classes: number, out: Float32Array | Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < classes; c++) {
    const v = src[off + c]!;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const e = Math.exp(src[off + c]! - max);
    out[c] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let c = 0; c < classes; c++) out[c] = out[c]! * inv;
}

export interface Features {
  pred: number;
  maxProb: number;
  entropy: number;
  margin: number;
}

/**
 * Features of one probability vector p[0 .. C). Entropy is divided by ln C so
 * that 0 means certain and 1 means uniform, whatever the number of classes.
 * Ties in the argmax go to the smallest class index, as numpy's argmax does.
 */
export function featuresOf(p: ArrayLike<number>, classes: number, out: Features): void {
  let best = 0;
  let top1 = -Infinity;
  let top2 = -Infinity;
  let h = 0;
  for (let c = 0; c < classes; c++) {
    const v = p[c]!;
    if (v > top1) {
      top2 = top1;
      top1 = v;
      best = c;
    } else if (v > top2) {
      top2 = v;
    }
    if (v > 0) h -= v * Math.log(v);
  }
  out.pred = best;
  out.maxProb = top1;
  out.entropy = classes > 1 ? h / Math.log(classes) : 0;
  out.margin = top1 - (top2 === -Infinity ? 0 : top2);
}

/** True when every row of a [rows, C] block is a probability vector (non-negative, sums to 1 within tol). */
export function rowsAreProbabilities(data: ArrayLike<number>, rows: number, classes: number, tol = 1e-3): boolean {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < classes; c++) {
      const v = data[r * classes + c]!;
      if (!(v >= 0)) return false;
      s += v;
    }
    if (Math.abs(s - 1) > tol) return false;
  }
  return rows > 0;
}
