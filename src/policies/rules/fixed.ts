/** The fixed-exit rule: every sample exits at one exit (UEE-UCB's choice, the fixed baselines, EENet before its first fit). */
import { z } from 'zod';
import { ruleError, type DecisionRule } from './rule.js';

const schema = z.object({
  kind: z.literal('fixed'),
  /** 0-based exit index. */
  exit: z.number().int().nonnegative(),
  /** When present, the exit is found by name in the deployment (robust to a different exit order). */
  exitName: z.string().optional(),
  /** UEE-UCB: how often each exit was observed. */
  counts: z.array(z.number()).optional(),
});

export const fixedRule: DecisionRule<typeof schema> = {
  kind: 'fixed',
  schema,
  deployable: true,
  decider(policy, exits) {
    const K = exits.length;
    let at = policy.exit;
    if (policy.exitName !== undefined) {
      const byName = exits.findIndex((e) => e.name === policy.exitName);
      if (byName < 0) ruleError(`fixed exit '${policy.exitName}' is not one of the bundle's exits (${exits.map((e) => e.name).join(', ')})`);
      at = byName;
    }
    if (!Number.isInteger(at) || at < 0 || at >= K) ruleError(`fixed exit index ${policy.exit} is outside 0..${K - 1}`);
    return { reset() {}, reads: [], stop: (k) => k >= at, plan: (k) => (k >= at ? 'always' : 'never') };
  },
};
