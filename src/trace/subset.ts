/** Some of a trace's samples as a trace of their own: the calibration part of a held-out split. */
import type { Trace } from './types.js';

function rows<A extends Int32Array | Float32Array>(from: A, samples: ArrayLike<number>, width: number, make: (n: number) => A): A {
  const out = make(samples.length * width);
  // Element by element: a row is a few values, and a subarray per row would cost more than its copy.
  for (let i = 0, o = 0; i < samples.length; i++) {
    const s = samples[i]! * width;
    for (let j = 0; j < width; j++) out[o++] = from[s + j]!;
  }
  return out;
}

/** A copy of the trace holding only `samples` (indices, in the order given); exits, classes and costs as they are. */
export function subsetTrace(trace: Trace, samples: ArrayLike<number>): Trace {
  const K = trace.exits.length;
  const f32 = (n: number): Float32Array => new Float32Array(n);
  const out: Trace = {
    samples: samples.length,
    exits: trace.exits,
    classes: trace.classes,
    costs: trace.costs,
    costSource: trace.costSource,
    pred: rows(trace.pred, samples, K, (n) => new Int32Array(n)),
  };
  if (trace.maxProb) out.maxProb = rows(trace.maxProb, samples, K, f32);
  if (trace.entropy) out.entropy = rows(trace.entropy, samples, K, f32);
  if (trace.margin) out.margin = rows(trace.margin, samples, K, f32);
  if (trace.probs) out.probs = rows(trace.probs, samples, K * trace.classes, f32);
  if (trace.labels) out.labels = rows(trace.labels, samples, 1, (n) => new Int32Array(n));
  return out;
}
