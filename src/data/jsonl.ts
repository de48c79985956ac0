/**
 * JSON Lines: one JSON object per sample, one key per model input (`{"x": [...]}`),
 * each value a nested array in the input's per-sample shape or a flat array of
 * as many numbers (a lone number for a per-sample scalar). `labelColumn` names a
 * key that holds the sample's label. Streamed like CSV: checked fully on open,
 * then read again per pass.
 */
import type { TensorInfo } from '../model/types.js';
import { inputError } from '../errors.js';
import { applyLimit, makeDataset, type InputReader } from './dataset.js';
import { CastRangeError, fromNumbers, isIntType, type NumericType } from './elements.js';
import { labelProblem } from './labels.js';
import type { Dataset, DatasetOptions } from './types.js';
import { LineCursor, readLines } from './text.js';
import { formatDims, matchSampleDims, mismatch, product, targetType } from './validate.js';

/** Shape and values of a regular nested array of numbers, or the reason it is not one. */
function flatten(v: unknown, out: number[]): number[] | string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return `${v} is not a finite number`;
    out.push(v);
    return [];
  }
  if (typeof v === 'boolean') { out.push(v ? 1 : 0); return []; }
  if (v === null) return 'null is not a number (NaN and missing values are not allowed)';
  if (!Array.isArray(v)) return `${JSON.stringify(v).slice(0, 40)} is not a number or an array`;
  let shape: number[] | undefined;
  for (let i = 0; i < v.length; i++) {
    const s = flatten(v[i], out);
    if (typeof s === 'string') return `[${i}]: ${s}`;
    if (!shape) shape = s;
    else if (s.length !== shape.length || s.some((d, k) => d !== shape![k])) {
      return `ragged array: element [${i}] has shape ${formatDims(s)} but element [0] has ${formatDims(shape)}`;
    }
  }
  return [v.length, ...(shape ?? [])];
}

function parseObject(path: string, text: string, line: number): Record<string, unknown> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw inputError(path, `line ${line} is not valid JSON (${(e as Error).message})`);
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
  const labels: number[] = [];
  let rows = 0;
  for await (const { text, line } of readLines(path)) {
    if (text.trim() === '') continue;
    if (limit !== undefined && rows >= limit) break;
    const obj = parseObject(path, text, line);
    for (const slot of slots) {
      const key = slot.input.name;
      if (!(key in obj)) {
        throw inputError(path, `line ${line}: no key "${key}" for model input "${key}"; the object has keys ${Object.keys(obj).map((k) => `"${k}"`).join(', ') || '(none)'}`);
      }
      const values: number[] = [];
      const shape = flatten(obj[key], values);
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
      const problem = v === undefined ? `no label key "${labelKey}"` : typeof v !== 'number' ? `label ${JSON.stringify(v)} is not a number` : labelProblem(v);
      if (problem) throw inputError(path, `line ${line}, key "${labelKey}": ${problem}`);
      labels.push(v as number);
    }
    rows++;
  }
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
        for (const { obj } of objs) flatten(obj[key], values);
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
    path, format: 'jsonl', samples, readers,
    ...(labelKey !== undefined ? { labels: Int32Array.from(labels) } : {}),
    close: () => cursor.close(),
  });
}
