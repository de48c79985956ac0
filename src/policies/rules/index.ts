/**
 * The decision rules, one line each: what a learned policy can be, as files
 * store it, and the Decider a deployment applies. The union of their schemas
 * is the `decision` of an exit-policy file and a bundle's policy.json, and the
 * LearnedPolicy type is inferred from it, so the two cannot drift apart.
 */
import { z } from 'zod';
import { binnedRule } from './binned.js';
import type { Decider, ExitShape } from './decider.js';
import { eenetRule } from './eenet.js';
import { fixedRule } from './fixed.js';
import { patienceRule } from './patience.js';
import { randomRule } from './random.js';
import type { DecisionRule } from './rule.js';
import { thresholdsRule } from './thresholds.js';

const rules = [
  fixedRule,
  randomRule,
  thresholdsRule,
  binnedRule,
  patienceRule,
  eenetRule,
] as const;

type Schemas<T extends readonly DecisionRule<z.ZodObject>[]> = { -readonly [I in keyof T]: T[I]['schema'] };

export const learnedPolicySchema = z.discriminatedUnion('kind', rules.map((r) => r.schema) as Schemas<typeof rules>);

/** What a policy learned, in the JSON form a deployment applies. Exit indices are 0-based. */
export type LearnedPolicy = z.output<typeof learnedPolicySchema>;
export type LearnedKind = LearnedPolicy['kind'];

/** The rule that owns learned states of this kind. */
export function ruleOf(kind: LearnedKind): DecisionRule<z.ZodObject> & { decider(learned: LearnedPolicy, exits: readonly ExitShape[]): Decider } {
  // Each rule's decider takes its own member of the union; the kind picks the member.
  return rules.find((r) => r.kind === kind) as DecisionRule<z.ZodObject> & { decider(learned: LearnedPolicy, exits: readonly ExitShape[]): Decider };
}

/** The Decider of a learned policy, from its rule: what the runtime applies and the exporter checks. */
export function makeDecider(learned: LearnedPolicy, exits: readonly ExitShape[]): Decider {
  return ruleOf(learned.kind).decider(learned, exits);
}

export type { Decider, ExitShape, ExitView, ViewField } from './decider.js';
export { eenetFromWeights, type EENetWeights } from './eenet.js';
export { confidenceBin } from './binned.js';
export { guaranteeSchema, riskGuaranteeSchema, type Guarantee, type RiskGuarantee } from './guarantee.js';
