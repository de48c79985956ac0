/**
 * The binned-thresholds rule: the confidence (max probability) of exit k falls
 * in one of B equal bins over [1/C, 1]; each (exit, bin) has its own threshold,
 * null where the rule never exits from that bin. A sample exits at the first
 * k < K-1 whose max probability reaches the threshold of its own bin; the last
 * exit always exits. DEE learns it: its greedy rule decides per bin, and a
 * bin it never continued from keeps going even when a lower bin exits, which
 * one threshold per exit cannot say.
 */
import { z } from 'zod';
import { ruleError, type DecisionRule } from './rule.js';

/** Bin of a max probability: B equal bins over [1/C, 1], clamped (DEE's context). */
export function confidenceBin(conf: number, classes: number, bins: number): number {
  const lo = 1 / classes;
  const b = Math.floor(((conf - lo) / (1 - lo)) * bins);
  return b < 0 ? 0 : b >= bins ? bins - 1 : b;
}

const schema = z.object({
  kind: z.literal('binned'),
  measure: z.literal('maxProb'),
  /** The bins' range starts at 1/classes. */
  classes: z.number().int().min(2),
  bins: z.number().int().min(1),
  /** thresholds[k][b], k < K-1: exit at k when the max probability, in bin b, is >= it; null never exits there. */
  thresholds: z.array(z.array(z.number().nullable())),
});

export const binnedRule: DecisionRule<typeof schema> = {
  kind: 'binned',
  schema,
  deployable: true,
  decider(policy, exits) {
    const K = exits.length;
    const { classes, bins, thresholds: th } = policy;
    if (th.length < K - 1) ruleError(`binned thresholds for ${th.length} exits; the deployment has ${K} (the last needs none)`);
    th.forEach((row, k) => {
      if (row.length !== bins) ruleError(`exit ${k + 1} has ${row.length} binned thresholds for ${bins} bins`);
    });
    return {
      reset() {},
      reads: ['maxProb'],
      plan: (k) => (th[k]!.every((t) => t === null) ? 'never' : 'view'),
      stop(k, _s, v) {
        const t = th[k]![confidenceBin(v.maxProb, classes, bins)];
        return t !== null && t !== undefined && v.maxProb >= t;
      },
    };
  },
};
