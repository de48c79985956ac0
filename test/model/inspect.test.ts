import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspectModel } from '../../src/model/inspect.js';
import { applySelection } from '../../src/model/order.js';
import { probsFromFirstBatch, probsFromFlat } from '../../src/model/exits.js';
import { StudioError } from '../../src/errors.js';
import {
  buildCnnMultiExit, buildMlpMultiExit, cleanupTempModels, cnnExitMacs, floatTensor, int64Tensor, makeModel, mlpExitMacs,
  node, prng, randomFloats, valueInfo, writeTempModel,
} from '../helpers/onnx-builder.js';

after(cleanupTempModels);

const mlp = { inputDim: 6, hidden: 8, classes: 5, exits: 4 };

describe('inspectModel: exits', () => {
  it('finds exits declared in shuffled order and orders them by depth', async () => {
    const info = await inspectModel(writeTempModel(buildMlpMultiExit({ ...mlp, declareOrder: [3, 1, 0, 2] })));
    assert.deepEqual(info.outputs.map((o) => o.name), ['exit_3', 'exit_1', 'exit_0', 'exit_2']);
    assert.deepEqual(info.exits.map((e) => e.name), ['exit_0', 'exit_1', 'exit_2', 'exit_3']);
    assert.deepEqual(info.exits.map((e) => e.index), [0, 1, 2, 3]);
    assert.deepEqual(info.exits.map((e) => e.classes), [5, 5, 5, 5]);
    assert.deepEqual(info.ignored, []);
    assert.deepEqual(info.inputs, [{ name: 'x', type: 'float', shape: ['batch', 6] }]);
    assert.equal(info.opset, 13);
    assert.match(info.sha256, /^[0-9a-f]{64}$/);
  });

  it('MLP MACs match the hand count', async () => {
    const info = await inspectModel(writeTempModel(buildMlpMultiExit(mlp)));
    // exit k: 6*8 + k*8*8 + 8*5
    assert.deepEqual(info.exits.map((e) => e.macs), [88, 152, 216, 280]);
    assert.deepEqual(info.exits.map((e) => e.macs), mlpExitMacs(mlp));
    assert.equal(info.totalMacs, 6 * 8 + 3 * 8 * 8 + 4 * 8 * 5);
    const nodes = info.exits.map((e) => e.nodes);
    assert.ok(nodes.every((n, i) => i === 0 || n > nodes[i - 1]!), `node counts grow: ${nodes}`);
  });

  it('CNN MACs match the hand count', async () => {
    const opts = { classes: 10, exits: 3, size: 8, channels: 4 };
    const info = await inspectModel(writeTempModel(buildCnnMultiExit({ ...opts, declareOrder: [2, 1, 0] })));
    // block 0: 4*8*8*1*9 = 2304; block 1 (stride 2 → 4x4): 4*4*4*4*9 = 2304; block 2 (2x2): 576; heads 40 each
    assert.deepEqual(info.exits.map((e) => e.macs), [2304 + 40, 2304 + 2304 + 40, 2304 + 2304 + 576 + 40]);
    assert.deepEqual(info.exits.map((e) => e.macs), cnnExitMacs(opts));
    assert.deepEqual(info.exits.map((e) => e.name), ['exit_0', 'exit_1', 'exit_2']);
  });

  it('works out output shapes the model does not declare', async () => {
    const info = await inspectModel(writeTempModel(buildCnnMultiExit({ classes: 7, exits: 2, omitOutputShapes: true })));
    assert.deepEqual(info.outputs.map((o) => o.shape), [['batch', 7], ['batch', 7]]);
    assert.equal(info.exits.length, 2);
  });

  it('tells probabilities (final Softmax) from logits', async () => {
    const info = await inspectModel(writeTempModel(buildMlpMultiExit({ ...mlp, softmaxOnExit: [1, 3] })));
    assert.deepEqual(info.exits.map((e) => e.kind), ['logits', 'probs', 'logits', 'probs']);
  });

  it('ignores an embedding and a [batch, 1] output, with reasons', async () => {
    const info = await inspectModel(writeTempModel(buildMlpMultiExit({ ...mlp, extraOutputs: true })));
    assert.deepEqual(info.exits.map((e) => e.name), ['exit_0', 'exit_1', 'exit_2', 'exit_3']);
    const byName = new Map(info.ignored.map((i) => [i.name, i]));
    assert.match(byName.get('embedding')!.reason, /shape \[batch, 8\] has C=8 but is a hidden state.*'exit_3'/);
    assert.equal(byName.get('embedding')!.asExit?.classes, 8);
    assert.match(byName.get('score')!.reason, /shape \[batch, 1\] has C=1.*not class scores/);
  });

  it('squeezes [batch, 1, C] exits and ignores other ranks', async () => {
    const rand = prng(3);
    const heads = [0, 1].flatMap((k) => [
      node('Gemm', [k === 0 ? 'x' : 'h0', `w${k}`], [`h${k}`], { transB: 1 }),
      node('Gemm', [`h${k}`, `hw${k}`], [`l${k}`], { transB: 1 }),
      node('Unsqueeze', [`l${k}`, 'axes'], [`exit_${k}`]),
    ]);
    const bytes = makeModel({
      nodes: [...heads, node('Unsqueeze', ['h1', 'axes'], ['map'])],
      initializers: [
        floatTensor('w0', [4, 3], randomFloats(rand, 12, 1)), floatTensor('w1', [4, 4], randomFloats(rand, 16, 1)),
        floatTensor('hw0', [3, 4], randomFloats(rand, 12, 1)), floatTensor('hw1', [3, 4], randomFloats(rand, 12, 1)),
        int64Tensor('axes', [1]),
      ],
      inputs: [valueInfo('x', ['N', 3])],
      outputs: [valueInfo('exit_1', null), valueInfo('exit_0', null), valueInfo('map', null)],
    });
    const info = await inspectModel(writeTempModel(bytes));
    assert.deepEqual(info.exits.map((e) => [e.name, e.squeeze, e.classes]), [['exit_0', true, 3], ['exit_1', true, 3]]);
    assert.deepEqual(info.outputs.find((o) => o.name === 'map')!.shape, ['N', 1, 4]);
    assert.match(info.ignored[0]!.reason, /C=4 but is a hidden state/);
  });

  it('propagates shapes through PyTorch-style Shape/Gather/Concat/Reshape and pools', async () => {
    const rand = prng(5);
    const bytes = makeModel({
      nodes: [
        node('Conv', ['x', 'cw'], ['c'], { kernel_shape: [3, 3] }),
        node('MaxPool', ['c'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] }),
        node('Shape', ['p'], ['s']),
        node('Gather', ['s', 'zero'], ['b'], { axis: 0 }),
        node('Unsqueeze', ['b', 'axes'], ['b1']),
        node('Concat', ['b1', 'minus1'], ['target'], { axis: 0 }),
        node('Reshape', ['p', 'target'], ['flat']),
        node('MatMul', ['flat', 'mw'], ['exit_a']),
        node('Gemm', ['flat', 'gw'], ['exit_b'], { transB: 1 }),
        node('Softmax', ['exit_b'], ['exit_c'], { axis: -1 }),
      ],
      initializers: [
        floatTensor('cw', [2, 1, 3, 3], randomFloats(rand, 18, 1)), int64Tensor('zero', [0]), int64Tensor('axes', [0]),
        int64Tensor('minus1', [-1]), floatTensor('mw', [18, 4], randomFloats(rand, 72, 1)), floatTensor('gw', [4, 18], randomFloats(rand, 72, 1)),
      ],
      inputs: [valueInfo('x', ['batch', 1, 8, 8])],
      outputs: [valueInfo('exit_a', null), valueInfo('exit_b', null), valueInfo('exit_c', null)],
    });
    const info = await inspectModel(writeTempModel(bytes));
    // Conv: 2 x 6 x 6 outputs, 9 MACs each = 648; pool 6→3, flat = 2*3*3 = 18; heads 18*4 = 72
    assert.deepEqual(info.outputs.map((o) => o.shape), [['batch', 4], ['batch', 4], ['batch', 4]]);
    assert.deepEqual(info.exits.map((e) => [e.name, e.macs, e.kind]), [['exit_a', 720, 'logits'], ['exit_c', 720, 'probs']]);
    assert.match(info.ignored.find((i) => i.name === 'exit_b')!.reason, /same scores as exit 'exit_c'/);
    assert.equal(info.warnings, undefined);
  });

  it('follows Pad (as AvgPool2d exports) and Slice to cost the heads', async () => {
    const rand = prng(11);
    const heads = (k: number, src: string): ReturnType<typeof node>[] => [
      node('Flatten', [src], [`f${k}`], { axis: 1 }), node('Gemm', [`f${k}`, `hw${k}`], [`exit_${k}`], { transB: 1 }),
    ];
    const bytes = makeModel({
      opset: 17,
      nodes: [
        node('Conv', ['x', 'cw'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
        node('Pad', ['c', 'pads'], ['pc']),
        node('AveragePool', ['pc'], ['ap'], { kernel_shape: [3, 3], strides: [3, 3] }),
        ...heads(0, 'ap'),
        node('Slice', ['c', 'st', 'en', 'ax'], ['sl']),
        ...heads(1, 'sl'),
      ],
      initializers: [
        floatTensor('cw', [2, 1, 3, 3], randomFloats(rand, 18, 1)), int64Tensor('pads', [0, 0, 0, 0, 0, 0, 1, 1]),
        int64Tensor('st', [1, 1]), int64Tensor('en', [3, 3]), int64Tensor('ax', [2, 3]),
        floatTensor('hw0', [3, 2 * 3 * 3], randomFloats(rand, 54, 1)), floatTensor('hw1', [3, 2 * 2 * 2], randomFloats(rand, 24, 1)),
      ],
      inputs: [valueInfo('x', ['batch', 1, 8, 8])],
      outputs: [valueInfo('exit_0', null), valueInfo('exit_1', null)],
    });
    const info = await inspectModel(writeTempModel(bytes));
    // conv 2*8*8*9 = 1152; pad 8→9, pool 9→3: head 18*3 = 54; slice 2x2: head 8*3 = 24
    assert.deepEqual(info.exits.map((e) => [e.name, e.macs]), [['exit_1', 1176], ['exit_0', 1206]]);
    assert.equal(info.warnings, undefined);
  });

  it('runs one sample for shapes it cannot work out, and warns about the op', async () => {
    const rand = prng(12);
    const bytes = makeModel({
      opset: 18,
      nodes: [0, 1].flatMap((k) => [
        node('Gemm', ['x', `w${k}`], [`l${k}`], { transB: 1 }),
        node('CenterCropPad', [`l${k}`, 'crop'], [`exit_${k}`], { axes: [1] }),
      ]),
      initializers: [floatTensor('w0', [5, 3], randomFloats(rand, 15, 1)), floatTensor('w1', [5, 3], randomFloats(rand, 15, 1)), int64Tensor('crop', [5])],
      inputs: [valueInfo('x', ['batch', 3])],
      outputs: [valueInfo('exit_0', null), valueInfo('exit_1', null)],
    });
    const path = writeTempModel(bytes);
    const info = await inspectModel(path);
    assert.deepEqual(info.outputs.map((o) => o.shape), [['batch', 5], ['batch', 5]]);
    assert.deepEqual(info.exits.map((e) => e.classes), [5, 5]);
    assert.match(info.warnings!.join('\n'), /shapes not worked out past op types: CenterCropPad/);
    await assert.rejects(inspectModel(path, { probe: false }), /found 0: none; ignored outputs: exit_0 \(shape unknown/);
  });

  it('rejects a graph with a cycle', async () => {
    const bytes = makeModel({
      nodes: [node('Add', ['x', 'b'], ['a']), node('Relu', ['a'], ['b'])],
      initializers: [], inputs: [valueInfo('x', ['n', 2])], outputs: [valueInfo('b', ['n', 2])],
    });
    const path = writeTempModel(bytes);
    await assert.rejects(inspectModel(path), (e: unknown) => e instanceof StudioError && e.message.startsWith(path) && /has a cycle/.test(e.message));
  });

  it('sets aside outputs whose class count disagrees with the other exits', async () => {
    const rand = prng(9);
    const bytes = makeModel({
      nodes: [
        node('Gemm', ['x', 'w'], ['h'], { transB: 1 }), node('Relu', ['h'], ['r']),
        node('Gemm', ['r', 'a'], ['exit_0'], { transB: 1 }), node('Gemm', ['r', 'b'], ['exit_1'], { transB: 1 }),
        node('Gemm', ['r', 'p'], ['proj'], { transB: 1 }),
      ],
      initializers: [floatTensor('w', [6, 3], randomFloats(rand, 18, 1)), floatTensor('a', [4, 6], randomFloats(rand, 24, 1)),
        floatTensor('b', [4, 6], randomFloats(rand, 24, 1)), floatTensor('p', [16, 6], randomFloats(rand, 96, 1))],
      inputs: [valueInfo('x', ['batch', 3])],
      outputs: [valueInfo('proj', ['batch', 16]), valueInfo('exit_1', ['batch', 4]), valueInfo('exit_0', ['batch', 4])],
    });
    const info = await inspectModel(writeTempModel(bytes));
    assert.deepEqual(info.exits.map((e) => e.name).sort(), ['exit_0', 'exit_1']);
    assert.match(info.ignored[0]!.reason, /has C=16 but the other 2 exit\(s\) have C=4/);
  });
});

describe('applySelection', () => {
  it('keeps the user order and re-indexes', async () => {
    const info = await inspectModel(writeTempModel(buildMlpMultiExit({ ...mlp, extraOutputs: true })));
    const sel = applySelection(info, ['exit_3', 'exit_1']);
    assert.deepEqual(sel.exits.map((e) => [e.name, e.index]), [['exit_3', 0], ['exit_1', 1]]);
    assert.ok(sel.ignored.some((i) => i.name === 'exit_0' && i.reason === 'not in the selected exits'));
    const viaOpt = await inspectModel(info.path, { select: ['exit_0', 'exit_2'] });
    assert.deepEqual(viaOpt.exits.map((e) => e.name), ['exit_0', 'exit_2']);
  });

  it('gives clear errors', async () => {
    const info = await inspectModel(writeTempModel(buildMlpMultiExit({ ...mlp, extraOutputs: true })));
    const fails = (names: string[], re: RegExp): void => {
      assert.throws(() => applySelection(info, names), (e: unknown) => e instanceof StudioError && re.test(e.message) && e.message.startsWith(info.path));
    };
    fails(['exit_0', 'nope'], /unknown exit 'nope'; the model's outputs are: exit_0, embedding/);
    fails(['exit_1'], /multi-exit needs at least two exits; selected 1: exit_1/);
    fails([], /selected 0: none/);
    fails(['exit_0', 'exit_0'], /selected twice/);
    fails(['exit_0', 'score'], /'score' cannot be an exit: shape \[batch, 1\]/);
    fails(['exit_0', 'embedding'], /disagree on the number of classes: exit_0 has 5, embedding has 8/);
  });
});

describe('probsFromFirstBatch', () => {
  it('accepts rows that sum to one and rejects others', () => {
    assert.equal(probsFromFirstBatch([[0.2, 0.8], [0.5, 0.5]]), true);
    assert.equal(probsFromFirstBatch([[0.2, 0.8], [0.5, 0.6]]), false);
    assert.equal(probsFromFirstBatch([[1.5, -0.5]]), false);
    assert.equal(probsFromFirstBatch([]), false);
    assert.equal(probsFromFlat(Float32Array.of(0.1, 0.2, 0.7, 0.3, 0.3, 0.4), 3), true);
    assert.equal(probsFromFlat(Float32Array.of(2.1, -0.2, 0.7), 3), false);
  });
});
