/**
 * What a learned rule guarantees, when it guarantees anything: a statement
 * with the numbers it rests on, which the exit-policy file carries beside
 * the rule (its `guarantee`). Risk control fills it, e.g.
 * { kind: 'risk', statement: 'disagreement with the last exit <= 0.05 with
 * probability >= 0.9 over the calibration draw', eps: 0.05, delta: 0.1,
 * n: 5000, bound: 0.047 }. Kept generic, so a new guarantee needs no new
 * file format: a kind, a statement in words, and its numbers by name.
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
