/**
 * fast-check arbitraries of untrusted command payloads, shared by the bridge
 * and serve-mode fuzz tests: random JSON, the right keys with wrong types,
 * oversized strings and arrays, prototype-pollution keys, and valid payloads
 * that point only at files and ids that do not exist (so nothing long runs
 * and nothing is written).
 */
import fc from 'fast-check';
import type { z } from 'zod';
import { commands, type CommandName } from '../../src/api/commands.js';

export const COMMAND_NAMES = Object.keys(commands) as CommandName[];

/** Commands that only read: a payload their schema accepts may succeed. */
export const READ_ONLY = new Set<string>(['providers.list', 'trace.list', 'policy.catalog', 'run.list', 'home.recent', 'sample.paths']);

/** A folder that does not exist, so paths under it name nothing. */
export const NOWHERE = '/nonexistent-exit-studio-fuzz';

export function schemaOf(name: CommandName): z.ZodType {
  return commands[name].input as z.ZodType;
}

export function keysOf(name: CommandName): string[] {
  const shape = (commands[name].input as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

/** Whether the command's schema accepts a payload as every transport passes it on (a missing or null payload is an empty one). */
export function schemaAccepts(name: CommandName, payload: unknown): boolean {
  return schemaOf(name).safeParse(payload ?? {}).success;
}

export interface Fuzzed {
  /** 'fuzz' payloads are meant to be invalid; 'missing' ones are valid but name nothing that exists. */
  kind: 'fuzz' | 'missing';
  payload: unknown;
}

const missingPath = (ext: string): fc.Arbitrary<string> => fc.stringMatching(/^[a-z0-9]{1,12}$/).map((s) => `${NOWHERE}/${s}${ext}`);
/** Ids far above anything a test store holds. */
const missingId = fc.integer({ min: 1_000_000, max: 2 ** 31 - 1 });

/** Valid payloads that point at nothing, per command (undefined: none, or only read-only ones). */
const MISSING: Partial<Record<CommandName, fc.Arbitrary<unknown>>> = {
  'model.inspect': fc.record({ path: missingPath('.onnx'), latency: fc.boolean() }, { requiredKeys: ['path'] }),
  'data.preview': fc.record({ path: missingPath('.npy'), model: missingPath('.onnx'), count: fc.integer({ min: 1, max: 64 }) }, { requiredKeys: ['path', 'model'] }),
  'trace.infer': fc.record({ model: missingPath('.onnx'), data: missingPath('.csv'), labels: missingPath('.txt'), batch: fc.integer({ min: 1, max: 4096 }), probs: fc.boolean() }, { requiredKeys: ['model', 'data'] }),
  'trace.record': fc.record(
    { model: missingPath('.onnx'), data: missingPath('.npy'), out: missingPath('.npz'), shard: fc.integer({ min: 1, max: 8 }).chain((count) => fc.record({ index: fc.integer({ min: 0, max: count - 1 }), count: fc.constant(count) })) },
    { requiredKeys: ['model', 'data', 'out'] },
  ),
  'trace.import': fc.record({ path: fc.oneof(missingPath('.tsv'), fc.array(missingPath('.npz'), { minLength: 1, maxLength: 4 })), name: fc.string({ minLength: 1, maxLength: 20 }) }, { requiredKeys: ['path'] }),
  'trace.show': fc.record({ id: missingId }),
  'trace.rename': fc.record({ id: missingId, name: fc.string({ minLength: 1, maxLength: 50 }) }),
  'trace.delete': fc.record({ id: missingId }),
  'trace.export': fc.record({ id: missingId, out: missingPath('.tsv') }),
  'trace.diagnose': fc.record({ id: missingId, costs: fc.constantFrom('macs', 'uniform', [1, 3, 7, 12]) }, { requiredKeys: ['id'] }),
  'policy.costs': fc.record({ traceId: missingId, costs: fc.constantFrom('trace', 'latency', [1, 2]) }, { requiredKeys: ['traceId'] }),
  'policy.run': fc.record({ traceId: missingId, policies: fc.constant(['last']), seeds: fc.integer({ min: 1, max: 3 }) }),
  'run.show': fc.record({ id: missingId }),
  'run.compare': fc.record({ ids: fc.array(missingId, { minLength: 1, maxLength: 4 }) }),
  'run.rename': fc.record({ id: missingId, name: fc.string({ minLength: 1, maxLength: 50 }) }),
  'run.tag': fc.record({ id: missingId, tags: fc.array(fc.string({ minLength: 1, maxLength: 10 }), { maxLength: 4 }) }),
  'run.delete': fc.record({ id: missingId }),
  'run.exportPolicy': fc.record({ id: missingId }),
  'run.exportFile': fc.record({ id: missingId, out: missingPath('.json') }),
  'run.bundle': fc.record({ runId: missingId, model: missingPath('.onnx'), out: missingPath('') }),
  'bundle.apply': fc.record({ dir: missingPath(''), data: missingPath('.npy') }),
};

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

/** The command's own keys, each with a random value of any type, some keys left out. */
function rightKeysWrongTypes(name: CommandName): fc.Arbitrary<unknown> {
  const keys = keysOf(name);
  if (keys.length === 0) return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), anyValue, { minKeys: 1, maxKeys: 3 });
  return fc.record(Object.fromEntries(keys.map((k) => [k, anyValue])), { requiredKeys: [] });
}

const BIG_STRING = 'x'.repeat(200_000);
const BIG_ARRAY = Array.from({ length: 20_000 }, (_, i) => i);
const DEEP = JSON.parse('['.repeat(500) + ']'.repeat(500)) as unknown;

/** Oversized values (kept under serve mode's 1 MiB body limit) in the command's own keys. */
function oversized(name: CommandName): fc.Arbitrary<unknown> {
  const keys = keysOf(name);
  const big = fc.constantFrom<unknown>(BIG_STRING, BIG_ARRAY, DEEP, Array.from({ length: 5_000 }, () => 'abc'));
  if (keys.length === 0) return big.map((v) => ({ big: v }));
  return fc.tuple(fc.constantFrom(...keys), big).map(([k, v]) => ({ [k]: v }));
}

const POLLUTERS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__'];

/** Objects whose own keys include prototype-pollution keys, built by JSON.parse as a transport would. */
function pollution(name: CommandName): fc.Arbitrary<unknown> {
  const keys = keysOf(name);
  return fc
    .tuple(fc.constantFrom(...POLLUTERS), fc.constantFrom<unknown>({ polluted: 'yes' }, { prototype: { polluted: 'yes' } }, 'yes', 1), fc.boolean())
    .map(([bad, value, withKeys]) => {
      const base: Record<string, unknown> = {};
      if (withKeys) for (const k of keys) base[k] = k === 'id' || k === 'traceId' || k === 'runId' ? 1_000_001 : `${NOWHERE}/p`;
      const text = JSON.stringify(base).replace(/^\{/, `{${JSON.stringify(bad)}: ${JSON.stringify(value)}${Object.keys(base).length ? ',' : ''}`);
      return JSON.parse(text) as unknown;
    });
}

/** Every kind of untrusted payload for one command. */
export function payloadFor(name: CommandName): fc.Arbitrary<Fuzzed> {
  const fuzz = fc.oneof(
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
    { arbitrary: rightKeysWrongTypes(name), weight: 4 },
    { arbitrary: oversized(name), weight: 1 },
    { arbitrary: pollution(name), weight: 2 },
  ).map((payload): Fuzzed => ({ kind: 'fuzz', payload }));
  const missing = MISSING[name];
  if (!missing) return fuzz;
  return fc.oneof({ arbitrary: fuzz, weight: 3 }, { arbitrary: missing.map((payload): Fuzzed => ({ kind: 'missing', payload })), weight: 1 });
}

/** Nothing was planted on Object.prototype. */
export function prototypeClean(): boolean {
  return !Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted') && ({} as Record<string, unknown>).polluted === undefined;
}
