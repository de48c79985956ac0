/**
 * Every policy the studio knows, one line each (module.ts says what a line
 * holds). The spec parser, the CLI's flags and help, `exit-studio policies`,
 * the Policy lab's form and policy.run's payload checks all read this list.
 */
import { bestFixed } from './best-fixed.js';
import { ceebert } from './ceebert.js';
import { dee } from './dee.js';
import { eenet } from './eenet-policy.js';
import { fixed, last } from './fixed.js';
import { geometric } from './geometric.js';
import type { ParamValues, PolicyModule } from './module.js';
import { paramsJsonSchema, type ParamJsonSchema, type ParamsJsonSchema } from './params.js';
import { patience } from './patience.js';
import { random } from './random.js';
import { risk } from './risk.js';
import { entropy, entropyAtBudget, maxprob, maxprobAtBudget } from './threshold-policies.js';
import { ueeUcb } from './uee-ucb.js';

export const policyModules: readonly PolicyModule[] = [
  ueeUcb,
  dee,
  ceebert,
  eenet,
  last,
  fixed,
  random,
  bestFixed,
  maxprob,
  entropy,
  patience,
  maxprobAtBudget,
  entropyAtBudget,
  geometric,
  risk,
];

const byHead = new Map(policyModules.flatMap((m) => [m.id, ...(m.aliases ?? []), ...(m.renamedFrom ?? []).map((r) => r.head)].map((h) => [h, m] as const)));

/** The module a spec head names (its id, an alias or a name it had before a rename), if any. */
export function policyModule(head: string): PolicyModule | undefined {
  return byHead.get(head);
}

/** What a head a policy was renamed from means now (undefined for a current head). */
export function renameNote(head: string): string | undefined {
  return byHead.get(head)?.renamedFrom?.find((r) => r.head === head)?.note;
}

/** A spec a user can run as it is: the id, with its argument's example where it takes one ("fixed:1"). */
export function exampleSpec(m: PolicyModule): string {
  if (!m.arg) return m.id;
  return `${m.id}:${String(paramsJsonSchema(m).properties[m.arg.param]?.examples?.[0] ?? '')}`;
}

/** One policy as `exit-studio policies --json` and the Policy lab see it. */
export interface PolicyDescription {
  id: string;
  aliases: string[];
  /** Heads it had before a rename, still accepted. */
  renamedFrom: string[];
  title: string;
  summary: string;
  kind: PolicyModule['kind'];
  /** The parameter a spec gives after ':' (null: the spec takes none). */
  arg: string | null;
  /** A spec that runs as it is. */
  example: string;
  needs: PolicyModule['needs'];
  regretKind: PolicyModule['regretKind'];
  /** Whether, with its default parameters, it reads calibration data (in-sample, its figures are hindsight). */
  usesHindsight: boolean;
  learns: PolicyModule['learns'];
  params: ParamsJsonSchema;
}

export function describePolicy(m: PolicyModule): PolicyDescription {
  const spec = exampleSpec(m);
  const arg = m.arg ? Number(spec.slice(m.id.length + 1)) : undefined;
  const bound = m.bind(m.arg && arg !== undefined ? { [m.arg.param]: arg } : {});
  return {
    id: m.id,
    aliases: m.aliases ?? [],
    renamedFrom: (m.renamedFrom ?? []).map((r) => r.head),
    title: m.title,
    summary: m.summary,
    kind: m.kind,
    arg: m.arg?.param ?? null,
    example: spec,
    needs: m.needs,
    regretKind: m.regretKind,
    usesHindsight: bound.ok ? bound.policy.usesHindsight : false,
    learns: m.learns,
    params: paramsJsonSchema(m),
  };
}

export function describePolicies(): PolicyDescription[] {
  return policyModules.map(describePolicy);
}

/**
 * Every parameter name across the registry, with its schema (the first
 * policy's that declares it) and the policies that read it: a value given
 * once for a run (a CLI flag, a flat field of policy.run) goes to each of
 * them. Policies that share a name agree on its type (a test holds them to it).
 */
export function sharedParams(): Map<string, { schema: ParamJsonSchema; users: string[] }> {
  const out = new Map<string, { schema: ParamJsonSchema; users: string[] }>();
  for (const m of policyModules) {
    for (const [name, schema] of Object.entries(paramsJsonSchema(m).properties)) {
      const e = out.get(name);
      if (e) e.users.push(m.id);
      else out.set(name, { schema, users: [m.id] });
    }
  }
  return out;
}

/** For each policy with parameters that follow the costs (a budget), the values they take at these costs. */
export function costDefaults(costs: ArrayLike<number>): Record<string, ParamValues> {
  return Object.fromEntries(policyModules.flatMap((m) => (m.costDefaults ? [[m.id, m.costDefaults(costs)] as const] : [])));
}
