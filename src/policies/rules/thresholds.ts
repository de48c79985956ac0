/**
 * The thresholds rule: at exit k a sample exits when its confidence measure is
 * at or above (below, for entropy) thresholds[k]; null never exits there; the
 * last exit always exits. DEE, CeeBERT and the threshold baselines learn it.
 */
import { z } from 'zod';
import { riskGuaranteeSchema } from './guarantee.js';
import { ruleError, type DecisionRule } from './rule.js';

const schema = z.object({
  kind: z.literal('thresholds'),
  /** Confidence measure the thresholds compare to. */
  measure: z.enum(['maxProb', 'entropy', 'eenetScore']),
  /** 'above': exit at k when measure >= thresholds[k]; 'below': when <= . */
  direction: z.enum(['above', 'below']),
  thresholds: z.array(z.number().nullable()),
  /** A shared-threshold bandit (CeeBERT): the one threshold it settled on, shared by exits 1..K-1. */
  threshold: z.number().optional(),
  /** A shared-threshold bandit: each arm of its grid with its mean reward Q and update count N. */
  arms: z.array(z.object({ threshold: z.number(), q: z.number(), n: z.number() })).optional(),
  /** A risk-controlled threshold: what it guarantees, with its numbers; the exit-policy file carries it as its `guarantee`. */
  guarantee: riskGuaranteeSchema.optional(),
});

export const thresholdsRule: DecisionRule<typeof schema> = {
  kind: 'thresholds',
  schema,
  deployable: true,
  decider(policy, exits) {
    const K = exits.length;
    if (policy.measure === 'eenetScore') ruleError("thresholds on 'eenetScore' need the EENet scorer: export the EENet policy itself (kind 'eenet')");
    if (policy.thresholds.length < K - 1) ruleError(`${policy.thresholds.length} thresholds for ${K} exits`);
    const th = policy.thresholds;
    const above = policy.direction === 'above';
    const measure = policy.measure;
    return {
      reset() {},
      reads: [measure === 'maxProb' ? 'maxProb' : 'entropy'],
      plan: (k) => (th[k] === null || th[k] === undefined ? 'never' : 'view'),
      stop(k, _s, v) {
        const t = th[k];
        if (t === null || t === undefined) return false;
        const x = measure === 'maxProb' ? v.maxProb : v.entropy;
        return above ? x >= t : x <= t;
      },
    };
  },
};
