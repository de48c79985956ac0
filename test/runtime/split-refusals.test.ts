/**
 * verifySplit must be seen to refuse: a stage that computes something else than the model, a
 * tensor that crosses a cut and changes with the batch without following it (a batch statistic),
 * and a carried shape (stale once samples leave the batch). Each would otherwise be deployed.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildMlpMultiExit, cleanupTempModels, floatTensor, makeModel, node, prng, randomFloats, valueInfo, writeTempModel } from '../helpers/onnx-builder.js';
import { splitStages, type StageSplit } from '../../src/model/split.js';
import { verifySplit } from '../../src/model/split-verify.js';
import { StudioError } from '../../src/errors.js';

after(cleanupTempModels);

const INT64 = 7;

function input(dims: number[], seed = 5): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', randomFloats(prng(seed), n, 1), dims);
}

function refusal(pattern: RegExp, file: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof StudioError, String(e));
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith(file), `names the model first: ${e.message}`);
    return true;
  };
}

describe('verifySplit refuses', () => {
  it('a stage that does not compute what the model computes (stage 2 taken from other weights)', async () => {
    const mlp = (seed: number): Uint8Array => buildMlpMultiExit({ inputDim: 6, hidden: 5, classes: 4, exits: 3, seed });
    const path = writeTempModel(mlp(1));
    const good = await splitStages(path, ['exit_0', 'exit_1', 'exit_2']);
    const other = await splitStages(writeTempModel(mlp(2)), ['exit_0', 'exit_1', 'exit_2']);
    // Same inputs and outputs, same shapes: only the values tell them apart.
    assert.deepEqual(other.stages[1]!.carriedIn, good.stages[1]!.carriedIn);
    const corrupted: StageSplit = { ...good, stages: good.stages.map((s, k) => (k === 1 ? { ...s, bytes: other.stages[1]!.bytes } : s)) };
    await assert.rejects(verifySplit(corrupted, { x: input([9, 6]) }), refusal(/do not reproduce the full model on 9 samples: exit 'exit_1': max \|diff\| .*; exit 'exit_2'.*not safe to deploy/, path));
    // The exits before the corrupted stage are not blamed.
    await assert.rejects(verifySplit(corrupted, { x: input([9, 6]) }), (e: Error) => !/exit 'exit_0'/.test(e.message));
    // The untouched split passes on the same batch: the refusal is the corruption's doing.
    await verifySplit(good, { x: input([9, 6]) });
  });

  it('a tensor crossing the cut that changes with the batch without a batch axis (a batch mean)', async () => {
    // h0 = relu(x W0 + b0); m = mean of h0 over the batch ([hidden], no batch axis), as a batch
    // norm in training mode would; exit_0 reads h1 = h0 + m, exit_1 reads h1 * m, so m is made in stage 1 and crosses the cut.
    const r = prng(3);
    const bytes = makeModel({
      nodes: [
        node('Gemm', ['x', 'w0', 'b0'], ['pre0'], { transB: 1 }),
        node('Relu', ['pre0'], ['h0']),
        node('ReduceMean', ['h0'], ['m'], { axes: [0], keepdims: 0 }),
        node('Add', ['h0', 'm'], ['h1']),
        node('Gemm', ['h1', 'hw0', 'hb0'], ['exit_0'], { transB: 1 }),
        node('Mul', ['h1', 'm'], ['h2']),
        node('Gemm', ['h2', 'hw1', 'hb1'], ['exit_1'], { transB: 1 }),
      ],
      initializers: [
        floatTensor('w0', [5, 4], randomFloats(r, 20, 0.5)),
        floatTensor('b0', [5], randomFloats(r, 5, 0.5)),
        floatTensor('hw0', [3, 5], randomFloats(r, 15, 1)),
        floatTensor('hb0', [3], randomFloats(r, 3, 1)),
        floatTensor('hw1', [3, 5], randomFloats(r, 15, 1)),
        floatTensor('hb1', [3], randomFloats(r, 3, 1)),
      ],
      inputs: [valueInfo('x', ['batch', 4])],
      outputs: [valueInfo('exit_0', ['batch', 3]), valueInfo('exit_1', ['batch', 3])],
    });
    const path = writeTempModel(bytes);
    const split = await splitStages(path, ['exit_0', 'exit_1']);
    assert.deepEqual(split.stages[0]!.carriedOut.map((b) => b.name).sort(), ['h1', 'm'], 'the splitter carries the mean: only the verifier can object');
    await assert.rejects(
      verifySplit(split, { x: input([8, 4]) }),
      refusal(/tensor 'm' crosses the cut after stage 1 but changes with the batch without a batch axis \(shape \[5\] for 8 samples, \[5\] for 4\).*cannot be deployed with early exits/, path),
    );
  });

  it('a carried shape tensor: right on the whole batch, stale once samples leave it', async () => {
    // Full model: h0 = relu(x W0 + b0) [batch, 4]; exit_1 reads Reshape(h0, Shape(x)). A sound split
    // recomputes Shape(x) in stage 2 (the splitter does: see split.test.ts); this one carries it.
    const r = prng(7);
    const init = [
      floatTensor('w0', [4, 4], randomFloats(r, 16, 0.5)),
      floatTensor('b0', [4], randomFloats(r, 4, 0.5)),
      floatTensor('hw0', [3, 4], randomFloats(r, 12, 1)),
      floatTensor('hb0', [3], randomFloats(r, 3, 1)),
      floatTensor('hw1', [3, 4], randomFloats(r, 12, 1)),
      floatTensor('hb1', [3], randomFloats(r, 3, 1)),
    ];
    const [w0, b0, hw0, hb0, hw1, hb1] = init;
    const stage1 = [node('Gemm', ['x', 'w0', 'b0'], ['pre0'], { transB: 1 }), node('Relu', ['pre0'], ['h0']), node('Gemm', ['h0', 'hw0', 'hb0'], ['exit_0'], { transB: 1 })];
    const stage2 = [node('Reshape', ['h0', 'xs'], ['h1']), node('Gemm', ['h1', 'hw1', 'hb1'], ['exit_1'], { transB: 1 })];
    const path = writeTempModel(
      makeModel({
        nodes: [...stage1, node('Shape', ['x'], ['xs']), ...stage2],
        initializers: init,
        inputs: [valueInfo('x', ['batch', 4])],
        outputs: [valueInfo('exit_0', ['batch', 3]), valueInfo('exit_1', ['batch', 3])],
      }),
    );
    const sound = await splitStages(path, ['exit_0', 'exit_1']);
    assert.deepEqual(sound.stages[1]!.modelInputs, ['x'], 'the splitter recomputes the shape in stage 2');
    await verifySplit(sound, { x: input([8, 4]) });

    const carried: StageSplit = {
      ...sound,
      stages: [
        {
          ...sound.stages[0]!,
          carriedOut: [{ name: 'h0', type: 'float', shape: ['batch', 4], from: 0 }, { name: 'xs', type: 'int64', shape: [2], from: 0 }],
          bytes: makeModel({
            nodes: [...stage1, node('Shape', ['x'], ['xs'])],
            initializers: [w0!, b0!, hw0!, hb0!],
            inputs: [valueInfo('x', ['batch', 4])],
            outputs: [valueInfo('exit_0', ['batch', 3]), valueInfo('h0', ['batch', 4]), valueInfo('xs', [2], INT64)],
          }),
        },
        {
          ...sound.stages[1]!,
          modelInputs: [],
          carriedIn: [{ name: 'h0', type: 'float', shape: ['batch', 4], from: 0 }, { name: 'xs', type: 'int64', shape: [2], from: 0 }],
          bytes: makeModel({
            nodes: stage2,
            initializers: [hw1!, hb1!],
            inputs: [valueInfo('h0', ['batch', 4]), valueInfo('xs', [2], INT64)],
            outputs: [valueInfo('exit_1', ['batch', 3])],
          }),
        },
      ],
    };
    await assert.rejects(
      verifySplit(carried, { x: input([8, 4]) }),
      refusal(/tensor 'xs' crosses the cut after stage 1 but changes with the batch without a batch axis \(shape \[2\] for 8 samples, \[2\] for 4\)/, path),
    );
  });
});
