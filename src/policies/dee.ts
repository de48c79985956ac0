/**
 * DEE, Dynamic Early Exit (Ju, Bao, Ge, Yuan, CIKM 2021), as the studio
 * reconstructs it from the paper's description (docs/policies.md): a
 * contextual bandit deciding at each exit to exit or continue, with the
 * binned max probability as context and the temporal dependence of the
 * continue reward handled by crediting every continued-from context with the
 * episode's terminal reward.
 */
import { z } from 'zod';
import type { Trace } from '../trace/types.js';
import { definePolicy } from './module.js';
import { confidenceBin } from './rules/binned.js';
import type { LearnedPolicy, Observation, Policy, PolicyEnv } from './types.js';

export interface DeeParams {
  /** Number of equal confidence bins over [1/C, 1] (default 10). */
  bins?: number;
  /** Exploration weight (default 1). */
  alpha?: number;
}

export class Dee implements Policy {
  readonly name = 'dee';
  private readonly K: number;
  private readonly C: number;
  private readonly B: number;
  private readonly alpha: number;
  private readonly c: Float64Array;
  /** Q(k, b) at k*B + b: mean terminal reward after continuing from (k, b). */
  private readonly q: Float64Array;
  private readonly n: Float64Array;
  /** Bins continued from in the current episode, by exit. */
  private readonly path: Int32Array;
  private logT = 0;
  private frozen = false;

  constructor(env: PolicyEnv, params: DeeParams = {}) {
    this.K = env.exits;
    this.C = env.classes;
    this.B = params.bins ?? 10;
    this.alpha = params.alpha ?? 1;
    this.c = env.costs;
    this.q = new Float64Array(this.K * this.B);
    this.n = new Float64Array(this.K * this.B);
    this.path = new Int32Array(this.K);
  }

  begin(round: number): number {
    this.logT = this.frozen ? 0 : this.alpha * Math.log(round);
    return 0;
  }

  /**
   * Exit iff r_k >= Q(k, b) + bonus, written conf >= (Q(k, b) + lambda C_k) + bonus: without
   * the bonus (frozen) the comparison is exactly the learned rule's, conf >= its threshold
   * Q(k, b) + lambda C_k, so the exported rule decides as the policy does, bit for bit.
   */
  stop(obs: Observation): boolean {
    const k = obs.depth - 1;
    const conf = obs.maxProb(k);
    const b = confidenceBin(conf, this.C, this.B);
    const i = k * this.B + b;
    const n = this.n[i]!;
    const exit = n > 0 && conf >= this.q[i]! + this.c[k]! + Math.sqrt(this.logT / n);
    if (!exit) this.path[k] = b;
    return exit;
  }

  end(obs: Observation, exit: number): void {
    if (this.frozen) return;
    const r = obs.maxProb(exit) - this.c[exit]!;
    for (let k = 0; k < exit; k++) {
      const i = k * this.B + this.path[k]!;
      const n = ++this.n[i]!;
      this.q[i]! += (r - this.q[i]!) / n;
    }
  }

  freeze(): void {
    this.frozen = true;
  }

  /**
   * The greedy rule (no bonus), per exit and bin: exit when the max probability reaches
   * Q(k, b) + lambda C_k; null where DEE never continued from the bin (n = 0: it continues
   * there, having no evidence to exit). A threshold above its bin's range never fires; it is
   * kept as it is rather than judged against the bin's float edges, so the rule stays exact.
   */
  learned(): LearnedPolicy {
    const { K, B, C } = this;
    const thresholds: (number | null)[][] = [];
    for (let k = 0; k < K - 1; k++) {
      const row: (number | null)[] = [];
      for (let b = 0; b < B; b++) {
        const i = k * B + b;
        row.push(this.n[i]! > 0 ? this.q[i]! + this.c[k]! : null);
      }
      thresholds.push(row);
    }
    return { kind: 'binned', measure: 'maxProb', classes: C, bins: B, thresholds };
  }
}

/**
 * The best per-context exit rule on the samples a run is scored on, by backward induction
 * over the bins: at the last exit always exit; at exit k in bin b, exit iff
 * the mean reward of exiting there beats the mean value of following the
 * optimal rule from k+1. Returns each sample's value under that rule (the
 * comparator DEE's regret is measured against) and the rule itself.
 */
export function deeOptimalRule(
  trace: Trace,
  costs: Float64Array,
  bins = 10,
  /** The samples the rule is optimal on (default every sample): those a run is scored on. value[] is indexed by sample. */
  samples?: ArrayLike<number>,
): { value: Float64Array; exitHere: Uint8Array; meanValue: number } {
  const K = trace.exits.length;
  const N = trace.samples;
  const n = samples ? samples.length : N;
  const at = (i: number): number => (samples ? samples[i]! : i);
  const conf = trace.maxProb!;
  const C = trace.classes;
  const value = new Float64Array(N);
  for (let i = 0; i < n; i++) {
    const s = at(i);
    value[s] = conf[s * K + K - 1]! - costs[K - 1]!;
  }
  const exitHere = new Uint8Array(K * bins);
  exitHere.fill(1, (K - 1) * bins);
  const sumExit = new Float64Array(bins);
  const sumCont = new Float64Array(bins);
  for (let k = K - 2; k >= 0; k--) {
    sumExit.fill(0);
    sumCont.fill(0);
    for (let i = 0; i < n; i++) {
      const s = at(i);
      const x = conf[s * K + k]!;
      const b = confidenceBin(x, C, bins);
      sumExit[b]! += x - costs[k]!;
      sumCont[b]! += value[s]!;
    }
    for (let b = 0; b < bins; b++) exitHere[k * bins + b] = sumExit[b]! >= sumCont[b]! ? 1 : 0;
    for (let i = 0; i < n; i++) {
      const s = at(i);
      const x = conf[s * K + k]!;
      if (exitHere[k * bins + confidenceBin(x, C, bins)]) value[s] = x - costs[k]!;
    }
  }
  let m = 0;
  for (let i = 0; i < n; i++) m += value[at(i)]!;
  return { value, exitHere, meanValue: n > 0 ? m / n : 0 };
}

export const dee = definePolicy({
  id: 'dee',
  title: 'DEE',
  summary: 'Contextual bandit deciding exit-or-continue at each exit from binned confidence (studio reconstruction of Ju et al., CIKM 2021).',
  kind: 'online',
  params: z.object({
    alpha: z.number().min(0).max(1000).default(1).meta({ title: 'α (exploration)', description: 'Exploration weight of the continue bonus sqrt(alpha ln t / n(k, b)).' }),
    bins: z.number().int().min(1).max(1000).default(10).meta({ title: 'Confidence bins', description: 'Equal bins of the max probability over [1/C, 1]: the context.' }),
  }),
  needs: ['confidence'],
  regretKind: 'dee',
  usesHindsight: false,
  learns: ['binned'],
  create: (p, env) => new Dee(env, p),
});
