/**
 * UEE-UCB (Hari Narayan N U, Hanawal, Bhardwaj, AIMLSystems 2022): exits are
 * arms; playing exit j reveals y_1..y_j. Under strong dominance the loss gap
 * to exit 1 is the observable disagreement rate P(y_1 != y_j), so the index
 * p_j + c_1 - c_j + sqrt(alpha ln t / N_j) needs no labels.
 */
import { z } from 'zod';
import { definePolicy } from './module.js';
import type { Observation, LearnedPolicy, Policy, PolicyEnv } from './types.js';

export interface UeeUcbParams {
  /** Exploration weight (the paper's alpha; default 1). */
  alpha?: number;
}

export class UeeUcb implements Policy {
  readonly name = 'uee-ucb';
  private readonly K: number;
  private readonly c: Float64Array;
  private readonly alpha: number;
  /** N_j: times y_j was observed. */
  private readonly n: Float64Array;
  /** D_j: times y_j != y_1 among those. */
  private readonly d: Float64Array;
  private frozen = false;

  constructor(env: PolicyEnv, params: UeeUcbParams = {}) {
    this.K = env.exits;
    this.c = env.costs;
    this.alpha = params.alpha ?? 1;
    this.n = new Float64Array(this.K);
    this.d = new Float64Array(this.K);
  }

  begin(round: number): number {
    const K = this.K;
    if (this.frozen) return this.greedy();
    if (round === 1) return K - 1; // round 1 plays the last exit so every arm is observed once
    const n = this.n;
    const d = this.d;
    const c = this.c;
    const c1 = c[0]!;
    const logT = this.alpha * Math.log(round); // t is the 1-based round being decided
    let best = 0;
    let bestV = -Infinity;
    for (let j = 0; j < K; j++) {
      const nj = n[j]!;
      // An arm never observed (only possible after a custom warm start) gets an infinite bonus.
      const v = nj > 0 ? d[j]! / nj + c1 - c[j]! + Math.sqrt(logT / nj) : Infinity;
      if (v > bestV) {
        bestV = v; // strict '>' keeps the smallest j on ties, as the published code's argmax does
        best = j;
      }
    }
    return best;
  }

  stop(): boolean {
    return true;
  }

  end(obs: Observation, exit: number): void {
    if (this.frozen) return;
    const y1 = obs.pred(0);
    const n = this.n;
    const d = this.d;
    n[0]!++;
    for (let k = 1; k <= exit; k++) {
      n[k]!++;
      if (obs.pred(k) !== y1) d[k]!++;
    }
  }

  /** The exit the index prefers without its bonus: what a deployment applies. */
  private greedy(): number {
    let best = 0;
    let bestV = -Infinity;
    for (let j = 0; j < this.K; j++) {
      const nj = this.n[j]!;
      const v = nj > 0 ? this.d[j]! / nj + this.c[0]! - this.c[j]! : -Infinity;
      if (v > bestV) {
        bestV = v;
        best = j;
      }
    }
    return best;
  }

  freeze(): void {
    this.frozen = true;
  }

  learned(): LearnedPolicy {
    return { kind: 'fixed', exit: this.greedy(), counts: Array.from(this.n) };
  }
}

export const ueeUcb = definePolicy({
  id: 'uee-ucb',
  aliases: ['ueeucb'],
  title: 'UEE-UCB',
  summary: 'Unsupervised UCB bandit over exits (Hari Narayan N U et al., AIMLSystems 2022).',
  kind: 'online',
  params: z.object({
    alpha: z.number().min(0).max(1000).default(1).meta({ title: 'α (exploration)', description: 'Exploration weight of the index p_j + c_1 - c_j + sqrt(alpha ln t / N_j) (the paper\'s 1).' }),
  }),
  needs: [],
  regretKind: 'fixed-exit',
  usesHindsight: false,
  learns: ['fixed'],
  create: (p, env) => new UeeUcb(env, p),
});
