/**
 * EENet (Ilhan et al., WACV 2024; code git-disl/EENet): budgeted exit
 * scheduling. It learns per-exit scores q_k and an exit-assignment
 * distribution so that the expected cost meets a budget, then turns the
 * assignment's shares into per-exit score thresholds (share filling) and
 * refines those under the budget on the fitting data (eenet-thresholds.ts).
 *
 * Mends of the published code (docs/policies.md): the linear score is a
 * per-sample scalar (no [B,1] + [B,1,1] broadcast), the KL term is defined
 * (the code returned an undefined `ce_loss`), q^beta normalization falls back
 * to uniform when every score of a sample clamps to 0, and a clamped score
 * keeps the gradient that moves it back inside [0, 1]. The studio's choices
 * (docs/policies.md): q_k starts as the exit's max probability, BCE targets
 * are smoothed so confident scores do not tie at the clamp, every epoch is
 * assessed exactly, and the epoch whose rule is right most often within the
 * budget is kept.
 */
import { CancelledError } from '../errors.js';
import type { Trace } from '../trace/types.js';
import { Adam, EENetModel } from './eenet-model.js';
import { commonThreshold, refineThresholds, type RuleProblem } from './eenet-thresholds.js';
import { Rng } from './rng.js';

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

export interface EENetFitOptions {
  /** Mean cost per sample to meet, in the trace's normalized cost units (last exit = 1). */
  budget: number;
  /** Per-exit cost, same units as budget. */
  costs: Float64Array;
  epochs?: number;
  batch?: number;
  lr?: number;
  hidden?: number;
  beta?: number;
  /** Weight of the KL term (default 1). */
  klWeight?: number;
  /** Weight of the budget term (default 10: the budget is a constraint, not a wish). */
  costWeight?: number;
  /** Stop once the budget term is below this (after minEpochs). */
  costTol?: number;
  minEpochs?: number;
  seed?: number;
  /** BCE targets are 1 - smooth and smooth (default 0.05), so that confident samples settle below the clamp instead of tying at 1. */
  smooth?: number;
  /** How the linear score starts (default 'maxprob': q_k = max probability). */
  init?: 'maxprob' | 'random';
  /** Refine the share-filled thresholds under the budget (default true; see eenet-thresholds.ts). */
  refine?: boolean;
  signal?: AbortSignal;
}

export interface EENetEpoch {
  epoch: number;
  loss: number;
  bce: number;
  kl: number;
  /** |E[cost] - budget| / budget under the assignment distribution. */
  costTerm: number;
  /** Mean cost and accuracy on the training data of the rule deployed (refined thresholds when refining). */
  cost: number;
  accuracy: number;
  /** The same for the share-filled thresholds (before refinement). */
  shareCost: number;
  shareAccuracy: number;
  /** True on the epoch whose model and thresholds the fit kept (the one whose rule did best on the data). */
  kept: boolean;
}

export interface EENetFit {
  model: EENetModel;
  thresholds: Float64Array;
  history: EENetEpoch[];
  budget: number;
  /** What accuracy was measured against: labels (supervised) or the final exit. */
  target: 'labels' | 'final-exit';
  /** The epoch whose model and thresholds were kept (0: the starting scorer, before any training). */
  epoch: number;
}

/** Builds the training data of a whole trace (needs probability vectors). */
export function eenetDataFromTrace(trace: Trace, supervised: boolean): EENetData {
  const K = trace.exits.length;
  const n = trace.samples;
  const correct = new Uint8Array(n * K);
  for (let s = 0; s < n; s++) {
    const y = supervised && trace.labels && trace.labels[s]! >= 0 ? trace.labels[s]! : trace.pred[s * K + K - 1]!;
    for (let k = 0; k < K; k++) correct[s * K + k] = trace.pred[s * K + k] === y ? 1 : 0;
  }
  return { n, exits: K, classes: trace.classes, probs: trace.probs!, maxProb: trace.maxProb!, entropy: trace.entropy!, correct };
}

/** Writes exit k's input for sample s of `data` into x, given the earlier exits' clamped scores q. */
function inputOf(data: EENetData, s: number, k: number, q: Float64Array, qOff: number, x: Float64Array, xOff = 0): void {
  const K = data.exits;
  const C = data.classes;
  const pOff = (s * K + k) * C;
  const probs = data.probs;
  for (let c = 0; c < C; c++) x[xOff + c] = probs[pOff + c]!;
  x[xOff + C] = data.maxProb[s * K + k]!;
  x[xOff + C + 1] = 1 - data.entropy[s * K + k]!;
  for (let j = 0; j < k; j++) x[xOff + C + 2 + j] = q[qOff + j]!;
}

/** A score clamped to [0, 1], as the scorer and the policy both clamp it. */
export const clamp01 = (u: number): number => (u < 0 ? 0 : u > 1 ? 1 : u);

/** Forward pass over all of data: clamped scores q (n*K) and assignment a (n*K). */
export function eenetForward(model: EENetModel, data: EENetData): { q: Float64Array; a: Float64Array } {
  const K = data.exits;
  const n = data.n;
  const q = new Float64Array(n * K);
  const a = new Float64Array(n * K);
  const x = new Float64Array(data.classes + 2 + K);
  const pre = new Float64Array(model.hidden);
  const ug = new Float64Array(2);
  for (let s = 0; s < n; s++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      inputOf(data, s, k, q, s * K, x);
      model.exitForward(k, x, pre, ug);
      q[s * K + k] = clamp01(ug[0]!);
      a[s * K + k] = ug[1]!;
      if (ug[1]! > max) max = ug[1]!;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += a[s * K + k] = Math.exp(a[s * K + k]! - max);
    for (let k = 0; k < K; k++) a[s * K + k]! /= sum;
  }
  return { q, a };
}

/**
 * Share filling: exit k, from the first up, takes the samples left with the
 * highest q_k, as many as its mean assignment share; its threshold is the
 * lowest q_k it took (ties at the threshold go too, as they would deployed).
 * The last exit takes the rest (threshold 0).
 */
export function fillThresholds(q: Float64Array, a: Float64Array, n: number, K: number): Float64Array {
  const th = new Float64Array(K);
  const left = new Uint8Array(n).fill(1);
  let remaining = n;
  const buf = new Float64Array(n);
  for (let k = 0; k < K - 1; k++) {
    let share = 0;
    for (let s = 0; s < n; s++) share += a[s * K + k]!;
    const m = Math.min(remaining, Math.round(share));
    if (m === 0) {
      th[k] = 2; // above any clamped score: nobody exits here
      continue;
    }
    let len = 0;
    for (let s = 0; s < n; s++) if (left[s]) buf[len++] = q[s * K + k]!;
    const sorted = buf.subarray(0, len).sort();
    const t = sorted[len - m]!;
    th[k] = t;
    for (let s = 0; s < n; s++) {
      if (left[s] && q[s * K + k]! >= t) {
        left[s] = 0;
        remaining--;
      }
    }
  }
  th[K - 1] = 0;
  return th;
}

/** Cost and accuracy of a thresholded rule on data (q from eenetForward). */
export function evaluateRule(q: Float64Array, th: Float64Array, data: EENetData, costs: Float64Array): { cost: number; accuracy: number } {
  const K = data.exits;
  let cost = 0;
  let right = 0;
  for (let s = 0; s < data.n; s++) {
    let k = 0;
    while (k < K - 1 && !(q[s * K + k]! >= th[k]!)) k++;
    cost += costs[k]!;
    right += data.correct[s * K + k]!;
  }
  return { cost: cost / data.n, accuracy: right / data.n };
}

/** Loss terms of the whole data under (q, a), as the training loss defines them (per-sample means). */
function lossTerms(
  q: Float64Array,
  a: Float64Array,
  data: EENetData,
  costs: Float64Array,
  B: number,
  beta: number,
  smooth: number,
): { bce: number; kl: number; costTerm: number } {
  const K = data.exits;
  const n = data.n;
  const EPS = 1e-4;
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

export function fitEENet(data: EENetData, opts: EENetFitOptions, supervised = false): EENetFit {
  const K = data.exits;
  const C = data.classes;
  const n = data.n;
  const hidden = opts.hidden ?? 16;
  const epochs = opts.epochs ?? 60;
  const bs = Math.min(opts.batch ?? 256, Math.max(1, n));
  const beta = opts.beta ?? 1;
  const wKL = opts.klWeight ?? 1;
  const wCost = opts.costWeight ?? 10;
  const costTol = opts.costTol ?? 0.005;
  const minEpochs = opts.minEpochs ?? 15;
  const smooth = opts.smooth ?? 0.05;
  const refine = opts.refine ?? true;
  const B = opts.budget;
  const costs = opts.costs;
  const model = new EENetModel(K, C, hidden, opts.seed ?? 1, opts.init ?? 'maxprob');
  const params = model.params();
  const grads = params.map((p) => new Float64Array(p.length));
  const adam = new Adam(params, opts.lr ?? 0.01);
  const rng = new Rng((opts.seed ?? 1) ^ 0x2545f491);
  const D = C + 2 + K;
  // Per-batch buffers, allocated once.
  const X = new Float64Array(bs * K * D);
  const PRE = new Float64Array(bs * K * hidden);
  const U = new Float64Array(bs * K);
  const Q = new Float64Array(bs * K);
  const A = new Float64Array(bs * K);
  const dA = new Float64Array(K);
  const ug = new Float64Array(2);
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const history: EENetEpoch[] = [];
  const EPS = 1e-4;

  // The model after each epoch (and before the first): exact scores, the thresholded rule, its cost and
  // accuracy on the data, and the loss terms. With refinement, the epoch whose rule within budget is most
  // often right on the data is kept (epoch 0 is the max-probability start).
  let best: { right: number; inBand: boolean; epoch: number; params: Float64Array[]; thresholds: Float64Array } | undefined;
  const assess = (epoch: number): EENetEpoch => {
    const { q, a } = eenetForward(model, data);
    const filled = fillThresholds(q, a, n, K);
    const share = evaluateRule(q, filled, data, costs);
    let th = filled;
    let rule = share;
    if (refine) {
      const prob: RuleProblem = { n, K, q, z: data.correct, costs, budget: B };
      th = refineThresholds(prob, [filled, commonThreshold(prob)]).thresholds;
      rule = evaluateRule(q, th, data, costs);
    }
    // Selection (refining only): the most right answers among rules in the budget band; without
    // refinement, or if no epoch's rule lands in the band, the last epoch (the definition's plain fit).
    const right = Math.round(rule.accuracy * n);
    const inBand = refine && rule.cost <= B * (1 + 1e-9) && rule.cost >= B * 0.99 * (1 - 1e-9);
    if (!best || (inBand && (!best.inBand || right > best.right)) || (!inBand && !best.inBand)) {
      best = { right, inBand, epoch, params: params.map((p) => Float64Array.from(p)), thresholds: th };
    }
    const t = lossTerms(q, a, data, costs, B, beta, smooth);
    return {
      epoch,
      loss: t.bce + wKL * t.kl + wCost * t.costTerm,
      bce: t.bce,
      kl: t.kl,
      costTerm: t.costTerm,
      cost: rule.cost,
      accuracy: rule.accuracy,
      shareCost: share.cost,
      shareAccuracy: share.accuracy,
      kept: false,
    };
  };
  history.push(assess(0));

  for (let epoch = 1; epoch <= epochs; epoch++) {
    if (opts.signal?.aborted) throw new CancelledError('EENet fitting');
    for (let i = n - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    for (let start = 0; start < n; start += bs) {
      const m = Math.min(bs, n - start);
      // Forward: keep inputs, hidden pre-activations, scores and assignments for the backward pass.
      let eCost = 0;
      for (let b = 0; b < m; b++) {
        const s = perm[start + b]!;
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
        const s = perm[start + b]!;
        // q^beta normalized: the KL target (held fixed: it steers the assignment, not the scores).
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
          dA[k] = (bce + wKL * (la - Math.log(r) + 1) + (wCost * sign * costs[k]!) / B) / m;
          dot += a * dA[k]!;
          // BCE through the clamp: pass the gradient inside [0, 1], and outside only when it leads back in.
          const dq = (a * (qc - z)) / (qc * (1 - qc)) / m;
          const u = U[b * K + k]!;
          const du = (u >= 0 && u <= 1) || (u > 1 && dq > 0) || (u < 0 && dq < 0) ? dq : 0;
          const l = model.layers[k]!;
          const base = k * 6;
          const xo = (b * K + k) * D;
          if (du !== 0) {
            const gW = grads[base]!;
            for (let i = 0; i < l.d; i++) gW[i]! += du * X[xo + i]!;
            grads[base + 1]![0]! += du;
          }
        }
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
            const z = PRE[po + h]!;
            if (z <= 0) continue;
            gW2[h]! += dg * z;
            const dz = dg * w2[h]!;
            gB1[h]! += dz;
            const row = h * d;
            for (let i = 0; i < d; i++) gW1[row + i]! += dz * X[xo + i]!;
          }
        }
      }
      adam.step(grads);
    }
    const h = assess(epoch);
    history.push(h);
    if (epoch >= minEpochs && h.costTerm < costTol) break;
  }
  // Keep the selected epoch (ties: the earliest).
  const kept = best!;
  params.forEach((p, i) => p.set(kept.params[i]!));
  for (const h of history) h.kept = h.epoch === kept.epoch;
  return { model, thresholds: kept.thresholds, history, budget: B, target: supervised ? 'labels' : 'final-exit', epoch: kept.epoch };
}
