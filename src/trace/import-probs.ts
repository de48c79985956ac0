/**
 * Imports per-exit score arrays someone already has: a [K, N, C] or [N, K, C]
 * array of probabilities (or logits, which are softmaxed) becomes a Trace with
 * confidence features and the full probability vectors.
 */
import { inputError } from '../errors.js';
import type { NpyArray } from '../data/npy.js';
import { toNumbers } from '../data/elements.js';
import { featuresOf, rowsAreProbabilities, softmaxInto, type Features } from './features.js';
import { MAX_EXITS as MOST_EXITS } from '../model/types.js';
import type { Trace } from './types.js';

export type ScoreLayout = 'KNC' | 'NKC';

/** Largest K taken for granted when guessing which axis holds the exits. */
const MAX_EXITS = 64;

export function guessLayout(file: string, shape: number[]): ScoreLayout {
  const [a, b] = shape as [number, number];
  if (a === b) throw inputError(file, `shape [${shape.join(', ')}] does not say which axis holds the exits; give the layout, KNC or NKC`, undefined, 'layout');
  if (a < b && a <= MAX_EXITS) return 'KNC';
  if (b < a && b <= MAX_EXITS) return 'NKC';
  throw inputError(file, `shape [${shape.join(', ')}]: neither of the first two axes looks like exits (at most ${MAX_EXITS}); give the layout, KNC or NKC`, undefined, 'layout');
}

/** Builds a trace from a 3-D score array; costs default to equal steps until the caller sets them. */
export function traceFromScores(file: string, arr: NpyArray, layout?: ScoreLayout): Trace {
  if (arr.shape.length !== 3) {
    throw inputError(file, `a probability array must be 3-D, [K, N, C] or [N, K, C]; found shape [${arr.shape.join(', ')}]`);
  }
  const lay = layout ?? guessLayout(file, arr.shape);
  const [d0, d1, C] = arr.shape as [number, number, number];
  const K = lay === 'KNC' ? d0 : d1;
  const N = lay === 'KNC' ? d1 : d0;
  if (K < 2) throw inputError(file, `multi-exit needs at least two exits; the array holds ${K}`);
  if (K > MOST_EXITS) throw inputError(file, `the array holds ${K} exits; the studio takes at most ${MOST_EXITS}`);
  if (C < 2) throw inputError(file, `each exit needs at least two classes; the array has ${C}`);
  if (N < 1) throw inputError(file, 'the array holds no samples');
  const values = arr.dtype === 'float' || arr.dtype === 'double' ? (arr.data as Float32Array | Float64Array) : toNumbers(arr.data, arr.dtype);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw inputError(file, `value ${i} (sample ${lay === 'KNC' ? Math.floor(i / C) % N : Math.floor(i / (K * C))}) is ${values[i]}; scores must be finite numbers`);
    }
  }
  const at = (i: number, k: number): number => (lay === 'KNC' ? (k * N + i) * C : (i * K + k) * C);
  // Probabilities are used as they are; anything else is read as logits.
  const isProb: boolean[] = [];
  for (let k = 0; k < K; k++) {
    const rows = new Float64Array(Math.min(N, 256) * C);
    for (let i = 0; i < rows.length / C; i++) for (let c = 0; c < C; c++) rows[i * C + c] = values[at(i, k) + c]!;
    isProb.push(rowsAreProbabilities(rows, rows.length / C, C));
  }
  const pred = new Int32Array(N * K);
  const maxProb = new Float32Array(N * K);
  const entropy = new Float32Array(N * K);
  const margin = new Float32Array(N * K);
  const probs = new Float32Array(N * K * C);
  const p = new Float64Array(C);
  const f: Features = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < K; k++) {
      const off = at(i, k);
      if (isProb[k]) for (let c = 0; c < C; c++) p[c] = values[off + c]!;
      else softmaxInto(values, off, C, p);
      featuresOf(p, C, f);
      const j = i * K + k;
      pred[j] = f.pred;
      maxProb[j] = f.maxProb;
      entropy[j] = f.entropy;
      margin[j] = f.margin;
      probs.set(p, j * C);
    }
  }
  return {
    samples: N,
    exits: Array.from({ length: K }, (_, k) => ({ name: `exit_${k + 1}` })),
    classes: C,
    costs: Float64Array.from({ length: K }, (_, k) => (k + 1) / K),
    costSource: 'uniform',
    pred, maxProb, entropy, margin, probs,
  };
}
