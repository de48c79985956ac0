/**
 * A trace's samples taken apart, for tests that fit on one part and score on
 * another (held out) until the engine's own evaluation modes do it for them.
 */
import { ruleExits, shuffledOrder, type LearnedPolicy, type PolicyEnv } from '../../src/policies/index.js';
import { parsePolicySpec } from '../../src/policies/spec.js';
import type { Trace } from '../../src/trace/types.js';

type Column = Int32Array | Float32Array;

function rowsOf<T extends Column>(a: T, rows: ArrayLike<number>, width: number): T {
  const out = new (a.constructor as new (n: number) => T)(rows.length * width);
  for (let i = 0; i < rows.length; i++) out.set(a.subarray(rows[i]! * width, (rows[i]! + 1) * width), i * width);
  return out;
}

/** The samples `rows` of a trace, in that order, as a trace of their own. */
export function subTrace(t: Trace, rows: ArrayLike<number>): Trace {
  const K = t.exits.length;
  const out: Trace = { ...t, samples: rows.length, pred: rowsOf(t.pred, rows, K) };
  for (const key of ['maxProb', 'entropy', 'margin'] as const) {
    const a = t[key];
    if (a) out[key] = rowsOf(a, rows, K);
  }
  if (t.probs) out.probs = rowsOf(t.probs, rows, K * t.classes);
  if (t.labels) out.labels = rowsOf(t.labels, rows, 1);
  return out;
}

/** A seeded random split into a calibration part (`share` of the samples) and an evaluation part. */
export function splitTrace(t: Trace, seed: number, share = 0.5): { calibration: Trace; evaluation: Trace } {
  const order = shuffledOrder(t.samples, seed);
  const n = Math.round(t.samples * share);
  return { calibration: subTrace(t, order.subarray(0, n)), evaluation: subTrace(t, order.subarray(n)) };
}

/** A policy fitted on `calibration` (its calibration data), with the reported costs and lambda 1. */
export function fitOn(calibration: Trace, spec: string, opts: { seed?: number; supervised?: boolean; params?: Record<string, number | string | boolean> } = {}) {
  const seed = opts.seed ?? 1;
  const env: PolicyEnv = {
    exits: calibration.exits.length,
    classes: calibration.classes,
    costs: calibration.costs,
    lambda: 1,
    seed,
    supervised: opts.supervised ?? false,
    rounds: calibration.samples,
    calibration,
  };
  return parsePolicySpec(spec, {}, opts.params ?? {}).create(env, calibration.costs);
}

/** Mean cost, accuracy and agreement with the last exit of a learned rule applied to every sample of `t`. */
export function scoreRule(t: Trace, learned: LearnedPolicy): { cost: number; accuracy: number; agreement: number } {
  const K = t.exits.length;
  const exits = ruleExits(t, learned, Uint32Array.from({ length: t.samples }, (_, i) => i));
  let cost = 0;
  let right = 0;
  let agree = 0;
  for (let s = 0; s < t.samples; s++) {
    const e = exits[s]!;
    const y = t.pred[s * K + e]!;
    cost += t.costs[e]!;
    if (t.labels && y === t.labels[s]) right++;
    if (y === t.pred[s * K + K - 1]) agree++;
  }
  return { cost: cost / t.samples, accuracy: right / t.samples, agreement: agree / t.samples };
}
