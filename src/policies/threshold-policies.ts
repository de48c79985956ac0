/**
 * The confidence-threshold baselines as policies: a threshold the user gives
 * (maxprob:T, entropy:T) and one calibrated on calibration data to a budget
 * (maxprob@budget:B, entropy@budget:B). One family, one implementation
 * (threshold.ts); each member is its own registry entry.
 */
import { z } from 'zod';
import { budgetFor, budgetParam, budgetRefusal, defaultBudget } from './costs.js';
import { definePolicy, type PolicyModule } from './module.js';
import { calibrateThreshold, ThresholdPolicy, type ThresholdMeasure } from './threshold.js';

const MEASURE = {
  maxProb: { head: 'maxprob', need: 'confidence', words: 'max probability', style: 'MSDNet style', example: 0.9, passes: 'reaches T' },
  entropy: { head: 'entropy', need: 'entropy', words: 'normalized entropy', style: 'BranchyNet style', example: 0.2, passes: 'is at most T' },
} as const;

function givenThreshold(measure: ThresholdMeasure, title: string): PolicyModule {
  const m = MEASURE[measure];
  return definePolicy({
    id: m.head,
    title,
    summary: `Exit at the first exit whose ${m.words} ${m.passes} (${m.style}).`,
    kind: 'baseline',
    params: z.object({
      threshold: z.number().min(0).max(1).meta({ title: 'Threshold', description: `The ${m.words} at which a sample exits.`, examples: [m.example] }),
    }),
    arg: { param: 'threshold', noun: 'a threshold' },
    needs: [m.need],
    regretKind: 'contextual',
    usesHindsight: false,
    learns: ['thresholds'],
    create: (p, env) => new ThresholdPolicy(`${m.head}:${p.threshold}`, measure, p.threshold, env.exits),
  });
}

function budgetThreshold(measure: ThresholdMeasure, title: string): PolicyModule {
  const m = MEASURE[measure];
  const head = `${m.head}@budget`;
  return definePolicy({
    id: head,
    title,
    summary: `A ${m.words} threshold calibrated on the calibration data so its mean cost there is the largest not above B.`,
    kind: 'fitted',
    params: z.object({ budget: budgetParam }),
    arg: { param: 'budget', noun: 'a budget' },
    needs: [m.need],
    regretKind: 'contextual',
    usesHindsight: true,
    learns: ['thresholds'],
    costDefaults: (costs) => ({ budget: defaultBudget(costs) }),
    refuse: (p, _trace, costs) => budgetRefusal(p.budget, costs),
    create: (p, env, costs) => {
      const budget = budgetFor(p.budget, costs);
      return new ThresholdPolicy(`${head}:${budget}`, measure, calibrateThreshold(env.calibration, measure, budget, costs), env.exits);
    },
  });
}

export const maxprob = givenThreshold('maxProb', 'Max-probability threshold');
export const entropy = givenThreshold('entropy', 'Entropy threshold');
export const maxprobAtBudget = budgetThreshold('maxProb', 'Max-probability at a budget');
export const entropyAtBudget = budgetThreshold('entropy', 'Entropy at a budget');
