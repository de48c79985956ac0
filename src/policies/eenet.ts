/**
 * EENet (Ilhan et al., WACV 2024; code git-disl/EENet): budgeted exit
 * scheduling. It learns per-exit scores q_k and an exit-assignment
 * distribution so that the expected cost meets a budget, then turns the
 * assignment's shares into per-exit score thresholds (share filling). The
 * loss and its gradient are eenet-loss.ts, the scorer eenet-model.ts.
 *
 * As the design defines it, by default: share-filled thresholds, and training
 * stops early once the budget term is small (the last epoch is kept). Two
 * options go beyond the definition, off by default (docs/policies.md gives
 * their measured effect): `refine`, a budget-constrained search for better
 * thresholds on the fitting data (eenet-thresholds.ts), and `keepEpoch:
 * 'most-accurate'`, keeping the epoch whose rule is right most often on the
 * fitting data.
 *
 * Mends of the published code (docs/policies.md): the linear score is a
 * per-sample scalar (no [B,1] + [B,1,1] broadcast), the KL term is defined
 * (the code returned an undefined `ce_loss`), q^beta normalization falls back
 * to uniform when every score of a sample clamps to 0, and a clamped score
 * keeps the gradient that moves it back inside [0, 1]. The studio's choices
 * (docs/policies.md): q_k starts as the exit's max probability, BCE targets
 * are smoothed so confident scores do not tie at the clamp, and every epoch is
 * assessed exactly.
 */
import { CancelledError } from '../errors.js';
import type { Trace } from '../trace/types.js';
import { batchGradient, BatchWork, lossTerms, type EENetLoss } from './eenet-loss.js';
import { Adam, clamp01, EENetModel, inputOf, type EENetData } from './eenet-model.js';
import { commonThreshold, refineThresholds, type RuleProblem } from './eenet-thresholds.js';
import { Rng } from './rng.js';
import { fillShares } from './share-filling.js';

export { clamp01, type EENetData } from './eenet-model.js';

/** Which epoch a fit keeps: the last (the definition's: training stops once the budget term is small) or the most accurate. */
export type KeepEpoch = 'last' | 'most-accurate';

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
  /** Refine the share-filled thresholds under the budget on the fitting data (default false; see eenet-thresholds.ts). */
  refine?: boolean;
  /** 'last' (default): the epoch training stopped at; 'most-accurate': the epoch whose rule, within the budget band, is right most often on the fitting data. */
  keepEpoch?: KeepEpoch;
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
  /** True on the epoch whose model and thresholds the fit kept. */
  kept: boolean;
}

export interface EENetFit {
  model: EENetModel;
  thresholds: Float64Array;
  history: EENetEpoch[];
  budget: number;
  /** How many samples it was fitted on. */
  samples: number;
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
 * Share filling (share-filling.ts) with EENet's shares: each exit takes as
 * many samples as its mean assignment share.
 */
export function fillThresholds(q: Float64Array, a: Float64Array, n: number, K: number): Float64Array {
  const counts = new Float64Array(K);
  for (let s = 0; s < n; s++) for (let k = 0; k < K; k++) counts[k]! += a[s * K + k]!;
  return fillShares(q, counts, n, K);
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

export function fitEENet(data: EENetData, opts: EENetFitOptions, supervised = false): EENetFit {
  const K = data.exits;
  const C = data.classes;
  const n = data.n;
  const hidden = opts.hidden ?? 16;
  const epochs = opts.epochs ?? 60;
  const bs = Math.min(opts.batch ?? 256, Math.max(1, n));
  const costTol = opts.costTol ?? 0.005;
  const minEpochs = opts.minEpochs ?? 15;
  const refine = opts.refine ?? false;
  const mostAccurate = (opts.keepEpoch ?? 'last') === 'most-accurate';
  const B = opts.budget;
  const costs = opts.costs;
  const loss: EENetLoss = { costs, budget: B, beta: opts.beta ?? 1, klWeight: opts.klWeight ?? 1, costWeight: opts.costWeight ?? 10, smooth: opts.smooth ?? 0.05 };
  const model = new EENetModel(K, C, hidden, opts.seed ?? 1, opts.init ?? 'maxprob');
  const params = model.params();
  const grads = params.map((p) => new Float64Array(p.length));
  const adam = new Adam(params, opts.lr ?? 0.01);
  const rng = new Rng((opts.seed ?? 1) ^ 0x2545f491);
  const work = new BatchWork(bs, K, C + 2 + K, hidden);
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const history: EENetEpoch[] = [];

  // The model after each epoch (and before the first): exact scores, the thresholded rule, its cost and
  // accuracy on the data, and the loss terms. The fit keeps the last epoch, or with 'most-accurate' the
  // epoch whose rule within the budget band is right most often on the data (epoch 0 is the max-probability
  // start; if no epoch's rule lands in the band, the last).
  let kept: { right: number; inBand: boolean; epoch: number; params: Float64Array[]; thresholds: Float64Array } | undefined;
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
    const right = Math.round(rule.accuracy * n);
    const inBand = mostAccurate && rule.cost <= B * (1 + 1e-9) && rule.cost >= B * 0.99 * (1 - 1e-9);
    if (!kept || !mostAccurate || (inBand && (!kept.inBand || right > kept.right)) || (!inBand && !kept.inBand)) {
      kept = { right, inBand, epoch, params: params.map((p) => Float64Array.from(p)), thresholds: th };
    }
    const t = lossTerms(q, a, data, loss);
    return {
      epoch,
      loss: t.bce + loss.klWeight * t.kl + loss.costWeight * t.costTerm,
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
      batchGradient(model, data, perm, start, Math.min(bs, n - start), loss, work, grads);
      adam.step(grads);
    }
    const h = assess(epoch);
    history.push(h);
    // The definition's early stop: the budget term is small.
    if (epoch >= minEpochs && h.costTerm < costTol) break;
  }
  const k = kept!;
  params.forEach((p, i) => p.set(k.params[i]!));
  for (const h of history) h.kept = h.epoch === k.epoch;
  return { model, thresholds: k.thresholds, history, budget: B, samples: n, target: supervised ? 'labels' : 'final-exit', epoch: k.epoch };
}
