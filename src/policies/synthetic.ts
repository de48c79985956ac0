/**
 * A synthetic multi-exit trace from a seeded generative process, for tests,
 * benchmarks and demos where no recorded trace is at hand. It is honest in
 * the ways policies care about: deeper exits are more accurate, exits of one
 * sample are correlated (a shared per-sample noise), and confidence is
 * informative (the true class's logit grows with depth minus the sample's
 * difficulty, so confident exits are more often right).
 */
import { featuresOf, softmaxInto, type Features } from '../trace/features.js';
import type { Trace } from '../trace/types.js';
import { Rng } from './rng.js';

export interface SyntheticOptions {
  samples: number;
  exits?: number;
  classes?: number;
  seed?: number;
  /** Keep full probability vectors (EENet needs them). Default true. */
  probs?: boolean;
  /** Cumulative costs (last = 1); default (k+1)/K. */
  costs?: number[];
}

function gauss(rng: Rng): number {
  const u = 1 - rng.nextFloat();
  const v = rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function syntheticTrace(o: SyntheticOptions): Trace {
  const n = o.samples;
  const K = o.exits ?? 4;
  const C = o.classes ?? 10;
  const rng = new Rng(o.seed ?? 7);
  const keep = o.probs ?? true;
  const pred = new Int32Array(n * K);
  const maxProb = new Float32Array(n * K);
  const entropy = new Float32Array(n * K);
  const margin = new Float32Array(n * K);
  const probs = keep ? new Float32Array(n * K * C) : undefined;
  const labels = new Int32Array(n);
  const base = new Float64Array(C);
  const logits = new Float64Array(C);
  const p = new Float64Array(C);
  const f: Features = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  for (let s = 0; s < n; s++) {
    const y = rng.nextInt(C);
    labels[s] = y;
    const difficulty = rng.nextFloat();
    for (let c = 0; c < C; c++) base[c] = gauss(rng);
    for (let k = 0; k < K; k++) {
      const depth = (k + 1) / K;
      for (let c = 0; c < C; c++) logits[c] = 1.2 * base[c]! + 0.6 * gauss(rng);
      logits[y]! += 1 + 5 * (depth - difficulty) + 2 * depth;
      softmaxInto(logits, 0, C, p);
      featuresOf(p, C, f);
      const i = s * K + k;
      pred[i] = f.pred;
      maxProb[i] = f.maxProb;
      entropy[i] = f.entropy;
      margin[i] = f.margin;
      if (probs) for (let c = 0; c < C; c++) probs[i * C + c] = p[c]!;
    }
  }
  const costs = o.costs ? Float64Array.from(o.costs) : Float64Array.from({ length: K }, (_, k) => (k + 1) / K);
  const t: Trace = {
    samples: n,
    exits: Array.from({ length: K }, (_, k) => ({ name: `exit${k + 1}` })),
    classes: C,
    costs,
    costSource: o.costs ? 'user' : 'uniform',
    pred,
    maxProb,
    entropy,
    margin,
    labels,
  };
  if (probs) t.probs = probs;
  return t;
}
