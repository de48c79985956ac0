/**
 * What a deployment computes for a learned policy to decide on: at exit k, for one sample, the
 * features a trace would hold. The decision itself comes from the policy's rule
 * (src/policies/rules: makeDecider). Features are rounded to float32 before comparing, because traces
 * store them as float32 and the thresholds were learned on those: the deployed decision is then
 * the one the replay made, not one a rounding away from it.
 */
import type { ExitShape, ExitView } from '../policies/rules/index.js';
import { featuresOf, softmaxInto, type Features } from '../trace/features.js';

/** What the runtime knows of each exit. */
export interface ExitSpec extends ExitShape {
  /** logits get a softmax; probs are used as they are. */
  kind: 'logits' | 'probs';
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

/** Predicted class of one row: the first largest probability, as viewOf finds it (softmax first for logits). */
export function predOf(scores: ArrayLike<number>, row: number, exit: ExitSpec, scratch: Float64Array): number {
  const C = exit.classes;
  if (exit.kind === 'logits') softmaxInto(scores, row * C, C, scratch);
  else for (let c = 0; c < C; c++) scratch[c] = scores[row * C + c]!;
  let best = 0;
  for (let c = 1; c < C; c++) if (scratch[c]! > scratch[best]!) best = c;
  return best;
}

export { makeDecider, eenetFromWeights, type Decider, type ExitView } from '../policies/rules/index.js';
