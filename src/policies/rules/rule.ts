/**
 * A decision rule: one shape of what a policy learns (a fixed exit, per-exit
 * thresholds, patience, EENet's scorer, ...). It owns the JSON form of that
 * state (a zod schema: what the store, the exit-policy file and a bundle's
 * policy.json hold) and the Decider a deployment applies. Several policies
 * learn the same shape: UEE-UCB and the fixed baselines a fixed exit; DEE,
 * CeeBERT and the threshold baselines per-exit thresholds.
 */
import type { z } from 'zod';
import { StudioError } from '../../errors.js';
import type { Decider, ExitShape } from './decider.js';

export interface DecisionRule<S extends z.ZodType> {
  /** The learned state's discriminant, as files store it. */
  readonly kind: string;
  readonly schema: S;
  /** False for a rule that is a baseline only (random): its decider refuses, saying why. */
  readonly deployable: boolean;
  /** Builds the decision for a deployment with these exits; throws a StudioError naming what does not fit them. */
  decider(learned: z.output<S>, exits: readonly ExitShape[]): Decider;
}

/** A learned rule that cannot be applied as it is. */
export function ruleError(problem: string): never {
  throw new StudioError(`policy: ${problem}`, { kind: 'input' });
}
