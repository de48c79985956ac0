/**
 * Applies an exported policy (LearnedPolicy) to what a deployment has computed: at exit k, for
 * one sample, stop or go on. Features are rounded to float32 before comparing, because traces
 * store them as float32 and the thresholds were learned on those: the deployed decision is then
 * the one the replay made, not one a rounding away from it.
 */
import { StudioError } from '../errors.js';
import { EENetModel } from '../policies/eenet-model.js';
import type { EENetWeights, LearnedPolicy } from '../policies/types.js';
import { featuresOf, softmaxInto, type Features } from '../trace/features.js';

/** What the runtime knows of each exit. */
export interface ExitSpec {
  name: string;
  classes: number;
  /** logits get a softmax; probs are used as they are. */
  kind: 'logits' | 'probs';
}

/** Features of one sample at one exit, as a trace would hold them. */
export interface ExitView {
  /** Probabilities (float32-rounded), length C. */
  probs: Float32Array;
  pred: number;
  maxProb: number;
  entropy: number;
}

/** Fills `view` from row `row` of an exit's flat output. */
export function viewOf(scores: ArrayLike<number>, row: number, exit: ExitSpec, view: ExitView, scratch: Float64Array, f: Features): void {
  const C = exit.classes;
  if (exit.kind === 'logits') softmaxInto(scores, row * C, C, scratch);
  else for (let c = 0; c < C; c++) scratch[c] = scores[row * C + c]!;
  featuresOf(scratch, C, f);
  for (let c = 0; c < C; c++) view.probs[c] = scratch[c]!;
  view.pred = f.pred;
  view.maxProb = Math.fround(f.maxProb);
  view.entropy = Math.fround(f.entropy);
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
}

/** Predicted class of one row: the first largest probability, as viewOf finds it (softmax first for logits). */
export function predOf(scores: ArrayLike<number>, row: number, exit: ExitSpec, scratch: Float64Array): number {
  const C = exit.classes;
  if (exit.kind === 'logits') softmaxInto(scores, row * C, C, scratch);
  else for (let c = 0; c < C; c++) scratch[c] = scores[row * C + c]!;
  let best = 0;
  for (let c = 1; c < C; c++) if (scratch[c]! > scratch[best]!) best = c;
  return best;
}

function fail(problem: string): never {
  throw new StudioError(`policy: ${problem}`, { kind: 'input' });
}

export function makeDecider(policy: LearnedPolicy, exits: ExitSpec[]): Decider {
  const K = exits.length;
  switch (policy.kind) {
    case 'fixed': {
      let at = policy.exit;
      if (policy.exitName !== undefined) {
        const byName = exits.findIndex((e) => e.name === policy.exitName);
        if (byName < 0) fail(`fixed exit '${policy.exitName}' is not one of the bundle's exits (${exits.map((e) => e.name).join(', ')})`);
        at = byName;
      }
      if (!Number.isInteger(at) || at < 0 || at >= K) fail(`fixed exit index ${policy.exit} is outside 0..${K - 1}`);
      return { reset() {}, stop: (k) => k >= at, plan: (k) => (k >= at ? 'always' : 'never') };
    }
    case 'thresholds': {
      if (policy.measure === 'eenetScore') fail("thresholds on 'eenetScore' need the EENet scorer: export the EENet policy itself (kind 'eenet')");
      if (policy.thresholds.length < K - 1) fail(`${policy.thresholds.length} thresholds for ${K} exits`);
      const th = policy.thresholds;
      const above = policy.direction === 'above';
      const measure = policy.measure;
      return {
        reset() {},
        plan: (k) => (th[k] === null || th[k] === undefined ? 'never' : 'view'),
        stop(k, _s, v) {
          const t = th[k];
          if (t === null || t === undefined) return false;
          const x = measure === 'maxProb' ? v.maxProb : v.entropy;
          return above ? x >= t : x <= t;
        },
      };
    }
    case 'patience': {
      const P = policy.patience;
      if (!Number.isInteger(P) || P < 1) fail(`patience must be a whole number ≥ 1, got ${P}`);
      let run = new Int32Array(0);
      let prev = new Int32Array(0);
      return {
        reset(n) {
          run = new Int32Array(n);
          prev = new Int32Array(n).fill(-1);
        },
        stop(_k, s, v) {
          run[s] = v.pred === prev[s] ? run[s]! + 1 : 1;
          prev[s] = v.pred;
          return run[s]! >= P;
        },
      };
    }
    case 'eenet':
      return eenetDecider(policy.model, policy.thresholds, exits);
    case 'random':
      return fail("a random policy is a baseline for comparison, not something to deploy; export a fixed, thresholds, patience or EENet policy");
  }
}

/** Rebuilds the scorer from its JSON weights and reuses its forward pass. */
export function eenetFromWeights(w: EENetWeights, K: number): EENetModel {
  if (w.exits.length !== K) fail(`the EENet scorer has ${w.exits.length} exits, the bundle ${K}`);
  const model = new EENetModel(K, w.classes, w.hidden, 1);
  model.layers.forEach((l, k) => {
    const e = w.exits[k]!;
    if (e.linW.length !== l.d || e.w1.length !== w.hidden * l.d || e.b1.length !== w.hidden || e.w2.length !== w.hidden) {
      fail(`EENet weights of exit ${k + 1} have the wrong sizes (input size should be ${l.d}, hidden ${w.hidden})`);
    }
    l.linW.set(e.linW);
    l.linB[0] = e.linB;
    l.w1.set(e.w1);
    l.b1.set(e.b1);
    l.w2.set(e.w2);
    l.b2[0] = e.b2;
  });
  return model;
}

function eenetDecider(w: EENetWeights, thresholds: number[], exits: ExitSpec[]): Decider {
  const K = exits.length;
  const C = w.classes;
  if (exits.some((e) => e.classes !== C)) fail(`the EENet scorer expects ${C} classes, the exits have ${exits.map((e) => e.classes).join('/')}`);
  if (thresholds.length < K - 1) fail(`${thresholds.length} EENet thresholds for ${K} exits`);
  const model = eenetFromWeights(w, K);
  const x = new Float64Array(C + 2 + K);
  const pre = new Float64Array(w.hidden);
  const ug = new Float64Array(2);
  let q = new Float64Array(0);
  return {
    reset(n) {
      q = new Float64Array(n * K);
    },
    stop(k, s, v) {
      for (let c = 0; c < C; c++) x[c] = v.probs[c]!;
      x[C] = v.maxProb;
      x[C + 1] = 1 - v.entropy;
      for (let j = 0; j < k; j++) x[C + 2 + j] = q[s * K + j]!;
      model.exitForward(k, x, pre, ug);
      const u = ug[0]!;
      const score = u < 0 ? 0 : u > 1 ? 1 : u;
      q[s * K + k] = score;
      return score >= thresholds[k]!;
    },
  };
}
