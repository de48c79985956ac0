/**
 * The EENet rule: EENet's scorer (per exit a linear score q_k and an MLP
 * assignment head, as JSON weights) and per-exit score thresholds; a sample
 * exits at the first k with q_k >= thresholds[k].
 */
import { z } from 'zod';
import { EENetModel } from '../eenet-model.js';
import { ruleError, type DecisionRule } from './rule.js';

const weightsSchema = z.object({
  classes: z.number().int().min(2),
  hidden: z.number().int().positive(),
  /** Per exit k: input size C + 2 + k (probs, max prob, entropy confidence, scores of earlier exits). */
  exits: z.array(
    z.object({
      linW: z.array(z.number()),
      linB: z.number(),
      /** hidden x inputSize, row-major. */
      w1: z.array(z.number()),
      b1: z.array(z.number()),
      w2: z.array(z.number()),
      b2: z.number(),
    }),
  ),
});

/** EENet's scorer weights, JSON-ready: per exit a linear score and an MLP assignment head. */
export type EENetWeights = z.output<typeof weightsSchema>;

const schema = z.object({ kind: z.literal('eenet'), model: weightsSchema, thresholds: z.array(z.number()) });

/** Rebuilds the scorer from its JSON weights and reuses its forward pass. */
export function eenetFromWeights(w: EENetWeights, K: number): EENetModel {
  if (w.exits.length !== K) ruleError(`the EENet scorer has ${w.exits.length} exits, the bundle ${K}`);
  const model = new EENetModel(K, w.classes, w.hidden, 1);
  model.layers.forEach((l, k) => {
    const e = w.exits[k]!;
    if (e.linW.length !== l.d || e.w1.length !== w.hidden * l.d || e.b1.length !== w.hidden || e.w2.length !== w.hidden) {
      ruleError(`EENet weights of exit ${k + 1} have the wrong sizes (input size should be ${l.d}, hidden ${w.hidden})`);
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

export const eenetRule: DecisionRule<typeof schema> = {
  kind: 'eenet',
  schema,
  deployable: true,
  decider({ model: w, thresholds }, exits) {
    const K = exits.length;
    const C = w.classes;
    if (exits.some((e) => e.classes !== C)) ruleError(`the EENet scorer expects ${C} classes, the exits have ${exits.map((e) => e.classes).join('/')}`);
    if (thresholds.length < K - 1) ruleError(`${thresholds.length} EENet thresholds for ${K} exits`);
    const model = eenetFromWeights(w, K);
    const x = new Float64Array(C + 2 + K);
    const pre = new Float64Array(w.hidden);
    const ug = new Float64Array(2);
    let q = new Float64Array(0);
    return {
      reads: ['probs', 'maxProb', 'entropy'],
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
  },
};
