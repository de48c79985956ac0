/**
 * Policy specs as a user types them ("uee-ucb", "fixed:2", "maxprob@budget:0.5")
 * turned, through the registry, into a policy with its parameters checked, and
 * the checks that refuse a policy a trace cannot serve before any work
 * starts. Exit numbers in specs are 1-based.
 */
import { StudioError } from '../errors.js';
import type { Trace } from '../trace/types.js';
import type { RegretKind } from './metrics.js';
import type { ParamValues, PolicyModule, PolicyNeed } from './module.js';
import { issueText, paramErrorMap, paramsJsonSchema } from './params.js';
import { hasLabels } from './reference.js';
import { exampleSpec, policyModule, policyModules, renameNote } from './registry.js';
import type { Policy, PolicyEnv } from './types.js';

export type { ParamValues, PolicyNeed } from './module.js';

export interface ParsedSpec {
  /** Canonical spec, e.g. "fixed:2". */
  spec: string;
  module: PolicyModule;
  /** This policy's parameter values, checked, with defaults filled in (the argument after ':' among them). */
  params: ParamValues;
  /** What the trace must hold. */
  needs: readonly PolicyNeed[];
  regretKind: RegretKind;
  /** It reads the run's calibration data (documented per policy; module.ts). */
  usesHindsight: boolean;
  /** Said when the spec named the policy by a name it had before a rename. */
  note?: string;
  /** The numeric argument after ':' where the policy takes one (1-based exit, threshold, patience, budget). */
  arg?: number;
  /** Why this policy cannot run on the trace with these costs (supervised or not), beyond its needs; undefined when it can. */
  refuse(trace: Trace, costs: ArrayLike<number>, supervised: boolean): string | undefined;
  /** Builds one policy for one seed; `costs` are the reported (budget-unit) costs. */
  create(env: PolicyEnv, costs: Float64Array): Policy;
}

/** The policy a spec names, lower case: "fixed" of "Fixed:2". */
export function specHead(spec: string): string {
  const s = spec.trim().toLowerCase();
  const colon = s.indexOf(':');
  return colon < 0 ? s : s.slice(0, colon);
}

const bad = (spec: string, why: string): StudioError => new StudioError(`policy "${spec}": ${why}`, { kind: 'input' });

/**
 * Parses a spec; throws a StudioError naming the spec and what is wrong.
 *
 * `shared` holds values given once for a whole run: the policy takes those it
 * reads and leaves the rest to the others. `own` holds values meant for this
 * policy alone: a name it does not read is an error. The argument after ':'
 * sets its parameter too. With the run's `costs`, parameters that follow the
 * costs (a budget) and were left out take their default for them, so the
 * spec and the stored values say what the run used.
 */
export function parsePolicySpec(spec: string, shared: ParamValues = {}, own: ParamValues = {}, costs?: ArrayLike<number>): ParsedSpec {
  const s = spec.trim().toLowerCase();
  const colon = s.indexOf(':');
  const raw = colon < 0 ? undefined : s.slice(colon + 1);
  const m = policyModule(specHead(s));
  if (!m) throw bad(spec, `unknown policy; known: ${policyModules.map(exampleSpec).join(', ')}`);
  const schema = paramsJsonSchema(m);
  const names = new Set(Object.keys(schema.properties));
  const values: ParamValues = costs && m.costDefaults ? m.costDefaults(costs) : {};
  for (const [k, v] of Object.entries(shared)) if (names.has(k)) values[k] = v;
  Object.assign(values, own);
  if (raw !== undefined) {
    if (!m.arg) throw bad(spec, `takes no argument after ':'`);
    if (raw.trim() === '') throw bad(spec, `needs ${m.arg.noun} after ':' (e.g. ${exampleSpec(m)})`);
    const v = Number(raw);
    if (!Number.isFinite(v)) throw bad(spec, `"${raw}" is not a number (${m.arg.noun})`);
    const given = own[m.arg.param];
    if (given !== undefined && given !== v) throw bad(spec, `${m.arg.param} is given twice: ${raw} after ':' and ${JSON.stringify(given)}`);
    values[m.arg.param] = v;
  } else if (m.arg && values[m.arg.param] === undefined && schema.required?.includes(m.arg.param)) {
    throw bad(spec, `needs ${m.arg.noun} after ':' (e.g. ${exampleSpec(m)})`);
  }
  const bound = m.bind(values, paramErrorMap(m));
  if (!bound.ok) throw bad(spec, bound.issues.map((i) => issueText(i, values)).join('; '));
  const p = bound.policy;
  const arg = m.arg ? (p.params[m.arg.param] as number) : undefined;
  const note = renameNote(specHead(s));
  return {
    spec: arg === undefined ? m.id : `${m.id}:${arg}`,
    module: m,
    params: p.params,
    needs: m.needs,
    regretKind: m.regretKind,
    usesHindsight: p.usesHindsight,
    ...(arg === undefined ? {} : { arg }),
    ...(note === undefined ? {} : { note }),
    refuse: p.refuse,
    create: p.create,
  };
}

export type CanRun = { ok: true; parsed: ParsedSpec } | { ok: false; reason: string };

/**
 * What a policy needs that the trace lacks, as something a front end can act
 * on: probability vectors (`infer --probs`), confidence scores (a trace
 * recorded by running the model, not an imported class matrix), or labels.
 */
export type MissingNeed = 'probs' | 'scores' | 'labels';

/** The first thing `parsed` needs from `trace` that it lacks, in policyRefusal's order; undefined when nothing is missing. */
export function missingNeed(parsed: ParsedSpec, trace: Trace, supervised: boolean): MissingNeed | undefined {
  if (parsed.needs.includes('probs') && !trace.probs) return 'probs';
  if ((parsed.needs.includes('confidence') && !trace.maxProb) || (parsed.needs.includes('entropy') && !trace.entropy)) return 'scores';
  if ((parsed.needs.includes('labels') || supervised) && !hasLabels(trace)) return 'labels';
  return undefined;
}

/**
 * Why a parsed policy cannot run on `trace`, in words a user can act on: what
 * it needs from the trace, labels for a supervised run, and its own refusals
 * (exit numbers and budgets against the trace's exits and costs).
 */
export function policyRefusal(parsed: ParsedSpec, trace: Trace, supervised: boolean, costs?: ArrayLike<number>): string | undefined {
  const name = parsed.spec;
  if (parsed.needs.includes('probs') && !trace.probs) {
    return `${parsed.module.title} needs probability vectors; this trace has none — record a trace that keeps each exit's class scores (probs)`;
  }
  if (parsed.needs.includes('confidence') && !trace.maxProb) {
    return `${name} needs confidence (max probability per exit); this trace holds hard predictions only — record a trace by running the model instead of importing a class matrix`;
  }
  if (parsed.needs.includes('entropy') && !trace.entropy) {
    return `${name} needs entropies per exit; this trace holds hard predictions only — record a trace by running the model`;
  }
  const labelled = hasLabels(trace);
  if (parsed.needs.includes('labels') && !labelled) return `${name} needs labels; this trace has none`;
  if (supervised && !labelled) {
    return `supervised mode needs labels; this trace has none (run unsupervised: metrics then use agreement with the final exit)`;
  }
  const own = parsed.refuse(trace, costs ?? trace.costs, supervised);
  if (own) return `${name}: ${own}`;
  if (trace.samples < 1) return 'the trace has no samples';
  return undefined;
}

/** Whether `spec` can run on `trace`, and if not, why (the spec's own problems included). */
export function checkPolicyCanRun(spec: string, trace: Trace, supervised: boolean, params: ParamValues = {}, costs?: ArrayLike<number>): CanRun {
  let parsed: ParsedSpec;
  try {
    parsed = parsePolicySpec(spec, params, {}, costs ?? trace.costs);
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  const reason = policyRefusal(parsed, trace, supervised, costs);
  return reason === undefined ? { ok: true, parsed } : { ok: false, reason };
}

/**
 * A policy as people read it, spelled one way everywhere (run names, tables,
 * charts): its title, with its argument where it takes one, "EENet (budget 0.59)".
 */
export function policyLabel(p: Pick<ParsedSpec, 'module' | 'arg'>): string {
  const a = p.module.arg;
  if (!a || p.arg === undefined) return p.module.title;
  const title = paramsJsonSchema(p.module).properties[a.param]?.title ?? a.param;
  return `${p.module.title} (${title.toLowerCase()} ${p.arg})`;
}
