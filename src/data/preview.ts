/**
 * A first look at a dataset before any inference: does it fit the model's
 * inputs, how many samples, what the first few look like (image-shaped inputs
 * are flagged so a UI can draw thumbnails), and whether the labels fit.
 * Problems are returned, not thrown, so a screen can show them all together.
 */
import { isStudioError } from '../errors.js';
import type { TensorInfo } from '../model/types.js';
import { readLabels } from './labels.js';
import { openDataset } from './open.js';
import type { DatasetOptions, StoredSample } from './types.js';

export interface ImageLayoutHint {
  layout: 'NCHW' | 'NHWC';
  channels: number;
  height: number;
  width: number;
}

export interface InputPreview {
  name: string;
  /** What the model is fed: element type and per-sample dims (the batch axis dropped). */
  type: string;
  dims: number[];
  /** What the file holds per sample, before the cast to `type` and the reshape to `dims` (C order). */
  stored: StoredSample;
  /** Smallest and largest value among the previewed samples (null when there are none). */
  range: { min: number; max: number } | null;
  image: ImageLayoutHint | null;
  /** The first samples' values, flat in C order, at most MAX_VALUES each. */
  samples: number[][];
  truncated: boolean;
}

export interface DataPreview {
  path: string;
  format: string | null;
  samples: number;
  inputs: InputPreview[];
  labels: { count: number; classes: number; first: number[] } | null;
  problems: string[];
}

const MAX_VALUES = 4096;

export async function previewDataset(path: string, inputs: TensorInfo[], opts: { count?: number; labels?: string; dataset?: DatasetOptions } = {}): Promise<DataPreview> {
  const count = opts.count ?? 8;
  const out: DataPreview = { path, format: null, samples: 0, inputs: [], labels: null, problems: [] };
  try {
    const ds = await openDataset(path, inputs, { ...opts.dataset, limit: Math.max(1, count) });
    try {
      out.format = ds.format;
      const stored = new Map(ds.layout.map((l) => [l.name, l.stored]));
      const full = await openDataset(path, inputs, opts.dataset);
      out.samples = full.samples;
      await full.close();
      for await (const batch of ds.batches(count)) {
        for (const [name, t] of Object.entries(batch)) {
          const per = t.dims.slice(1);
          const size = per.reduce((a, b) => a * b, 1);
          const n = t.dims[0] ?? 0;
          const samples: number[][] = [];
          let min = Infinity;
          let max = -Infinity;
          for (let i = 0; i < n; i++) {
            const row: number[] = [];
            for (let j = 0; j < size; j++) {
              const v = Number((t.data as ArrayLike<number | bigint>)[i * size + j]);
              if (v < min) min = v;
              if (v > max) max = v;
              if (j < MAX_VALUES) row.push(v);
            }
            samples.push(row);
          }
          out.inputs.push({
            name, type: t.type, dims: per, stored: stored.get(name) ?? { type: t.type, dims: per }, range: n > 0 && size > 0 ? { min, max } : null,
            image: imageHint(per), samples, truncated: size > MAX_VALUES,
          });
        }
        break;
      }
    } finally {
      await ds.close();
    }
  } catch (e) {
    if (!isStudioError(e)) throw e;
    out.problems.push(e.message);
  }
  if (opts.labels) {
    try {
      const labels = await readLabels(opts.labels);
      if (out.samples && labels.length !== out.samples) out.problems.push(`${opts.labels}: ${labels.length} labels for ${out.samples} samples`);
      let max = -1;
      for (const l of labels) if (l > max) max = l;
      out.labels = { count: labels.length, classes: max + 1, first: Array.from(labels.subarray(0, count)) };
    } catch (e) {
      if (!isStudioError(e)) throw e;
      out.problems.push(e.message);
    }
  }
  return out;
}

/** Image-shaped per-sample dims: [C, H, W] or [H, W, C] with 1 or 3 channels, or a bare [H, W]. */
function imageHint(d: number[]): ImageLayoutHint | null {
  const big = (x: number | undefined): boolean => x !== undefined && x >= 8;
  if (d.length === 3 && (d[0] === 1 || d[0] === 3) && big(d[1]) && big(d[2])) return { layout: 'NCHW', channels: d[0], height: d[1]!, width: d[2]! };
  if (d.length === 3 && (d[2] === 1 || d[2] === 3) && big(d[0]) && big(d[1])) return { layout: 'NHWC', channels: d[2], height: d[0]!, width: d[1]! };
  if (d.length === 2 && big(d[0]) && big(d[1])) return { layout: 'NCHW', channels: 1, height: d[0]!, width: d[1]! };
  return null;
}
