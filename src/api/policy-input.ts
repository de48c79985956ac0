/**
 * policy.run's policies and parameters, checked by the registry's own
 * schemas: a payload names each policy by its spec, alone or with values for
 * it only, and may give values for every policy that reads a name.
 */
import { z } from 'zod';
import { isStudioError } from '../errors.js';
import { sharedParams } from '../policies/registry.js';
import { parsePolicySpec, type ParamValues } from '../policies/spec.js';

const paramValue = z.union([z.number(), z.boolean(), z.string()]);

/** Parameter values by name. */
export const paramValues = z.record(z.string().min(1).max(100), paramValue);

/** One policy of a run: "dee", or { policy: "dee", params: { alpha: 0.1 } } for values it alone takes. */
export const policyEntry = z.union([
  z.string().min(1).max(100),
  z.object({ policy: z.string().min(1).max(100), params: paramValues.optional() }).strict(),
]);

export type PolicyEntry = z.output<typeof policyEntry>;

/** The spec and the policy's own values of an entry. */
export function entryOf(e: PolicyEntry): { spec: string; own: ParamValues } {
  return typeof e === 'string' ? { spec: e, own: {} } : { spec: e.policy, own: e.params ?? {} };
}

/**
 * Moves parameters given as top-level fields ({ alpha: 0.5 }: how requests were
 * written before `params`, and how interrupted runs keep them) into `params`,
 * so a stored request runs again as it did.
 */
export function liftFlatParams(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const names = sharedParams();
  const out: Record<string, unknown> = {};
  const lifted: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (names.has(k)) lifted[k] = v;
    else out[k] = v;
  }
  if (Object.keys(lifted).length === 0) return raw;
  const given = out.params;
  out.params = typeof given === 'object' && given !== null && !Array.isArray(given) ? { ...lifted, ...given } : given === undefined ? lifted : given;
  return out;
}

/** Each entry parses against its policy's schema with the run's values: a payload issue at policies.i otherwise. */
export function checkPolicyEntries(input: { policies: PolicyEntry[]; params?: ParamValues | undefined }, ctx: z.RefinementCtx): void {
  input.policies.forEach((e, i) => {
    const { spec, own } = entryOf(e);
    try {
      parsePolicySpec(spec, input.params ?? {}, own);
    } catch (err) {
      if (!isStudioError(err)) throw err;
      ctx.addIssue({ code: 'custom', path: ['policies', i], message: err.message });
    }
  });
  const known = sharedParams();
  for (const name of Object.keys(input.params ?? {})) {
    if (!known.has(name)) ctx.addIssue({ code: 'custom', path: ['params', name], message: `no policy reads a parameter named ${name} (known: ${[...known.keys()].join(', ')})` });
  }
}

/**
 * A policy.run request as a run stored it, in the form it is run again with:
 * flat parameters lifted into `params`, and, for a request kept before runs
 * chose an evaluation mode, the mode those runs had (in-sample: every policy
 * replayed the whole trace).
 */
export function storedRunPayload(raw: unknown): unknown {
  const lifted = liftFlatParams(raw);
  if (typeof lifted !== 'object' || lifted === null || Array.isArray(lifted) || 'evaluation' in lifted) return lifted;
  return { ...lifted, evaluation: { mode: 'in-sample' } };
}
