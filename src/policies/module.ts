/**
 * One policy, described once: what it is (id, title, kind), what it reads
 * (parameters as a zod schema, trace columns), how its regret is measured,
 * whether it reads calibration data, which decision rules it learns,
 * and how to build it. The registry (registry.ts) lists every module; the
 * spec parser, the CLI's flags and help, `exit-studio policies`, the Policy
 * lab's form, policy.run's payload checks and the catalog are generated from
 * these fields, so a new policy is one file and one registry line.
 */
import type { z } from 'zod';
import type { Trace } from '../trace/types.js';
import type { RegretKind } from './metrics.js';
import type { LearnedKind } from './rules/index.js';
import type { Policy, PolicyEnv } from './types.js';

/**
 * online: learns from its stream alone (bandits); fitted: fitted or calibrated
 * on trace data before it decides (EENet, budget-calibrated thresholds, the
 * best fixed exit); baseline: a fixed rule to compare against.
 */
export type PolicyKind = 'online' | 'fitted' | 'baseline';

/** Trace columns a policy reads. */
export type PolicyNeed = 'confidence' | 'entropy' | 'probs' | 'labels';

/** A parameter's value as a user gives it. */
export type ParamValue = number | boolean | string;
export type ParamValues = Record<string, ParamValue>;

export interface PolicyDefinition<S extends z.ZodObject> {
  /** The spec's head: what a user types ("uee-ucb", "fixed" in "fixed:2"). Lower case. */
  id: string;
  /** Other heads accepted for it. */
  aliases?: string[];
  /**
   * Heads it was known by before a rename: still accepted (a stored request
   * or a script keeps running), with `note` saying what the name means now.
   */
  renamedFrom?: { head: string; note: string }[];
  title: string;
  /** One sentence: what it does, with its source. */
  summary: string;
  kind: PolicyKind;
  /**
   * Its parameters: every field described (`.describe` or `.meta({ title, description })`),
   * ranged, and defaulted unless it must be given. The JSON Schema of the catalog, the CLI's
   * help and the lab's form are generated from it.
   */
  params: S;
  /**
   * The parameter a spec may give after ':' ("eenet:0.5" sets budget), and how to name it in
   * an error ("needs a budget after ':'"). Its schema's `examples` give the form's first value.
   */
  arg?: { param: keyof z.output<S> & string; noun: string };
  /**
   * Values that follow the run's costs (a budget halfway between exit 1's cost and 1): what a
   * parameter left out takes once the costs are known. Such a parameter is optional in `params`,
   * and `create` reads the same default when it is left out.
   */
  costDefaults?(costs: ArrayLike<number>): ParamValues;
  needs: PolicyNeed[];
  regretKind: RegretKind;
  /**
   * Whether it reads calibration data (PolicyEnv.calibration) before it decides: the best fixed exit,
   * calibrated thresholds, EENet fitted offline. Scored on that same data (in-sample) its figures are
   * hindsight; a run holding one is evaluated held-out unless it says otherwise (evaluation.ts).
   */
  usesHindsight: boolean | ((p: z.output<S>) => boolean);
  /** The decision rules its learned() returns (src/policies/rules): the rule owns the JSON and the deployed decider. */
  learns: LearnedKind[];
  /**
   * Why it cannot run on this trace with these costs, beyond its needs (an exit the trace lacks, a budget
   * below exit 1, a loss that reads labels in an unsupervised run).
   */
  refuse?(p: z.output<S>, trace: Trace, costs: ArrayLike<number>, supervised: boolean): string | undefined;
  /** Builds one policy for one seed; `costs` are the reported (budget-unit) costs, env.costs those times lambda. */
  create(p: z.output<S>, env: PolicyEnv, costs: Float64Array): Policy;
}

/** A policy with its parameters checked and defaults filled in: ready to refuse a trace or to build. */
export interface BoundPolicy {
  params: ParamValues;
  usesHindsight: boolean;
  refuse(trace: Trace, costs: ArrayLike<number>, supervised: boolean): string | undefined;
  create(env: PolicyEnv, costs: Float64Array): Policy;
}

export type BindResult = { ok: true; policy: BoundPolicy } | { ok: false; issues: z.core.$ZodIssue[] };

/** A registry entry: the definition with its parameter type closed over. */
export interface PolicyModule extends Omit<PolicyDefinition<z.ZodObject>, 'usesHindsight' | 'refuse' | 'create' | 'arg'> {
  arg?: { param: string; noun: string };
  /**
   * Checks raw parameter values against the schema (unknown names are refused),
   * fills in defaults; `error` phrases each issue (see params.ts).
   */
  bind(values: ParamValues, error?: z.core.$ZodErrorMap): BindResult;
}

export function definePolicy<S extends z.ZodObject>(d: PolicyDefinition<S>): PolicyModule {
  const { usesHindsight, refuse, create, ...rest } = d;
  const strict = d.params.strict();
  return {
    ...rest,
    bind(values, error) {
      const r = strict.safeParse(values, error ? { error } : undefined);
      if (!r.success) return { ok: false, issues: r.error.issues };
      // The strict copy has the same fields as d.params, so its output is d.params' output.
      const p = r.data as z.output<S>;
      return {
        ok: true,
        policy: {
          params: p as ParamValues,
          usesHindsight: typeof usesHindsight === 'function' ? usesHindsight(p) : usesHindsight,
          refuse: (trace, costs, supervised) => refuse?.(p, trace, costs, supervised),
          create: (env, costs) => create(p, env, costs),
        },
      };
    },
  };
}
