/** The first sample of a dataset as onnxruntime feeds: the real input shapes a MAC count is made for. */
import type * as ort from 'onnxruntime-node';
import { openDataset } from '../data/open.js';
import type { DatasetOptions } from '../data/types.js';
import type { TensorInfo } from '../model/types.js';
import { toFeeds } from './tensors.js';

export function firstSample(path: string, options: DatasetOptions = {}): (inputs: TensorInfo[]) => Promise<Record<string, ort.Tensor> | undefined> {
  return async (inputs) => {
    const ds = await openDataset(path, inputs, { ...options, limit: 1 });
    try {
      for await (const batch of ds.batches(1)) return toFeeds(batch);
      return undefined;
    } finally {
      await ds.close();
    }
  };
}
