/**
 * Policy parameters as the outside sees them: the JSON Schema generated from
 * a module's zod schema (for the catalog, the CLI's help and the lab's form),
 * a domain in words ("a whole number >= 1", "a number in (0, 1]"), and zod's
 * issues phrased with it ("bins must be a whole number >= 1; got 0").
 */
import { z } from 'zod';
import type { ParamValue, PolicyModule } from './module.js';

/** One parameter's JSON Schema, as z.toJSONSchema writes the kinds of fields policies use. */
export interface ParamJsonSchema {
  type: 'number' | 'integer' | 'boolean' | 'string';
  title?: string;
  description?: string;
  default?: ParamValue;
  /** The value a form starts from where there is no default (the argument of "fixed:2"). */
  examples?: ParamValue[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  /** A string parameter's choices. */
  enum?: string[];
}

/** A policy's parameters as a JSON Schema object. */
export interface ParamsJsonSchema {
  $schema?: string;
  type: 'object';
  properties: Record<string, ParamJsonSchema>;
  required?: string[];
  additionalProperties: false;
}

const TYPES = new Set(['number', 'integer', 'boolean', 'string']);

const cache = new WeakMap<z.ZodObject, ParamsJsonSchema>();

/**
 * The JSON Schema of a module's parameters (input side: a field with a default may be left out).
 * Policies use flat scalar fields only; anything else is a mistake in the module, said at once.
 */
export function paramsJsonSchema(m: Pick<PolicyModule, 'id' | 'params'>): ParamsJsonSchema {
  const hit = cache.get(m.params);
  if (hit) return hit;
  const json = z.toJSONSchema(m.params.strict(), { io: 'input' }) as { properties?: Record<string, unknown> };
  for (const [name, p] of Object.entries(json.properties ?? {}) as [string, Record<string, unknown>][]) {
    if (!TYPES.has(String(p.type))) throw new Error(`policy ${m.id}: parameter ${name} must be a number, integer, boolean or string field (got ${JSON.stringify(p)})`);
    // zod bounds every integer to the safe range; that says nothing about the parameter.
    if (p.maximum === Number.MAX_SAFE_INTEGER) delete p.maximum;
    if (p.minimum === Number.MIN_SAFE_INTEGER) delete p.minimum;
  }
  const out = { ...json, properties: json.properties ?? {} } as ParamsJsonSchema;
  cache.set(m.params, out);
  return out;
}

const fmt = (x: number): string => String(x);

/** A parameter's domain in words: "a whole number >= 1", "a number in (0, 1]", "one of lower, order". */
export function domainText(p: ParamJsonSchema): string {
  if (p.type === 'boolean') return 'true or false';
  if (p.type === 'string') return p.enum ? `one of ${p.enum.join(', ')}` : 'a text';
  const what = p.type === 'integer' ? 'a whole number' : 'a number';
  const lo = p.exclusiveMinimum ?? p.minimum;
  const hi = p.exclusiveMaximum ?? p.maximum;
  const open = p.exclusiveMinimum !== undefined;
  const close = p.exclusiveMaximum !== undefined;
  if (lo !== undefined && hi !== undefined) return `${what} in ${open ? '(' : '['}${fmt(lo)}, ${fmt(hi)}${close ? ')' : ']'}`;
  if (lo !== undefined) return `${what} ${open ? '>' : '>='} ${fmt(lo)}`;
  if (hi !== undefined) return `${what} ${close ? '<' : '<='} ${fmt(hi)}`;
  return what;
}

/**
 * A zod error map that phrases each issue of a module's parameters with the
 * parameter's domain. Messages a schema sets itself (`.min(1, 'exit numbers
 * start at 1')`) win over it, as zod gives schema-level errors precedence.
 */
export function paramErrorMap(m: Pick<PolicyModule, 'id' | 'params'>): z.core.$ZodErrorMap {
  const schema = paramsJsonSchema(m);
  return (issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(schema.properties);
      return `${issue.keys.join(', ')}: not a parameter of ${m.id} (${known.length ? `it reads ${known.join(', ')}` : 'it takes none'})`;
    }
    const name = String(issue.path?.[0] ?? '');
    const p = schema.properties[name];
    return p ? `${name} must be ${domainText(p)}` : undefined;
  };
}

/** One issue as a sentence: its message, and the value that was given. */
export function issueText(issue: z.core.$ZodIssue, values: Record<string, unknown>): string {
  const name = issue.path[0];
  if (issue.code === 'unrecognized_keys' || name === undefined) return issue.message;
  const v = values[String(name)];
  return v === undefined ? `${String(name)} is required` : `${issue.message}; got ${JSON.stringify(v)}`;
}
