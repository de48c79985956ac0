/**
 * Geometric budget (MSDNet's budgeted protocol, Huang et al. 2018; EENet's
 * code uses it as a baseline; label-free): exit shares p_k proportional to q^k,
 * q solved so the expected cost sum_k p_k C_k equals the budget; then per-exit
 * max-probability thresholds that give each exit its share, filled from exit 1
 * on (share-filling.ts) on the calibration data.
 */
import { z } from 'zod';
import { budgetFor, budgetParam, budgetRefusal, defaultBudget } from './costs.js';
import { definePolicy } from './module.js';
import { fillShares, NEVER } from './share-filling.js';
import type { LearnedPolicy, Observation, Policy } from './types.js';

/** Shares proportional to q^k (k = 1..K) for log q = lq, computed without overflow. */
function sharesAt(lq: number, K: number): Float64Array {
  const p = new Float64Array(K);
  const top = lq > 0 ? lq * K : lq; // the largest k * lq
  let sum = 0;
  for (let k = 0; k < K; k++) sum += p[k] = Math.exp((k + 1) * lq - top);
  for (let k = 0; k < K; k++) p[k]! /= sum;
  return p;
}

const costOf = (p: Float64Array, costs: ArrayLike<number>): number => p.reduce((c, pk, k) => c + pk * costs[k]!, 0);

/**
 * The geometric shares whose expected cost is the budget. The cost rises with
 * q (mass moves to deeper, dearer exits), so q is found by bisection on log q;
 * a budget at or beyond the last exit's cost gives everything to the last exit.
 */
export function geometricShares(budget: number, costs: ArrayLike<number>): Float64Array {
  const K = costs.length;
  let lo = -60;
  let hi = 60;
  if (costOf(sharesAt(hi, K), costs) <= budget) return sharesAt(hi, K);
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (costOf(sharesAt(mid, K), costs) <= budget) lo = mid;
    else hi = mid;
  }
  return sharesAt(lo, K);
}

export class GeometricPolicy implements Policy {
  readonly name: string;
  constructor(
    budget: number,
    /** Per-exit max-probability thresholds (NEVER where no sample exits; 0 at the last). */
    private readonly thresholds: Float64Array,
    /** The shares they were filled to. */
    readonly shares: Float64Array,
  ) {
    this.name = `geometric@budget:${budget}`;
  }
  begin(): number {
    return 0;
  }
  stop(obs: Observation): boolean {
    const k = obs.depth - 1;
    return obs.maxProb(k) >= this.thresholds[k]!;
  }
  end(): void {}
  learned(): LearnedPolicy {
    const thresholds = Array.from(this.thresholds, (t) => (t === NEVER ? null : t));
    return { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds };
  }
}

export const geometric = definePolicy({
  id: 'geometric@budget',
  title: 'Geometric budget',
  summary: 'Exit shares proportional to q^k with q set so the mean cost is B, given by per-exit max-probability thresholds (MSDNet\'s budgeted protocol).',
  kind: 'fitted',
  params: z.object({ budget: budgetParam }),
  arg: { param: 'budget', noun: 'a budget' },
  needs: ['confidence'],
  regretKind: 'contextual',
  usesHindsight: true,
  learns: ['thresholds'],
  costDefaults: (costs) => ({ budget: defaultBudget(costs) }),
  refuse: (p, _trace, costs) => budgetRefusal(p.budget, costs),
  create: (p, env, costs) => {
    const t = env.calibration;
    const K = t.exits.length;
    const budget = budgetFor(p.budget, costs);
    const shares = geometricShares(budget, costs);
    const th = fillShares(t.maxProb!, shares.map((s) => s * t.samples), t.samples, K);
    return new GeometricPolicy(budget, th, shares);
  },
});
