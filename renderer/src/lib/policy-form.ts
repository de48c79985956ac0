/**
 * The Policy lab's form, generated from policy.catalog: each policy's
 * parameters arrive as JSON Schema (from the policy's own zod schema in the
 * engine), and become fields here: numbers with their bounds, whole numbers
 * stepping by one, choices as a list, switches as a checkbox. Nothing here
 * names a policy or a parameter. Pure functions, tested under Node.
 */
import type { ParamJsonSchema, PolicyDescription } from './types.js';

export type ParamInput = number | boolean | string;

export interface ParamField {
  name: string;
  label: string;
  help: string | undefined;
  control: 'number' | 'checkbox' | 'select';
  min: number | undefined;
  max: number | undefined;
  /** 1 for whole numbers, 'any' otherwise. */
  step: number | 'any';
  options: string[];
  /**
   * The value the form starts from: the default, else, for a value that must be given, the schema's
   * example (the argument of "fixed:1"). A value that may be left out without a default (a budget,
   * which follows the run's costs) starts blank.
   */
  initial: ParamInput | undefined;
}

/** One parameter's field; `required`: the policy cannot run without a value for it. */
export function paramField(name: string, s: ParamJsonSchema, required = true): ParamField {
  return {
    name,
    label: s.title ?? name,
    help: s.description,
    control: s.type === 'boolean' ? 'checkbox' : s.enum ? 'select' : 'number',
    min: s.minimum ?? s.exclusiveMinimum,
    max: s.maximum ?? s.exclusiveMaximum,
    step: s.type === 'integer' ? 1 : 'any',
    options: s.enum ?? [],
    initial: s.default ?? (required ? s.examples?.[0] : undefined),
  };
}

/** A policy's fields: the argument of its spec first (shown beside its name), then the others. */
export function policyFields(d: PolicyDescription): { arg: ParamField | undefined; rest: ParamField[] } {
  const fields = Object.entries(d.params.properties).map(([name, s]) => paramField(name, s, d.params.required?.includes(name) ?? false));
  return { arg: fields.find((f) => f.name === d.arg), rest: fields.filter((f) => f.name !== d.arg) };
}

/** The value typed into a field, or undefined when it is blank (the engine's default then applies). */
export function readField(f: ParamField, raw: string | boolean): ParamInput | undefined {
  if (f.control === 'checkbox') return Boolean(raw);
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  if (f.control === 'select') return raw;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** policy.run's entry for one policy: its id with the values of its fields (blank ones left to the defaults). */
export function policyEntry(d: PolicyDescription, values: Record<string, ParamInput | undefined>): { policy: string; params: Record<string, ParamInput> } {
  const params: Record<string, ParamInput> = {};
  for (const name of Object.keys(d.params.properties)) {
    const v = values[name];
    if (v !== undefined) params[name] = v;
  }
  return { policy: d.id, params };
}

/** A stored run's parameter values as the form holds them: the policy's own fields only. */
export function formValues(d: PolicyDescription, params: Record<string, unknown>): Record<string, ParamInput | undefined> {
  const out: Record<string, ParamInput | undefined> = {};
  for (const name of Object.keys(d.params.properties)) {
    const v = params[name];
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') out[name] = v;
  }
  return out;
}

/** The values a policy's form starts with. */
export function initialValues(d: PolicyDescription): Record<string, ParamInput | undefined> {
  const { arg, rest } = policyFields(d);
  return Object.fromEntries([...(arg ? [arg] : []), ...rest].map((f) => [f.name, f.initial]));
}
