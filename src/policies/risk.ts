/**
 * Risk-controlled thresholds (docs/policies.md): the cheapest max-probability
 * threshold, shared by exits 1..K-1, whose risk is at most epsilon with
 * probability at least 1 - delta over the draw of the calibration samples.
 * Learn-then-Test (Angelopoulos, Bates, Candès, Jordan, Lei 2021) as CALM
 * (Schuster et al. 2022) uses it for early exit: candidate thresholds are a
 * grid fixed before any data is seen, ordered from the most conservative
 * (always the last exit, risk 0) to the cheapest; each is tested for "risk >
 * epsilon" with a p-value of its losses on the n calibration samples
 * (Hoeffding-Bentkus by default, as LTT and CALM; or the binomial tail:
 * risk-bounds.ts), and the walk goes on while the test rejects (fixed-sequence
 * testing: no multiplicity correction). The last threshold that passed is kept.
 *
 * The risk is label-free by default: disagreement with the last exit. With
 * labels (a supervised run) it may instead be "wrong where the last exit is
 * right": the errors early exiting adds.
 */
import { z } from 'zod';
import type { Trace } from '../trace/types.js';
import { criticalLosses, riskUpperBound, type RiskTest } from './risk-bounds.js';
import { definePolicy } from './module.js';
import { hasLabels } from './reference.js';
import type { RiskGuarantee } from './rules/index.js';
import type { LearnedPolicy, Observation, Policy } from './types.js';

/** The risk a rule is held to. */
export type RiskLoss = RiskGuarantee['risk'];

/** Steps of the threshold grid over [0, 1]: candidates 1, 1 - 1/GRID, ..., 0. */
export const RISK_GRID = 1000;

/** The candidates, most conservative first: grid[i] = 1 - i / RISK_GRID. */
const grid = Float64Array.from({ length: RISK_GRID + 1 }, (_, i) => 1 - i / RISK_GRID);

/** First grid index whose threshold a sample with running max m reaches (grid[i] <= m); RISK_GRID + 1 when none. */
function firstReached(m: number): number {
  let lo = 0;
  let hi = RISK_GRID + 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (grid[mid]! <= m) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface RiskCalibration {
  /** The threshold kept, or null: no candidate passed, every sample goes to the last exit. */
  threshold: number | null;
  guarantee: RiskGuarantee;
}

/**
 * Learn-then-Test on a trace's samples (all of them are the calibration set).
 * A sample exits under threshold t at the first k < K-1 whose max probability
 * reaches t; for grid index i that is the first k whose running max reaches
 * grid[i], so each sample's loss over the whole grid is a few intervals of
 * indices: one pass over the samples fills a difference array, and the walk is
 * O(grid).
 */
export function calibrateRisk(trace: Trace, epsilon: number, delta: number, loss: RiskLoss, test: RiskTest): RiskCalibration {
  const K = trace.exits.length;
  const { pred, maxProb, labels } = trace;
  const conf = maxProb!;
  const diff = new Int32Array(RISK_GRID + 2);
  let n = 0;
  for (let s = 0; s < trace.samples; s++) {
    const o = s * K;
    const y = labels ? labels[s]! : -1;
    if (loss === 'error' && y < 0) continue; // an unlabelled sample says nothing about errors
    n++;
    const last = pred[o + K - 1]!;
    let m = -Infinity;
    let upTo = RISK_GRID + 1; // grid indices below this reached an earlier exit
    for (let k = 0; k < K - 1 && upTo > 0; k++) {
      if (conf[o + k]! > m) m = conf[o + k]!;
      const from = firstReached(m);
      if (from >= upTo) continue;
      const p = pred[o + k]!;
      const lost = loss === 'disagreement' ? p !== last : p !== y && last === y;
      if (lost) {
        diff[from]!++;
        diff[upTo]!--;
      }
      upTo = from;
    }
  }
  const critical = criticalLosses(n, epsilon, delta, test);
  let kept = -1;
  let keptLosses = 0;
  let losses = 0;
  for (let i = 0; i <= RISK_GRID; i++) {
    losses += diff[i]!;
    if (losses > critical) break;
    kept = i;
    keptLosses = losses;
  }
  const upperBound = riskUpperBound(keptLosses, n, delta, test);
  return {
    threshold: kept < 0 ? null : grid[kept]!,
    guarantee: {
      kind: 'risk',
      statement: riskStatement(loss, epsilon, delta, n, test, upperBound),
      method: 'learn-then-test',
      test,
      risk: loss,
      epsilon,
      delta,
      n,
      losses: keptLosses,
      empiricalRisk: n > 0 ? keptLosses / n : 0,
      upperBound,
    },
  };
}

/** The guarantee in words, as the exit-policy file and a bundle show it. */
function riskStatement(loss: RiskLoss, epsilon: number, delta: number, n: number, test: RiskTest, upperBound: number): string {
  const what = loss === 'disagreement' ? 'disagreement with the last exit' : 'errors the last exit does not make';
  return `${what} <= ${epsilon} with probability >= ${1 - delta} over the draw of the ${n} calibration samples (Learn-then-Test, ${test} bound ${upperBound.toPrecision(4)})`;
}

export class RiskPolicy implements Policy {
  readonly name: string;
  constructor(
    private readonly K: number,
    private readonly cal: RiskCalibration,
  ) {
    this.name = `risk:${cal.guarantee.epsilon}`;
  }
  begin(): number {
    return 0;
  }
  stop(obs: Observation): boolean {
    const t = this.cal.threshold;
    return t !== null && obs.maxProb(obs.depth - 1) >= t;
  }
  end(): void {}
  learned(): LearnedPolicy {
    const t = this.cal.threshold;
    const thresholds: (number | null)[] = new Array<number | null>(this.K).fill(t);
    thresholds[this.K - 1] = 0; // the last exit always exits
    return {
      kind: 'thresholds',
      measure: 'maxProb',
      direction: 'above',
      thresholds,
      ...(t === null ? {} : { threshold: t }),
      guarantee: this.cal.guarantee,
    };
  }
}

export const risk = definePolicy({
  id: 'risk',
  title: 'Risk-controlled threshold',
  summary: 'The cheapest max-probability threshold whose disagreement with the last exit is at most EPS with probability 1 - delta (Learn-then-Test, as CALM uses it).',
  kind: 'fitted',
  params: z.object({
    epsilon: z
      .number()
      .gt(0)
      .lt(1)
      .meta({ title: 'ε (risk)', description: 'The most risk allowed: disagreement with the last exit (or, with loss "error", the errors the last exit does not make).', examples: [0.05] }),
    delta: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.1)
      .meta({ title: 'δ (confidence)', description: 'The guarantee may fail with probability at most delta over the draw of the calibration samples.' }),
    loss: z
      .enum(['disagreement', 'error'])
      .default('disagreement')
      .meta({ title: 'Risk', description: 'disagreement: with the last exit (label-free); error: wrong where the last exit is right (reads labels: a supervised run).' }),
    test: z
      .enum(['hoeffding-bentkus', 'binomial'])
      .default('hoeffding-bentkus')
      .meta({ title: 'Test', description: 'The p-value of each threshold\'s losses: Hoeffding-Bentkus (as LTT and CALM use it) or the binomial tail (exact for a 0/1 loss, a little less conservative).' }),
  }),
  arg: { param: 'epsilon', noun: 'a risk level' },
  needs: ['confidence'],
  regretKind: 'contextual',
  usesHindsight: true,
  learns: ['thresholds'],
  refuse: (p, trace, _costs, supervised) => {
    if (p.loss !== 'error') return undefined;
    if (!hasLabels(trace)) return 'the "error" risk needs labels; this trace has none (use the label-free "disagreement")';
    return supervised ? undefined : 'the "error" risk reads labels: run it supervised, or use the label-free "disagreement"';
  },
  create: (p, env) => new RiskPolicy(env.exits, calibrateRisk(env.calibration, p.epsilon, p.delta, p.loss, p.test)),
});
