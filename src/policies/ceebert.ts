/**
 * CeeBERT (Bajpai and Hanawal, "CeeBERT: Cross-Domain Inference in Early Exit
 * BERT", Findings of ACL 2024; code Div290/CeeBERT): a UCB bandit over one
 * max-probability threshold shared by exits 1..K-1, label-free and online.
 *
 * Arms are the thresholds of a grid (the authors': 0.50, 0.55, ..., 0.95). A
 * round with arm a computes exits in order and exits at the first k < K whose
 * max probability reaches alpha_a, else at K. The reward of an arm b whose exit
 * j_b is known is (p_{j_b} - p_1) - lambda (C_{j_b} - C_1): the confidence
 * gained over exit 1 minus the cost of going deeper, 0 at exit 1. The index is
 * Q_a + c sqrt(ln t / N_a), t the 0-based round; the first |A| rounds play
 * each arm once; ties go to the lowest threshold.
 *
 * Side information: every arm with a lower threshold than the one played
 * exits at or before the observed exit, so its reward is known whatever the
 * sample: updating them all ('lower', the default) is unbiased. The authors'
 * two-exit notebook also updates the higher arms by threshold order when the
 * round reached the last exit ('order'): their rewards are right, but they are
 * updated only on samples that went deep, which skews their means down.
 * 'chosen' updates the played arm alone (the authors' one-exit notebook).
 */
import { z } from 'zod';
import { definePolicy } from './module.js';
import type { LearnedPolicy, Observation, Policy, PolicyEnv } from './types.js';

/** Which arms a round updates besides the one played. */
export type SideInformation = 'lower' | 'order' | 'chosen';

/** The authors' grid: 0.50, 0.55, ..., 0.95. */
export const CEEBERT_GRID: readonly number[] = Array.from({ length: 10 }, (_, i) => (50 + 5 * i) / 100);

export interface CeeBertOptions {
  /** Exploration weight c of the index (the authors' 2). */
  c: number;
  update: SideInformation;
  /** Ascending thresholds, one arm each (default CEEBERT_GRID). */
  grid?: readonly number[];
}

export class CeeBert implements Policy {
  readonly name = 'ceebert';
  private readonly K: number;
  /** lambda * C_k. */
  private readonly cost: Float64Array;
  private readonly grid: Float64Array;
  private readonly c: number;
  private readonly update: SideInformation;
  /** Q_a: mean reward of arm a over its updates; N_a their count. */
  readonly q: Float64Array;
  readonly n: Float64Array;
  /** Running max of the max probability over exits 1..k of the current sample. */
  private readonly runMax: Float64Array;
  private arm = 0;
  private frozen = false;

  constructor(env: PolicyEnv, opts: CeeBertOptions) {
    const grid = opts.grid ?? CEEBERT_GRID;
    this.K = env.exits;
    this.cost = env.costs;
    this.grid = Float64Array.from(grid);
    this.c = opts.c;
    this.update = opts.update;
    this.q = new Float64Array(grid.length);
    this.n = new Float64Array(grid.length);
    this.runMax = new Float64Array(this.K);
  }

  /** The arm the index plays in round `round` (1-based, as the engine counts). */
  begin(round: number): number {
    if (this.frozen) return 0; // the best arm, set by freeze()
    const t = round - 1;
    const A = this.grid.length;
    if (t < A) {
      this.arm = t;
      return 0;
    }
    const bonus = this.c * this.c * Math.log(t); // c sqrt(ln t / N) = sqrt(c^2 ln t / N)
    let best = 0;
    let bestV = -Infinity;
    for (let a = 0; a < A; a++) {
      const v = this.q[a]! + Math.sqrt(bonus / this.n[a]!);
      if (v > bestV) {
        bestV = v; // strict '>': ties go to the lowest threshold
        best = a;
      }
    }
    this.arm = best;
    return 0;
  }

  /** The arm of the round in progress: its index in the grid. */
  get played(): number {
    return this.arm;
  }

  stop(obs: Observation): boolean {
    return obs.maxProb(obs.depth - 1) >= this.grid[this.arm]!;
  }

  end(obs: Observation, exit: number): void {
    if (this.frozen) return;
    const m = this.runMax;
    let top = -Infinity;
    for (let k = 0; k <= exit; k++) m[k] = top = Math.max(top, obs.maxProb(k));
    const p1 = m[0]!;
    const c1 = this.cost[0]!;
    const reward = (j: number): number => obs.maxProb(j) - p1 - (this.cost[j]! - c1);
    const a = this.arm;
    const r = reward(exit);
    this.credit(a, r);
    if (this.update === 'chosen') return;
    // A lower arm b exits at the first k < K-1 whose running max reaches its threshold, else at K-1;
    // as b falls that exit can only move earlier, so one pointer walks down from the observed exit.
    const last = this.K - 1;
    let j = exit;
    for (let b = a - 1; b >= 0; b--) {
      const th = this.grid[b]!;
      while (j > 0 && m[j - 1]! >= th) j--;
      this.credit(b, j === exit ? r : reward(j));
    }
    // The authors' order rule: a round that reached the last exit says the same of every higher arm.
    if (this.update === 'order' && exit === last) for (let b = a + 1; b < this.grid.length; b++) this.credit(b, r);
  }

  private credit(arm: number, r: number): void {
    const n = ++this.n[arm]!;
    this.q[arm]! += (r - this.q[arm]!) / n;
  }

  /** The arm with the highest mean reward among those updated (ties: the lowest threshold). */
  private bestArm(): number {
    let best = 0;
    let bestV = -Infinity;
    for (let a = 0; a < this.grid.length; a++) {
      if (this.n[a]! > 0 && this.q[a]! > bestV) {
        bestV = this.q[a]!;
        best = a;
      }
    }
    return best;
  }

  freeze(): void {
    this.frozen = true;
    this.arm = this.bestArm();
  }

  /** The best arm, as a thresholds rule. */
  learned(): LearnedPolicy {
    const best = this.bestArm();
    const threshold = this.grid[best]!;
    const thresholds = new Array<number>(this.K).fill(threshold);
    thresholds[this.K - 1] = 0; // the last exit always exits
    const arms = Array.from(this.grid, (th, i) => ({ threshold: th, q: this.q[i]!, n: this.n[i]! }));
    return { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds, threshold, arms };
  }
}

export const ceebert = definePolicy({
  id: 'ceebert',
  title: 'CeeBERT',
  summary: 'UCB bandit over one max-probability threshold shared by every exit, label-free (Bajpai and Hanawal, 2024).',
  kind: 'online',
  params: z.object({
    c: z.number().min(0).max(100).default(2).meta({ title: 'c (exploration)', description: 'Exploration weight of the index Q_a + c sqrt(ln t / N_a) (the authors\' 2).' }),
    update: z
      .enum(['lower', 'order', 'chosen'])
      .default('lower')
      .meta({ title: 'Side information', description: 'Arms a round updates besides the one played: every lower threshold (unbiased), also the higher ones when the last exit was reached (the authors\' order rule), or none.' }),
  }),
  needs: ['confidence'],
  regretKind: 'contextual',
  usesHindsight: false,
  learns: ['thresholds'],
  create: (p, env) => new CeeBert(env, p),
});
