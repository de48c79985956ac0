/**
 * The first sample of a dataset as onnxruntime feeds: the real input shapes a MAC count is made
 * for (a symbolic sequence length or image side takes the data's value). Used by `inspect --data`
 * and by the inference job, so a trace's MACs are those of the data it was recorded on.
 */
import type * as ort from 'onnxruntime-node';
import { toFeeds } from '../inference/tensors.js';
import type { TensorInfo } from '../model/types.js';
import { openDataset } from './open.js';
import type { DatasetOptions } from './types.js';

/** `options` as the dataset will be read (image size, label column), so the sample has the shapes the model will see. */
export function firstSample(path: string, options: Omit<DatasetOptions, 'limit'> = {}): (inputs: TensorInfo[]) => Promise<Record<string, ort.Tensor> | undefined> {
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
