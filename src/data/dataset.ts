/** The part every reader shares: limits, batch sizes, and turning per-input readers into a Dataset. */
import type { TensorInfo } from '../model/types.js';
import { StudioError, inputError } from '../errors.js';
import type { NumericType } from './elements.js';
import type { Batch, Dataset, DatasetOptions, StoredSample, TensorData } from './types.js';

/** Reads one model input, sample by sample, already in the input's element type and layout. */
export interface InputReader {
  input: TensorInfo;
  type: NumericType;
  /** Per-sample dims fed to the model (the batch dim excluded). */
  sampleDims: number[];
  /** What the file holds per sample before the cast and the reshape: its element type ("uint8", or "text" for numbers written out) and dims. */
  stored: StoredSample;
  /** Samples [start, start + count), C order, `count * prod(sampleDims)` elements. */
  read(start: number, count: number): Promise<TensorData> | TensorData;
}

/** How many samples to read: all of them, or the first `limit`. */
export function applyLimit(file: string, total: number, options?: DatasetOptions): number {
  const limit = options?.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new StudioError(`limit must be a whole number of samples ≥ 1, got ${limit}`, { kind: 'input', field: 'limit' });
  }
  if (total === 0) throw inputError(file, 'the dataset holds no samples');
  return limit === undefined ? total : Math.min(total, limit);
}

/** A batch size the model accepts: a fixed batch dim (e.g. 1) caps it. */
export function effectiveBatchSize(batchSize: number, inputs: readonly TensorInfo[]): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new StudioError(`batch size must be a whole number ≥ 1, got ${batchSize}`, { kind: 'input', field: 'batch' });
  }
  let size = batchSize;
  for (const input of inputs) {
    const b = input.shape[0];
    if (typeof b === 'number' && b >= 1) size = Math.min(size, b);
  }
  return size;
}

export interface DatasetParts {
  path: string;
  format: string;
  samples: number;
  labels?: Int32Array;
  readers: InputReader[];
  close?: () => Promise<void> | void;
  /** Let NaN and Inf through to the model (DatasetOptions.allowNonFinite); refused by default. */
  allowNonFinite?: boolean;
  /** The open that made these readers, when repeating it costs only the header (Dataset.reopen). */
  reopen?: { inputs: TensorInfo[]; options: DatasetOptions };
}

/** The first value of a float batch that is NaN or infinite, or undefined. float16 comes as raw bits. */
export function firstNonFinite(data: TensorData, type: NumericType): { index: number; value: number } | undefined {
  if (type === 'float16') {
    const bits = data as Uint16Array;
    for (let i = 0; i < bits.length; i++) {
      // Exponent all ones: infinity or NaN.
      if ((bits[i]! & 0x7c00) === 0x7c00) return { index: i, value: bits[i]! & 0x3ff ? NaN : bits[i]! & 0x8000 ? -Infinity : Infinity };
    }
    return undefined;
  }
  if (type !== 'float' && type !== 'double') return undefined;
  const v = data as Float32Array | Float64Array;
  if (allFinite(v)) return undefined;
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return { index: i, value: v[i]! };
  return undefined;
}

/**
 * Whether every value is finite, at about twice the speed of testing each one: x * 0 is 0 for a
 * finite x and NaN for NaN or an infinity, and a NaN stays in a sum. Four sums, so the additions
 * do not wait on one another. Every input value of a job passes here (39 million on 50,000
 * images of 28 x 28): 21 ms against 44 ms.
 */
function allFinite(v: Float32Array | Float64Array): boolean {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = v.length - (v.length % 4);
  let i = 0;
  for (; i < n; i += 4) {
    s0 += v[i]! * 0;
    s1 += v[i + 1]! * 0;
    s2 += v[i + 2]! * 0;
    s3 += v[i + 3]! * 0;
  }
  for (; i < v.length; i++) s0 += v[i]! * 0;
  return s0 + s1 + s2 + s3 === 0;
}

/** A NaN or Inf among a batch's values is bad input, named by sample and input. */
function refuseNonFinite(path: string, r: InputReader, data: TensorData, start: number): void {
  const bad = firstNonFinite(data, r.type);
  if (!bad) return;
  const per = r.sampleDims.reduce((a, b) => a * b, 1);
  throw inputError(
    path,
    `sample ${start + Math.floor(bad.index / Math.max(per, 1))}, input "${r.input.name}": ${bad.value} is not a finite number; ` +
      'model inputs must be finite (a model fed NaN answers NaN); impute or drop such samples, or let them through by allowing non-finite inputs',
    undefined,
    'allowNonFinite',
  );
}

/** Readers that can read any range on demand (npy, npz, images). */
export function makeDataset(parts: DatasetParts): Dataset {
  return datasetOver(parts, 0, parts.samples);
}

/** The samples [first, first + samples) of the readers' data, as a Dataset; slices share the readers. */
function datasetOver(parts: DatasetParts, first: number, samples: number): Dataset {
  const { readers } = parts;
  const inputs = readers.map((r) => r.input);
  const dataset: Dataset = {
    path: parts.path,
    format: parts.format,
    samples,
    layout: readers.map((r) => ({ name: r.input.name, stored: r.stored, fed: { type: r.input.type, dims: r.sampleDims } })),
    batches(batchSize: number): AsyncIterable<Batch> {
      const size = effectiveBatchSize(batchSize, inputs);
      return {
        async *[Symbol.asyncIterator]() {
          for (let start = first; start < first + samples; start += size) {
            const count = Math.min(size, first + samples - start);
            const batch: Batch = {};
            for (const r of readers) {
              const data = await r.read(start, count);
              if (!parts.allowNonFinite) refuseNonFinite(parts.path, r, data, start);
              batch[r.input.name] = { type: r.input.type, dims: [count, ...r.sampleDims], data };
            }
            yield batch;
          }
        },
      };
    },
    slice(from: number, count: number): Dataset {
      if (!Number.isInteger(from) || !Number.isInteger(count) || from < 0 || count < 0 || from + count > samples) {
        throw new StudioError(`samples [${from}, ${from + count}) are not within the ${samples} samples of ${parts.path}`, { kind: 'input', file: parts.path });
      }
      return datasetOver(parts, first + from, count);
    },
    async close() {
      await parts.close?.();
    },
  };
  if (parts.labels) dataset.labels = parts.labels.subarray(first, first + samples);
  if (parts.reopen) dataset.reopen = { path: parts.path, ...parts.reopen, first, samples };
  return dataset;
}
