import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildCnnMultiExit, buildMlpMultiExit, cleanupTempModels, floatTensor, makeModel, node, prng, randomFloats, saveWithExternalData, valueInfo, writeTempModel } from '../helpers/onnx-builder.js';
import { splitStages } from '../../src/model/split.js';
import { verifySplit } from '../../src/model/split-verify.js';
import { createSession } from '../../src/model/split-run.js';
import { externalRef, inlineWeights } from '../../src/model/weights.js';
import { proto } from '../../src/model/proto.js';
import { inspectModel } from '../../src/model/inspect.js';
import { samplePaths } from '../../src/paths.js';
import { firstBatch } from '../../src/runtime/data.js';
import { StudioError } from '../../src/errors.js';
import { attentionFeeds, buildAttentionMultiExit } from './attention-model.js';

after(cleanupTempModels);

function randomInput(dims: number[], seed = 5): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', randomFloats(prng(seed), n, 1), dims);
}

describe('splitStages + verifySplit', () => {
  it('MLP: one stage per exit, the hidden state crosses each cut, every exit reproduced', async () => {
    const path = writeTempModel(buildMlpMultiExit({ inputDim: 6, hidden: 5, classes: 4, exits: 3 }));
    const split = await splitStages(path, ['exit_0', 'exit_1', 'exit_2']);
    assert.equal(split.stages.length, 3);
    assert.deepEqual(split.stages.map((s) => s.carriedOut.map((b) => b.name)), [['h0'], ['h1'], []]);
    assert.deepEqual(split.stages.map((s) => s.modelInputs), [['x'], [], []]);
    assert.deepEqual(split.stages[1]!.carriedIn[0]!.shape, ['batch', 5], 'symbolic batch kept on the boundary');
    const v = await verifySplit(split, { x: randomInput([9, 6]) });
    assert.equal(v.samples, 9);
    for (const e of v.exits) assert.ok(e.maxAbsDiff <= 1e-5 && e.argmaxMismatches === 0, JSON.stringify(e));
    assert.deepEqual(v.batchAxes, { h0: 0, h1: 0 });
  });

  it('CNN: conv feature maps cross the cuts with their batch axis', async () => {
    const path = writeTempModel(buildCnnMultiExit({ classes: 3, exits: 3, size: 8, channels: 4 }));
    const info = await inspectModel(path);
    const split = await splitStages(path, info.exits.map((e) => e.name));
    assert.deepEqual(split.stages[0]!.carriedOut.map((b) => b.name), ['h0']);
    const v = await verifySplit(split, { x: randomInput([7, 1, 8, 8]) });
    for (const e of v.exits) assert.ok(e.maxAbsDiff <= 1e-5 && e.argmaxMismatches === 0, JSON.stringify(e));
  });

  it('external weights stay in the side file: stages name it, and inlineWeights makes a stage stand alone', async () => {
    const { modelPath } = saveWithExternalData(buildMlpMultiExit({ inputDim: 4, hidden: 3, classes: 2, exits: 2 }));
    const split = await splitStages(modelPath, ['exit_0', 'exit_1']);
    assert.ok(split.stages.every((s) => s.weightsDir === dirname(modelPath)));
    // Bytes alone cannot find the weights: onnxruntime needs the folder.
    await assert.rejects(ort.InferenceSession.create(split.stages[0]!.bytes), /External data/);
    const s = await createSession(split.stages[0]!);
    await s.release();
    const external = (bytes: Uint8Array): boolean[] => (proto.ModelProto.decode(bytes).graph?.initializer ?? []).map((t) => externalRef(t) !== undefined);
    assert.ok(external(split.stages[0]!.bytes).every(Boolean), 'the stage names the side file');
    const alone = await inlineWeights(split.stages[0]!.bytes, split.stages[0]!.weightsDir);
    assert.ok(!external(alone).some(Boolean), 'inline');
    const t = await ort.InferenceSession.create(alone);
    await t.release();
    await verifySplit(split, { x: randomInput([4, 4]) });
  });

  it('attention encoder: the mask-derived tensor is carried to every stage, shapes are recomputed per stage', async () => {
    const path = writeTempModel(buildAttentionMultiExit({ blocks: 3, dim: 8, heads: 2 }));
    const split = await splitStages(path, ['exit_0', 'exit_1', 'exit_2']);
    // ext_mask is made in stage 1 and read by every block: it crosses both cuts.
    assert.deepEqual(split.stages[0]!.carriedOut.map((b) => b.name).sort(), ['b0_h', 'ext_mask']);
    assert.deepEqual(split.stages[1]!.carriedOut.map((b) => b.name).sort(), ['b1_h', 'ext_mask']);
    // The batch size read from Shape(x) is never carried: each stage reads x and recomputes it.
    for (const s of split.stages) assert.ok(!s.carriedOut.some((b) => b.type === 'int64'), `stage ${s.index}: ${s.carriedOut.map((b) => b.name)}`);
    assert.deepEqual(split.stages[2]!.modelInputs, ['x']);
    const v = await verifySplit(split, attentionFeeds(6, 5, 8));
    for (const e of v.exits) assert.ok(e.maxAbsDiff <= 1e-5 && e.argmaxMismatches === 0, JSON.stringify(e));
    assert.equal(v.batchAxes['ext_mask'], 0);
  });

  it('an exit computed from a deeper exit cannot come first: clear error', async () => {
    const path = writeTempModel(buildMlpMultiExit({ inputDim: 4, hidden: 3, classes: 2, exits: 2 }));
    // Depth order reversed: exit_1's stage would need block 1, which exit_0 does not compute... fine,
    // but here exit_0's head is an ancestor of nothing; build a real dependency instead.
    const bytes = makeModel({
      nodes: [
        node('Gemm', ['x', 'w0', 'b0'], ['a'], { transB: 1 }),
        node('Relu', ['a'], ['early']),
        node('Gemm', ['early', 'w1', 'b1'], ['late'], { transB: 1 }),
      ],
      initializers: [
        floatTensor('w0', [3, 4], randomFloats(prng(1), 12, 1)),
        floatTensor('b0', [3], randomFloats(prng(2), 3, 1)),
        floatTensor('w1', [3, 3], randomFloats(prng(3), 9, 1)),
        floatTensor('b1', [3], randomFloats(prng(4), 3, 1)),
      ],
      inputs: [valueInfo('x', ['batch', 4])],
      outputs: [valueInfo('early', ['batch', 3]), valueInfo('late', ['batch', 3])],
    });
    const bad = writeTempModel(bytes);
    await assert.rejects(splitStages(bad, ['late', 'early']), (e: unknown) => {
      assert.ok(e instanceof StudioError);
      assert.match(e.message, /exit 'late' \(position 1\) is computed from it/);
      assert.match(e.message, /depth order/);
      assert.ok(e.message.startsWith(bad));
      return true;
    });
    await assert.rejects(splitStages(path, ['exit_0', 'nope']), /'nope' is not an output of the model/);
  });

  const sample = samplePaths();
  const skip = existsSync(sample.model) && existsSync(sample.data) ? false : `sample model not built yet (${sample.model})`;
  it('sample model: every exit reproduced on 64 real images', { skip }, async () => {
    const info = await inspectModel(sample.model);
    const split = await splitStages(sample.model, info.exits.map((e) => e.name));
    assert.equal(split.stages.length, info.exits.length);
    const v = await verifySplit(split, await firstBatch(sample.data, info.inputs, 64));
    assert.equal(v.samples, 64);
    for (const e of v.exits) assert.ok(e.maxAbsDiff <= 1e-5 && e.argmaxMismatches === 0, JSON.stringify(e));
  });
});
