/** Batches of a user's dataset as onnxruntime feeds, for verification, timing and apply. */
import type * as ort from 'onnxruntime-node';
import { openDataset } from '../data/open.js';
import type { TensorInfo } from '../model/types.js';
import { toFeeds } from '../inference/tensors.js';

/** The first `count` samples (fewer when the data holds fewer) as one batch of feeds. */
export async function firstBatch(dataPath: string, inputs: TensorInfo[], count: number): Promise<Record<string, ort.Tensor>> {
  const ds = await openDataset(dataPath, inputs, { limit: count });
  try {
    for await (const batch of ds.batches(count)) return toFeeds(batch);
    throw new Error(`${dataPath}: no samples`);
  } finally {
    await ds.close();
  }
}
