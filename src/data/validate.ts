/**
 * Shared checks between a dataset and a model input: per-sample shape, element
 * type, and inputs the data does not provide. Every message names the file, the
 * input, what the model expects and what the data holds, e.g.
 *   data.npy: input "x" expects float [batch, 1, 28, 28]; found uint8 [100, 785]
 *
 * Reshaping rule: the first dim is always the batch. The data's per-sample
 * shape must match the input's non-batch dims (symbolic or null dims match any
 * size), or, when every non-batch dim of the input is a fixed number, hold
 * exactly as many elements per sample: it is then reinterpreted in C order, as
 * numpy's reshape would ([N, 784] feeds [batch, 1, 28, 28]). Anything else is
 * an error, never a guess.
 */
import type { Dim, TensorInfo } from '../model/types.js';
import { inputError, type StudioError } from '../errors.js';
import { castProblem, type NumericType } from './elements.js';

export function formatDims(dims: readonly Dim[]): string {
  return `[${dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

export function describeInput(input: TensorInfo): string {
  return `input "${input.name}" expects ${input.type} ${formatDims(input.shape)}`;
}

/** `found` is what the data holds: e.g. "uint8 [100, 784]". */
export function mismatch(file: string, input: TensorInfo, found: string, why?: string): StudioError {
  return inputError(file, `${describeInput(input)}; found ${found}${why ? ` (${why})` : ''}`);
}

export function product(dims: readonly number[]): number {
  let p = 1;
  for (const d of dims) p *= d;
  return p;
}

/**
 * The per-sample dims to feed the input with, given the data's per-sample dims,
 * or a reason they cannot feed it.
 */
export function matchSampleDims(input: TensorInfo, found: readonly number[]): number[] | string {
  if (input.shape.length === 0) return 'the input is a scalar; it has no batch dimension to feed samples along';
  const want = input.shape.slice(1);
  if (want.length === found.length && want.every((d, i) => typeof d !== 'number' || d === found[i])) {
    return [...found];
  }
  const fixed = want.every((d): d is number => typeof d === 'number');
  const count = product(found);
  if (fixed && product(want) === count) return want;
  if (fixed) return `${product(want)} values per sample expected, ${count} found`;
  return `per-sample shape ${formatDims(found)} does not match ${formatDims(want)}`;
}

/** Checks shape and type of an array of samples ([N, ...]) against an input; returns per-sample dims. */
export function checkArray(
  file: string, input: TensorInfo, type: NumericType, shape: readonly number[],
): number[] {
  const found = `${type} ${formatDims(shape)}`;
  const typeProblem = castProblem(type, input.type);
  if (typeProblem) throw mismatch(file, input, found, typeProblem);
  if (shape.length === 0) throw mismatch(file, input, found, 'a scalar holds no samples; the first dim is the sample count');
  const dims = matchSampleDims(input, shape.slice(1));
  if (typeof dims === 'string') throw mismatch(file, input, found, dims);
  return dims;
}

/** The input's element type, when the data can be made of it at all. */
export function targetType(file: string, input: TensorInfo): NumericType {
  const problem = castProblem('double', input.type);
  if (problem && !problem.includes('fraction')) throw inputError(file, `input "${input.name}": ${problem}`);
  return input.type as NumericType;
}

/** Fails when the model wants inputs the data does not provide; names both sides. */
export function checkMissing(file: string, inputs: readonly TensorInfo[], provided: readonly string[], what = 'arrays'): void {
  const missing = inputs.filter((i) => !provided.includes(i.name)).map((i) => `"${i.name}"`);
  if (missing.length > 0) {
    throw inputError(
      file,
      `model input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found; the file has ${what} ` +
        (provided.length ? provided.map((p) => `"${p}"`).join(', ') : '(none)'),
    );
  }
}

/** Readers that feed exactly one input (CSV, images) say so plainly for multi-input models. */
export function singleInput(file: string, inputs: readonly TensorInfo[], format: string): TensorInfo {
  if (inputs.length !== 1) {
    throw inputError(
      file,
      `${format} data feeds a model with one input; this model has ${inputs.length}: ` +
        `${inputs.map((i) => `"${i.name}"`).join(', ')} (use .npz or .jsonl with one array/key per input)`,
    );
  }
  return inputs[0]!;
}

