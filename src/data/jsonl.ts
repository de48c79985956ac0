/**
 * JSON Lines: one JSON object per sample, one key per model input (`{"x": [...]}`),
 * each value a nested array in the input's per-sample shape or a flat array of
 * as many numbers (a lone number for a per-sample scalar). `labelColumn` names a
 * key that holds the sample's label. Streamed like CSV: checked fully on open,
 * then read again per pass.
 */
import type { TensorInfo } from '../model/types.js';
import { excerpt, inputError, nameList } from '../errors.js';
import { applyLimit, makeDataset, type InputReader } from './dataset.js';
import { CastRangeError, fromNumbers, isIntType, type NumericType } from './elements.js';
import { labelProblem } from './labels.js';
import type { Dataset, DatasetOptions } from './types.js';
import { eachLine } from './lines.js';
import { LineCursor } from './text.js';
import { formatDims, matchSampleDims, mismatch, product, targetType } from './validate.js';

/** Deeper nesting than any tensor's rank: a line of "[[[[…" is refused, not recursed into until the stack ends. */
const MAX_DEPTH = 32;

/** What a JSON value is, for a message, without quoting more than a short excerpt of it. */
function describe(v: unknown): string {
  if (typeof v === 'string') return `the string ${excerpt(v)}`;
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : `${typeof v === 'object' ? 'an object' : String(v)}`;
}

/**
 * Shape and values of a regular nested array of numbers, or the reason it is
 * not one. `nonFinite` reads null as NaN (JSON has no NaN; pandas writes it as null).
 */
function flatten(v: unknown, out: number[], nonFinite = false, depth = 0): number[] | string {
  if (typeof v === 'number') {
    // JSON has no NaN, but 1e400 parses as Infinity.
    if (!Number.isFinite(v) && !nonFinite) return `${v} is not a finite number (it overflows a float64)`;
    out.push(v);
    return [];
  }
  if (typeof v === 'boolean') { out.push(v ? 1 : 0); return []; }
  if (v === null) {
    if (nonFinite) { out.push(NaN); return []; }
    return 'null is not a number (NaN and missing values are refused unless non-finite inputs are allowed)';
  }
  if (!Array.isArray(v)) return `${describe(v)} is not a number or an array`;
  if (depth >= MAX_DEPTH) return `arrays nested more than ${MAX_DEPTH} deep; no model input has that many dimensions`;
  let shape: number[] | undefined;
  for (let i = 0; i < v.length; i++) {
    const s = flatten(v[i], out, nonFinite, depth + 1);
    // The element's position, as [2][0]: the innermost problem with the path to it.
    if (typeof s === 'string') return /^(\[\d+\])+: /.test(s) ? `[${i}]${s}` : `[${i}]: ${s}`;
    if (!shape) shape = s;
    else if (s.length !== shape.length || s.some((d, k) => d !== shape![k])) {
      return `ragged array: element [${i}] has shape ${formatDims(s)} but element [0] has ${formatDims(shape)}`;
    }
  }
  return [v.length, ...(shape ?? [])];
}

/** JSON.parse's message without the excerpt of the text it quotes (V8 shows the line's first characters). */
function jsonProblem(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/,\s*".*$/s, '').replace(/\s*in JSON at position.*$/s, '').slice(0, 120);
}

function parseObject(path: string, text: string, line: number): Record<string, unknown> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw inputError(path, `line ${line} is not valid JSON (${jsonProblem(e)})`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw inputError(path, `line ${line} is not a JSON object; each line must be {"${'input'}": [...]}`);
  }
  return obj as Record<string, unknown>;
}

interface Slot {
  input: TensorInfo;
  to: NumericType;
  dims?: number[];
  firstShape?: number[];
}

export async function openJsonl(path: string, inputs: TensorInfo[], options?: DatasetOptions): Promise<Dataset> {
  const slots: Slot[] = inputs.map((input) => ({ input, to: targetType(path, input) }));
  const labelKey = options?.labelColumn;
  const limit = options?.limit;
  const nonFinite = options?.allowNonFinite === true;
  const labels: number[] = [];
  let rows = 0;
  await eachLine(path, (text, line) => {
    if (text.trim() === '') return;
    if (limit !== undefined && rows >= limit) return false;
    const obj = parseObject(path, text, line);
    for (const slot of slots) {
      const key = slot.input.name;
      if (!(key in obj)) {
        throw inputError(path, `line ${line}: no key "${key}" for model input "${key}"; the object has keys ${nameList(Object.keys(obj))}`);
      }
      const values: number[] = [];
      const shape = flatten(obj[key], values, nonFinite);
      if (typeof shape === 'string') throw inputError(path, `line ${line}, key "${key}": ${shape}`);
      if ((isIntType(slot.to) || slot.to === 'bool') && values.some((v) => !Number.isInteger(v))) {
        throw inputError(path, `line ${line}, key "${key}": input "${key}" takes ${slot.to} but the values are not all whole numbers`);
      }
      const dims = matchSampleDims(slot.input, shape);
      if (typeof dims === 'string') throw mismatch(path, slot.input, `${formatDims(shape)} on line ${line}, key "${key}"`, dims);
      if (!slot.dims) {
        slot.dims = dims;
        slot.firstShape = shape;
      } else if (String(dims) !== String(slot.dims)) {
        throw inputError(path, `line ${line}, key "${key}": shape ${formatDims(shape)} differs from the first sample's ${formatDims(slot.firstShape!)}`);
      }
    }
    if (labelKey !== undefined) {
      const v = obj[labelKey];
      const problem = v === undefined ? `no label key ${excerpt(labelKey, 64)}` : typeof v !== 'number' ? `the label, ${describe(v)}, is not a number` : labelProblem(v);
      if (problem) throw inputError(path, `line ${line}, key ${excerpt(labelKey, 64)}: ${problem}`);
      labels.push(v as number);
    }
    rows++;
  });
  const samples = applyLimit(path, rows, options);
  const cursor = new LineCursor(path, false);
  // All inputs come from the same lines: parse each batch once and hand each input its share.
  let cache: { start: number; count: number; objs: { obj: Record<string, unknown>; line: number }[] } | undefined;
  const objects = async (start: number, count: number) => {
    if (!cache || cache.start !== start || cache.count !== count) {
      const lines = await cursor.take(start, count);
      cache = { start, count, objs: lines.map(({ text, line }) => ({ obj: parseObject(path, text, line), line })) };
    }
    return cache.objs;
  };
  const readers: InputReader[] = slots.map((slot) => {
    const dims = slot.dims!;
    const F = product(dims);
    const key = slot.input.name;
    return {
      input: slot.input, type: slot.to, sampleDims: dims, stored: { type: 'text', dims: slot.firstShape! },
      async read(start, count) {
        const objs = await objects(start, count);
        const values: number[] = [];
        for (const { obj } of objs) flatten(obj[key], values, nonFinite);
        try {
          return fromNumbers(values, slot.to);
        } catch (e) {
          if (!(e instanceof CastRangeError)) throw e;
          throw inputError(path, `line ${objs[Math.floor(e.index / F)]!.line}, key "${key}": ${e.value} does not fit input "${key}" (${slot.to})`);
        }
      },
    };
  });
  return makeDataset({
    path, format: 'jsonl', samples, readers, allowNonFinite: nonFinite,
    ...(labelKey !== undefined ? { labels: Int32Array.from(labels) } : {}),
    close: () => cursor.close(),
  });
}
