/** The random rule: exit k with probability shares[k]. A baseline to compare against, never deployed. */
import { z } from 'zod';
import { ruleError, type DecisionRule } from './rule.js';

const schema = z.object({ kind: z.literal('random'), shares: z.array(z.number()) });

export const randomRule: DecisionRule<typeof schema> = {
  kind: 'random',
  schema,
  deployable: false,
  decider() {
    return ruleError('a random policy is a baseline for comparison, not something to deploy; export a fixed, thresholds, patience or EENet policy');
  },
};
