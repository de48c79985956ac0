/** The patience rule (PABEE): exit once `patience` consecutive exits agree on the class. */
import { z } from 'zod';
import { ruleError, type DecisionRule } from './rule.js';

const schema = z.object({ kind: z.literal('patience'), patience: z.number().int().positive() });

export const patienceRule: DecisionRule<typeof schema> = {
  kind: 'patience',
  schema,
  deployable: true,
  decider(policy) {
    const P = policy.patience;
    if (!Number.isInteger(P) || P < 1) ruleError(`patience must be a whole number ≥ 1, got ${P}`);
    let run = new Int32Array(0);
    let prev = new Int32Array(0);
    return {
      reads: ['pred'],
      reset(n) {
        run = new Int32Array(n);
        prev = new Int32Array(n).fill(-1);
      },
      stop(_k, s, v) {
        run[s] = v.pred === prev[s] ? run[s]! + 1 : 1;
        prev[s] = v.pred;
        return run[s]! >= P;
      },
    };
  },
};
