/**
 * The run command's policy parameters, generated from the registry: one flag
 * per parameter name (--alpha, --refit-every, --hidden ...), a value for every
 * chosen policy that reads it; `--param NAME=VALUE` for the same, and
 * `--param POLICY.NAME=VALUE` for one policy alone. Values are read by each
 * parameter's JSON Schema type; ranges are the engine's to check.
 */
import type { PolicyEntry } from '../api/policy-input.js';
import type { ParamValue, ParamValues } from '../policies/module.js';
import { domainText, paramsJsonSchema, type ParamJsonSchema } from '../policies/params.js';
import { policyModule, sharedParams } from '../policies/registry.js';
import { specHead } from '../policies/spec.js';
import { UsageError, type Options, type Parsed } from './args.js';

/** A parameter's flag name: refitEvery → refit-every. */
export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Flags of every parameter name, for parseArgs. */
export function paramFlags(): Options {
  const out: Options = { param: { type: 'string', multiple: true } };
  for (const [name, { schema }] of sharedParams()) out[kebab(name)] = { type: schema.type === 'boolean' ? 'boolean' : 'string' };
  return out;
}

function valueOf(text: string | boolean, schema: ParamJsonSchema, what: string): ParamValue {
  if (typeof text === 'boolean') return text;
  if (schema.type === 'boolean') {
    if (text === 'true' || text === 'false') return text === 'true';
    throw new UsageError(`${what} must be true or false; got "${text}"`);
  }
  if (schema.type === 'string') return text;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${what} must be ${domainText(schema)}; got "${text}"`);
  return n;
}

/**
 * The run's shared values and each policy entry with its own, from the flags.
 * A scoped --param names a policy head of --policy (its id or alias).
 */
export function readParams(p: Parsed, policies: string[]): { params: ParamValues; entries: PolicyEntry[] } {
  const shared = sharedParams();
  const params: ParamValues = {};
  for (const [name, { schema }] of shared) {
    const v = p.values[kebab(name)];
    if (typeof v === 'string' || typeof v === 'boolean') params[name] = valueOf(v, schema, `--${kebab(name)}`);
  }
  const own = policies.map((): ParamValues => ({}));
  const raw = p.values.param;
  for (const text of Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []) {
    const eq = text.indexOf('=');
    if (eq < 1) throw new UsageError(`--param takes NAME=VALUE or POLICY.NAME=VALUE; got "${text}"`);
    const key = text.slice(0, eq);
    const value = text.slice(eq + 1);
    const dot = key.lastIndexOf('.');
    const name = key.slice(dot + 1);
    if (dot < 0) {
      const known = shared.get(name);
      if (!known) throw new UsageError(`--param ${key}: no policy has a parameter named ${name} (parameters: ${[...shared.keys()].join(', ')})`);
      params[name] = valueOf(value, known.schema, `--param ${key}`);
      continue;
    }
    const m = policyModule(key.slice(0, dot).toLowerCase());
    const targets = policies.flatMap((spec, i) => (m && policyModule(specHead(spec)) === m ? [i] : []));
    if (!m || targets.length === 0) throw new UsageError(`--param ${key}: ${key.slice(0, dot)} is not one of the chosen policies (${policies.join(', ')})`);
    const schema = paramsJsonSchema(m).properties[name];
    if (!schema) throw new UsageError(`--param ${key}: ${m.id} has no parameter ${name} (it reads ${Object.keys(paramsJsonSchema(m).properties).join(', ') || 'none'})`);
    for (const i of targets) own[i]![name] = valueOf(value, schema, `--param ${key}`);
  }
  const entries = policies.map((spec, i) => (Object.keys(own[i]!).length ? { policy: spec, params: own[i]! } : spec));
  return { params, entries };
}

/** Names given for the run that no chosen policy reads (said, not refused: a run of several policies shares its flags). */
export function unreadParams(params: ParamValues, policies: string[]): string[] {
  const shared = sharedParams();
  const chosen = new Set(policies.map((s) => policyModule(specHead(s))?.id));
  return Object.keys(params).filter((name) => !(shared.get(name)?.users ?? []).some((id) => chosen.has(id)));
}

/** The help of the parameter flags: name, domain and default, then what it means to each policy that reads it. */
export function paramHelp(): string {
  const rows = [...sharedParams()].map(([name, { schema, users }]) => {
    const flag = `--${kebab(name)}${schema.type === 'boolean' ? '' : ` ${kebab(name).toUpperCase()}`}`;
    const dflt = schema.default === undefined ? '' : `; default ${String(schema.default)}`;
    // Policies that mean the same by it share one line.
    const byMeaning = new Map<string, string[]>();
    for (const id of users) {
      const d = paramsJsonSchema(policyModule(id)!).properties[name]?.description ?? '';
      byMeaning.set(d, [...(byMeaning.get(d) ?? []), id]);
    }
    const meanings = [...byMeaning].map(([d, ids]) => `${ids.join(', ')}: ${d}`);
    return { flag, text: `${schema.title ?? name}: ${domainText(schema)}${dflt}`, meanings };
  });
  const w = Math.max(...rows.map((r) => r.flag.length));
  return [
    'Policy parameters, each for every chosen policy that reads it (--param NAME=VALUE is the same;',
    '--param POLICY.NAME=VALUE sets one policy alone; `exit-studio policies` describes them all):',
    ...rows.flatMap((r) => [`  ${r.flag.padEnd(w)}  ${r.text}`, ...r.meanings.map((m) => `  ${''.padEnd(w)}    ${m}`)]),
  ].join('\n');
}
