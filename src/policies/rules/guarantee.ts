/**
 * What a learned rule guarantees, when it guarantees anything: a statement
 * with the numbers it rests on, which the exit-policy file carries beside
 * the rule (its `guarantee`). Kept generic, so a new guarantee needs no new
 * file format: a kind, a statement in words, and its numbers by name.
 * Risk control fills it (riskGuaranteeSchema), e.g. { kind: 'risk',
 * statement: 'disagreement with the last exit <= 0.05 with probability >=
 * 0.9 over the draw of the 5000 calibration samples …', method:
 * 'learn-then-test', test: 'hoeffding-bentkus', risk: 'disagreement',
 * epsilon: 0.05, delta: 0.1, n: 5000, losses: 220, empiricalRisk: 0.044,
 * upperBound: 0.0497 }.
 */
import { z } from 'zod';

export const guaranteeSchema = z
  .object({
    /** What kind of guarantee ('risk': a bound on the risk of the rule's decisions). */
    kind: z.string().min(1),
    /** The guarantee in words, as a user should read it. */
    statement: z.string().min(1),
  })
  .catchall(z.union([z.number(), z.string(), z.boolean(), z.null()]));

export type Guarantee = z.output<typeof guaranteeSchema>;

/**
 * What a risk-controlled threshold promises (Learn-then-Test): with probability at least
 * 1 - delta over the draw of the n calibration samples, the rule's risk is at most epsilon.
 * A Guarantee of kind 'risk' whose numbers are checked by name.
 */
export const riskGuaranteeSchema = z.object({
  kind: z.literal('risk'),
  statement: z.string().min(1),
  /** Learn-then-Test with fixed-sequence testing, from the most conservative threshold down. */
  method: z.literal('learn-then-test'),
  /** Each test's p-value from the losses counted: the binomial lower tail, or Hoeffding-Bentkus. */
  test: z.enum(['binomial', 'hoeffding-bentkus']),
  /** disagreement: with the last exit (label-free); error: wrong where the last exit is right (labels). */
  risk: z.enum(['disagreement', 'error']),
  epsilon: z.number(),
  delta: z.number(),
  /** Calibration samples the threshold was tested on. */
  n: z.number().int(),
  /** The chosen rule's losses on them, and their share. */
  losses: z.number().int(),
  empiricalRisk: z.number(),
  /** The (1 - delta) upper confidence bound on the chosen rule's risk from those losses, at most epsilon. */
  upperBound: z.number(),
});

export type RiskGuarantee = z.output<typeof riskGuaranteeSchema>;
