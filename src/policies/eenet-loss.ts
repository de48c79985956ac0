/**
 * EENet's training loss and its gradient (docs/policies.md, "EENet"). Over a
 * batch of m samples, with q_k the clamped scores and a = softmax(g) the
 * exit assignment of a sample:
 *
 *   L = (1/m) sum_s sum_k a_k BCE(q_k, z_k)
 *     + wKL (1/m) sum_s sum_k a_k (log a_k - log r_k),   r = q^beta / sum q^beta
 *     + wCost |(1/m) sum_s sum_k a_k C_k - B| / B
 *
 * Held fixed in the backward pass: r (the KL target steers the assignment,
 * not the scores) and the earlier exits' scores that are part of exit k's
 * input. BCE is taken at q clamped to [1e-4, 1 - 1e-4], against targets
 * smoothed to 1 - smooth and smooth. The clamp of the linear score to [0, 1]
 * passes the gradient inside, and outside only where it leads back in (a hard
 * clamp would freeze a score that left).
 */
import { clamp01, inputOf, type EENetData, type EENetModel } from './eenet-model.js';

/** What the loss weighs: the run's costs and budget, and its hyperparameters. */
export interface EENetLoss {
  /** Per-exit cost, in the budget's units. */
  costs: Float64Array;
  budget: number;
  beta: number;
  klWeight: number;
  costWeight: number;
  smooth: number;
}

/** BCE's clamp of q, so that log never sees 0. */
const EPS = 1e-4;

/** Per-batch buffers, allocated once per fit. */
export class BatchWork {
  readonly X: Float64Array;
  readonly PRE: Float64Array;
  readonly U: Float64Array;
  readonly Q: Float64Array;
  readonly A: Float64Array;
  readonly dA: Float64Array;
  readonly ug = new Float64Array(2);
  constructor(
    readonly batch: number,
    readonly K: number,
    readonly D: number,
    readonly hidden: number,
  ) {
    this.X = new Float64Array(batch * K * D);
    this.PRE = new Float64Array(batch * K * hidden);
    this.U = new Float64Array(batch * K);
    this.Q = new Float64Array(batch * K);
    this.A = new Float64Array(batch * K);
    this.dA = new Float64Array(K);
  }
}

/**
 * The gradient of L over the samples idx[start .. start+m) of data, written
 * into grads (one array per model parameter, in model.params() order; zeroed
 * here). Returns the batch's expected cost E_a[C].
 */
export function batchGradient(
  model: EENetModel,
  data: EENetData,
  idx: ArrayLike<number>,
  start: number,
  m: number,
  loss: EENetLoss,
  w: BatchWork,
  grads: Float64Array[],
): number {
  const K = data.exits;
  const { D, hidden, X, PRE, U, Q, A, dA, ug } = w;
  const { costs, budget: B, beta, klWeight: wKL, costWeight: wCost, smooth } = loss;
  // Forward: keep inputs, hidden pre-activations, scores and assignments for the backward pass.
  let eCost = 0;
  for (let b = 0; b < m; b++) {
    const s = idx[start + b]!;
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      inputOf(data, s, k, Q, b * K, X, (b * K + k) * D);
      model.exitForward(k, X, PRE, ug, (b * K + k) * D, (b * K + k) * hidden);
      U[b * K + k] = ug[0]!;
      Q[b * K + k] = clamp01(ug[0]!);
      A[b * K + k] = ug[1]!;
      if (ug[1]! > max) max = ug[1]!;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += A[b * K + k] = Math.exp(A[b * K + k]! - max);
    for (let k = 0; k < K; k++) {
      A[b * K + k]! /= sum;
      eCost += A[b * K + k]! * costs[k]!;
    }
  }
  eCost /= m;
  const sign = eCost > B ? 1 : eCost < B ? -1 : 0;
  for (const g of grads) g.fill(0);
  for (let b = 0; b < m; b++) {
    const s = idx[start + b]!;
    let rs = 0;
    for (let k = 0; k < K; k++) rs += beta === 1 ? Q[b * K + k]! : Q[b * K + k]! ** beta;
    let dot = 0;
    for (let k = 0; k < K; k++) {
      const a = A[b * K + k]!;
      const q = Q[b * K + k]!;
      const z = data.correct[s * K + k]! ? 1 - smooth : smooth;
      const qc = q < EPS ? EPS : q > 1 - EPS ? 1 - EPS : q;
      const bce = -(z * Math.log(qc) + (1 - z) * Math.log(1 - qc));
      const r = rs > 1e-12 ? Math.max((beta === 1 ? q : q ** beta) / rs, 1e-6) : 1 / K;
      const la = Math.log(Math.max(a, 1e-12));
      // dL/da_k for this sample.
      dA[k] = (bce + wKL * (la - Math.log(r) + 1) + (wCost * sign * costs[k]!) / B) / m;
      dot += a * dA[k]!;
      // dL/dq_k through BCE, then through the clamp to the linear score u_k = w.x + b.
      const dq = (a * (qc - z)) / (qc * (1 - qc)) / m;
      const u = U[b * K + k]!;
      const du = (u >= 0 && u <= 1) || (u > 1 && dq > 0) || (u < 0 && dq < 0) ? dq : 0;
      if (du !== 0) {
        const l = model.layers[k]!;
        const gW = grads[k * 6]!;
        const xo = (b * K + k) * D;
        for (let i = 0; i < l.d; i++) gW[i]! += du * X[xo + i]!;
        grads[k * 6 + 1]![0]! += du;
      }
    }
    // Through the softmax to the logits g_k, then the assignment head's MLP.
    for (let k = 0; k < K; k++) {
      const dg = A[b * K + k]! * (dA[k]! - dot);
      const l = model.layers[k]!;
      const base = k * 6;
      const d = l.d;
      const xo = (b * K + k) * D;
      const po = (b * K + k) * hidden;
      const w2 = l.w2;
      const gW1 = grads[base + 2]!;
      const gB1 = grads[base + 3]!;
      const gW2 = grads[base + 4]!;
      grads[base + 5]![0]! += dg;
      for (let h = 0; h < hidden; h++) {
        const zh = PRE[po + h]!;
        if (zh <= 0) continue;
        gW2[h]! += dg * zh;
        const dz = dg * w2[h]!;
        gB1[h]! += dz;
        const row = h * d;
        for (let i = 0; i < d; i++) gW1[row + i]! += dz * X[xo + i]!;
      }
    }
  }
  return eCost;
}

/** The loss terms over all of data under (q, a) from eenetForward, per-sample means (costTerm unweighted). */
export function lossTerms(q: Float64Array, a: Float64Array, data: EENetData, loss: EENetLoss): { bce: number; kl: number; costTerm: number } {
  const K = data.exits;
  const n = data.n;
  const { costs, budget: B, beta, smooth } = loss;
  let bce = 0;
  let kl = 0;
  let ec = 0;
  for (let s = 0; s < n; s++) {
    const o = s * K;
    let rs = 0;
    for (let k = 0; k < K; k++) rs += beta === 1 ? q[o + k]! : q[o + k]! ** beta;
    for (let k = 0; k < K; k++) {
      const ak = a[o + k]!;
      const qk = q[o + k]!;
      const z = data.correct[o + k]! ? 1 - smooth : smooth;
      const qc = qk < EPS ? EPS : qk > 1 - EPS ? 1 - EPS : qk;
      bce += ak * -(z * Math.log(qc) + (1 - z) * Math.log(1 - qc));
      const r = rs > 1e-12 ? Math.max((beta === 1 ? qk : qk ** beta) / rs, 1e-6) : 1 / K;
      kl += ak * (Math.log(Math.max(ak, 1e-12)) - Math.log(r));
      ec += ak * costs[k]!;
    }
  }
  return n > 0 ? { bce: bce / n, kl: kl / n, costTerm: Math.abs(ec / n - B) / B } : { bce: 0, kl: 0, costTerm: 0 };
}
