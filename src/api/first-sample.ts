/** The first sample of a dataset as onnxruntime feeds: the real input shapes a MAC count is made for. */
import type * as ort from 'onnxruntime-node';
import { openDataset } from '../data/open.js';
import { toFeeds } from '../inference/tensors.js';
import type { TensorInfo } from '../model/types.js';

export function firstSample(path: string): (inputs: TensorInfo[]) => Promise<Record<string, ort.Tensor> | undefined> {
  return async (inputs) => {
    const ds = await openDataset(path, inputs, { limit: 1 });
    try {
      for await (const batch of ds.batches(1)) return toFeeds(batch);
      return undefined;
    } finally {
      await ds.close();
    }
  };
}
