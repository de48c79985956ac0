/** A dataset, read in batches and matched to a model's inputs. */
import type { ElementType, TensorInfo } from '../model/types.js';

/** Typed array for a tensor's data, matching its ElementType. */
export type TensorData =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** One input tensor of one batch, in the layout onnxruntime takes. */
export interface BatchTensor {
  type: ElementType;
  dims: number[];
  data: TensorData;
}

/** A batch: one tensor per model input, keyed by input name. */
export type Batch = Record<string, BatchTensor>;

/** Options for reading image folders (others ignore them). */
export interface ImageOptions {
  /** Per-channel mean and std applied after scaling pixels to [0, 1]. */
  mean?: number[];
  std?: number[];
}

export interface DatasetOptions {
  image?: ImageOptions;
  /** Read at most this many samples. */
  limit?: number;
  /** Name of a label column in CSV/TSV/JSONL data (kept out of the features). */
  labelColumn?: string;
  /**
   * Feed NaN and Inf to the model (for models that handle missing values
   * themselves). By default a non-finite input value is refused, naming the
   * file and sample: a model fed NaN returns NaN, and a trace of it is noise.
   */
  allowNonFinite?: boolean;
}

/** One sample of one input as a file holds it. */
export interface StoredSample {
  /** Element type: a numeric type ("uint8", "float"), or "text" for numbers written out (CSV, JSON). */
  type: string;
  dims: number[];
}

/** How the data feeds one input: what the file holds per sample, and what the model gets (cast and reshaped in C order). */
export interface InputLayout {
  name: string;
  stored: StoredSample;
  fed: { type: string; dims: number[] };
}

/** An opened dataset, validated against the model's inputs. */
export interface Dataset {
  path: string;
  /** 'npy' | 'npz' | 'csv' | 'tsv' | 'jsonl' | 'images' */
  format: string;
  /** Number of samples that will be read (after limit). */
  samples: number;
  /** Per model input, what the file holds and what the model is fed. */
  layout: InputLayout[];
  /** Labels found in the data itself (a label column), if any. */
  labels?: Int32Array;
  /**
   * How to open the same samples again, set only where that costs no more than the file's
   * header (samples are read at file offsets on demand; nothing is inflated or parsed whole).
   * Another thread can then read the batches itself rather than be sent each one.
   */
  reopen?: ReopenSpec;
  /** Batches of at most batchSize samples, in order; memory O(batch). */
  batches(batchSize: number): AsyncIterable<Batch>;
  /**
   * Samples [first, first + count) as a dataset of their own, read lazily from
   * the same file (a shard of a cluster job). Closing either closes the file.
   */
  slice(first: number, count: number): Dataset;
  close(): Promise<void>;
}

/** A dataset's samples as another thread opens them: openDataset(path, inputs, options), then samples [first, first + samples). */
export interface ReopenSpec {
  path: string;
  inputs: TensorInfo[];
  options: DatasetOptions;
  first: number;
  samples: number;
}

/** What a reader needs to know of the model to validate and shape the data. */
export type ModelInputs = TensorInfo[];
