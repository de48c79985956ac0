import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import {
  buildCnnMultiExit, buildMlpMultiExit, buildSingleExit, cleanupTempModels, saveWithExternalData, writeTempModel,
} from '../helpers/onnx-builder.js';

after(cleanupTempModels);

async function run(path: string, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

function rows(batch: number, dim: number): Float32Array {
  return Float32Array.from({ length: batch * dim }, (_, i) => Math.sin(i));
}

describe('onnx-builder', () => {
  it('MLP runs with every exit, shuffled declaration, softmax and extra outputs', async () => {
    const bytes = buildMlpMultiExit({ inputDim: 6, hidden: 8, classes: 5, exits: 3, softmaxOnExit: [1], declareOrder: [2, 0, 1], extraOutputs: true });
    const s = await ort.InferenceSession.create(writeTempModel(bytes), { intraOpNumThreads: 1 });
    assert.deepEqual(s.outputNames, ['exit_2', 'embedding', 'exit_0', 'exit_1', 'score']);
    const out = await s.run({ x: new ort.Tensor('float32', rows(4, 6), [4, 6]) });
    await s.release();
    for (const k of [0, 1, 2]) assert.deepEqual(out[`exit_${k}`]!.dims, [4, 5]);
    assert.deepEqual(out['embedding']!.dims, [4, 8]);
    assert.deepEqual(out['score']!.dims, [4, 1]);
    const p = out['exit_1']!.data as Float32Array;
    for (let r = 0; r < 4; r++) {
      const sum = p.slice(r * 5, r * 5 + 5).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `softmax row ${r} sums to ${sum}`);
    }
    const l = out['exit_0']!.data as Float32Array;
    assert.ok(Math.abs(l.slice(0, 5).reduce((a, b) => a + b, 0) - 1) > 1e-3, 'logits should not sum to 1');
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = buildMlpMultiExit({ inputDim: 3, hidden: 4, classes: 2, exits: 2, seed: 7 });
    const b = buildMlpMultiExit({ inputDim: 3, hidden: 4, classes: 2, exits: 2, seed: 7 });
    const c = buildMlpMultiExit({ inputDim: 3, hidden: 4, classes: 2, exits: 2, seed: 8 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('CNN runs and gives [batch, classes] per exit', async () => {
    const path = writeTempModel(buildCnnMultiExit({ classes: 10, exits: 3, size: 8, channels: 4 }));
    const out = await run(path, { x: new ort.Tensor('float32', rows(2, 64), [2, 1, 8, 8]) });
    for (const k of [0, 1, 2]) assert.deepEqual(out[`exit_${k}`]!.dims, [2, 10]);
  });

  it('single-exit model runs', async () => {
    const out = await run(writeTempModel(buildSingleExit({ inputDim: 4, classes: 3 })), { x: new ort.Tensor('float32', rows(1, 4), [1, 4]) });
    assert.deepEqual(out['logits']!.dims, [1, 3]);
  });

  it('external data model gives the same outputs as the inline one', async () => {
    const bytes = buildMlpMultiExit({ inputDim: 5, hidden: 7, classes: 3, exits: 2 });
    const inline = writeTempModel(bytes);
    const ext = saveWithExternalData(bytes, { location: 'weights.bin' });
    const feeds = { x: new ort.Tensor('float32', rows(3, 5), [3, 5]) };
    const a = await run(inline, feeds);
    const b = await run(ext.modelPath, feeds);
    assert.deepEqual(Array.from(b['exit_1']!.data as Float32Array), Array.from(a['exit_1']!.data as Float32Array));
  });
});
