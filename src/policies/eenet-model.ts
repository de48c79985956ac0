/**
 * EENet's scorer (Ilhan et al., WACV 2024), written by hand on Float64Arrays:
 * per exit k an input x_k = [p_k (C), max prob, 1 - normalized entropy,
 * q_1..q_{k-1}], a linear score q_k = clamp(w.x + b, 0, 1) and a one-hidden-
 * layer MLP whose outputs, softmaxed across exits, are the exit assignment.
 * Small enough that forward, backward and Adam are a few loops.
 */
import { Rng } from './rng.js';
import type { EENetWeights } from './rules/eenet.js';

/** Training data: everything a fully computed sample shows, plus the target "exit k is right". */
export interface EENetData {
  n: number;
  exits: number;
  classes: number;
  /** n*K*C, sample-major then exit then class. */
  probs: Float32Array | Float64Array;
  /** n*K. */
  maxProb: Float32Array | Float64Array;
  /** n*K, normalized entropy in [0, 1]. */
  entropy: Float32Array | Float64Array;
  /** n*K: 1 when exit k's prediction is right (label, or agreement with the final exit). */
  correct: Uint8Array;
}

/** A score clamped to [0, 1], as the scorer and the policy both clamp it. */
export const clamp01 = (u: number): number => (u < 0 ? 0 : u > 1 ? 1 : u);

/** Writes exit k's input for sample s of `data` into x at xOff, given the earlier exits' clamped scores q[qOff ..]. */
export function inputOf(data: EENetData, s: number, k: number, q: Float64Array, qOff: number, x: Float64Array, xOff = 0): void {
  const K = data.exits;
  const C = data.classes;
  const pOff = (s * K + k) * C;
  const probs = data.probs;
  for (let c = 0; c < C; c++) x[xOff + c] = probs[pOff + c]!;
  x[xOff + C] = data.maxProb[s * K + k]!;
  x[xOff + C + 1] = 1 - data.entropy[s * K + k]!;
  for (let j = 0; j < k; j++) x[xOff + C + 2 + j] = q[qOff + j]!;
}

export interface ExitLayer {
  d: number; // input size C + 2 + k
  linW: Float64Array;
  linB: Float64Array; // length 1, so Adam treats every parameter alike
  w1: Float64Array; // hidden x d
  b1: Float64Array;
  w2: Float64Array;
  b2: Float64Array; // length 1
}

export class EENetModel {
  readonly layers: ExitLayer[];
  constructor(
    readonly exits: number,
    readonly classes: number,
    readonly hidden: number,
    seed: number,
    /**
     * How the linear score starts: 'maxprob' (default) sets q_k = the exit's
     * max probability, so the scorer begins where the max-probability
     * baseline is; 'random' draws small weights around 0.5.
     */
    init: 'maxprob' | 'random' = 'maxprob',
  ) {
    const rng = new Rng(seed);
    const u = (scale: number): number => (rng.nextFloat() * 2 - 1) * scale;
    this.layers = [];
    for (let k = 0; k < exits; k++) {
      const d = classes + 2 + k;
      const s1 = 1 / Math.sqrt(d);
      const s2 = 1 / Math.sqrt(hidden);
      this.layers.push({
        d,
        linW: init === 'maxprob' ? Float64Array.from({ length: d }, (_, i) => (i === classes ? 1 : 0)) : Float64Array.from({ length: d }, () => u(s1) * 0.1),
        // Either way no sample begins clamped (max probability is in [1/C, 1]; the random start sits near 0.5).
        linB: Float64Array.of(init === 'maxprob' ? 0 : 0.5),
        w1: Float64Array.from({ length: hidden * d }, () => u(s1)),
        b1: new Float64Array(hidden),
        w2: Float64Array.from({ length: hidden }, () => u(s2)),
        b2: new Float64Array(1),
      });
    }
  }

  /** Every parameter array, in a fixed order (Adam state and gradients mirror it). */
  params(): Float64Array[] {
    return this.layers.flatMap((l) => [l.linW, l.linB, l.w1, l.b1, l.w2, l.b2]);
  }

  /**
   * Score and assignment logit of exit k for input x[xOff .. xOff+d). `pre[preOff ..]` (hidden)
   * receives the hidden pre-activations; returns [u, g]: the unclamped
   * linear score and the assignment logit.
   */
  exitForward(k: number, x: Float64Array, pre: Float64Array, out: Float64Array, xOff = 0, preOff = 0): void {
    const l = this.layers[k]!;
    const d = l.d;
    const linW = l.linW;
    const w1 = l.w1;
    let u = l.linB[0]!;
    for (let i = 0; i < d; i++) u += linW[i]! * x[xOff + i]!;
    let g = l.b2[0]!;
    for (let h = 0; h < this.hidden; h++) {
      let z = l.b1[h]!;
      const row = h * d;
      for (let i = 0; i < d; i++) z += w1[row + i]! * x[xOff + i]!;
      pre[preOff + h] = z;
      if (z > 0) g += l.w2[h]! * z;
    }
    out[0] = u;
    out[1] = g;
  }

  toJSON(): EENetWeights {
    return {
      classes: this.classes,
      hidden: this.hidden,
      exits: this.layers.map((l) => ({
        linW: Array.from(l.linW),
        linB: l.linB[0]!,
        w1: Array.from(l.w1),
        b1: Array.from(l.b1),
        w2: Array.from(l.w2),
        b2: l.b2[0]!,
      })),
    };
  }
}

/** Adam (Kingma & Ba) over a list of parameter arrays. */
export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  constructor(
    private readonly params: Float64Array[],
    private readonly lr = 0.01,
    private readonly b1 = 0.9,
    private readonly b2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }
  step(grads: Float64Array[]): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      const g = grads[i]!;
      const m = this.m[i]!;
      const v = this.v[i]!;
      for (let j = 0; j < p.length; j++) {
        const gj = g[j]!;
        m[j] = this.b1 * m[j]! + (1 - this.b1) * gj;
        v[j] = this.b2 * v[j]! + (1 - this.b2) * gj * gj;
        p[j]! -= (this.lr * (m[j]! / c1)) / (Math.sqrt(v[j]! / c2) + this.eps);
      }
    }
  }
}
