/**
 * A learned rule applied to a trace's samples as a deployment applies it: the
 * rule's own Decider (src/policies/rules, the one the runtime and the
 * exporter use) fed, exit by exit, the features the trace holds. This is what
 * "the exported rule" decides; the engine compares it with what the policy did
 * live (the share of the stream spent on the learned rule), and the parity
 * tests compare it with the policy frozen.
 */
import type { Trace } from '../trace/types.js';
import { makeDecider, ruleOf, type ExitView, type LearnedPolicy } from './rules/index.js';

/** Whether a deployment can apply this rule (a random baseline cannot). */
export function isDeployable(learned: LearnedPolicy): boolean {
  return ruleOf(learned.kind).deployable;
}

/**
 * The exit (0-based) `learned` takes for each sample of `rows`, in that order.
 * Features come from the trace as stored (float32), as a deployment computes
 * them (src/runtime/decide.ts rounds them to float32 too). Only the columns
 * the decider says it reads are read; one the trace lacks reads as NaN (or no
 * probabilities), which only a rule that needs it would notice, and such a
 * policy is refused on that trace before it runs.
 */
export function ruleExits(trace: Trace, learned: LearnedPolicy, rows: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const K = trace.exits.length;
  const C = trace.classes;
  const m = rows.length;
  const exits = out && out.length === m ? out : new Uint8Array(m);
  const decider = makeDecider(learned, trace.exits.map((e) => ({ name: e.name, classes: C })));
  decider.reset(m);
  const plan = Array.from({ length: K - 1 }, (_, k) => decider.plan?.(k) ?? 'view');
  const reads = new Set(decider.reads ?? ['probs', 'pred', 'maxProb', 'entropy']);
  // Only the columns the rule reads (and the trace has): the others stay as they are in the view.
  const pred = reads.has('pred') ? trace.pred : undefined;
  const maxProb = reads.has('maxProb') ? trace.maxProb : undefined;
  const entropy = reads.has('entropy') ? trace.entropy : undefined;
  const probs = reads.has('probs') ? trace.probs : undefined;
  const view: ExitView = { probs: new Float32Array(0), pred: 0, maxProb: NaN, entropy: NaN };
  for (let i = 0; i < m; i++) {
    const s = rows[i]!;
    let k = 0;
    for (; k < K - 1; k++) {
      const p = plan[k];
      if (p === 'never') continue;
      if (p === 'always') break;
      const at = s * K + k;
      if (maxProb) view.maxProb = maxProb[at]!;
      if (pred) view.pred = pred[at]!;
      if (entropy) view.entropy = entropy[at]!;
      if (probs) view.probs = probs.subarray(at * C, at * C + C);
      if (decider.stop(k, i, view)) break;
    }
    exits[i] = k;
  }
  return exits;
}

/** Marks a sample with no live exit to compare (exits are below 255: the engine's limit). */
const NONE = 255;

/**
 * The share of rounds `from`..n-1 of a replay in which the exit taken live is
 * the exit `learned` takes on that round's sample: how much of that stretch
 * the policy spent on the rule it exports. NaN for a rule no deployment
 * applies, or an empty stretch.
 *
 * The rule decides each sample on its own, so the stretch is evaluated in
 * memory order (each sample's live exit noted in a byte per sample, then the
 * marked samples taken in index order): reading the trace's rows in the
 * stream's shuffled order would cost a cache miss per read, more than the
 * decisions themselves. `order` holds each sample once (the engine's streams
 * are permutations); a stretch that repeats a sample is evaluated as streamed.
 */
export function onRuleShare(trace: Trace, learned: LearnedPolicy, order: Uint32Array, exit: Uint8Array, from: number): number {
  const n = order.length;
  if (from >= n || !isDeployable(learned)) return NaN;
  const m = n - from;
  const live = new Uint8Array(trace.samples).fill(NONE);
  let repeats = false;
  for (let t = from; t < n; t++) {
    const s = order[t]!;
    if (live[s] !== NONE) repeats = true;
    live[s] = exit[t]!;
  }
  let same = 0;
  if (repeats) {
    const rule = ruleExits(trace, learned, order.subarray(from));
    for (let t = from; t < n; t++) if (exit[t] === rule[t - from]) same++;
    return same / m;
  }
  const rows = new Uint32Array(m);
  for (let s = 0, i = 0; s < trace.samples; s++) if (live[s] !== NONE) rows[i++] = s;
  const rule = ruleExits(trace, learned, rows);
  for (let i = 0; i < m; i++) if (live[rows[i]!] === rule[i]) same++;
  return same / m;
}
