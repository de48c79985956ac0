/**
 * MAC counts op by op, on models built here and checked by onnxruntime: batched and broadcast
 * MatMul, Gemm with transposes, Einsum, onnxruntime's fused attention ops, LSTM, shape chains
 * folded without torch, and data-dependent shapes read from one run. Hand counts come from the
 * shapes written in each test.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { inspectModel } from '../../src/model/inspect.js';
import { nodeMacs } from '../../src/model/macs.js';
import { nodeOf } from '../../src/model/onnx-graph.js';
import type { Dim } from '../../src/model/types.js';
import {
  cleanupTempModels, floatTensor, int64Tensor, makeModel, node, prng, proto, randomFloats, saveWithExternalData, valueInfo, writeTempModel,
} from '../helpers/onnx-builder.js';

after(cleanupTempModels);

const rand = prng(16);
const weights = (name: string, dims: number[]): ReturnType<typeof floatTensor> => floatTensor(name, dims, randomFloats(rand, dims.reduce((a, b) => a * b, 1), 0.5));

/** A model that also imports onnxruntime's contrib domain, for com.microsoft nodes. */
function withContrib(bytes: Uint8Array): Uint8Array {
  const m = proto.ModelProto.decode(bytes);
  m.opsetImport.push({ domain: 'com.microsoft', version: 1 });
  return proto.ModelProto.encode(m).finish();
}

function contrib(n: ReturnType<typeof node>): ReturnType<typeof node> {
  return { ...n, domain: 'com.microsoft' };
}

/** Exit k: mean over the token axis of [batch, tokens, width], then a linear head to 3 classes. */
function head(k: number, src: string): ReturnType<typeof node>[] {
  return [node('ReduceMean', [src], [`pool${k}`], { axes: [1], keepdims: 0 }), node('Gemm', [`pool${k}`, `head${k}`], [`exit_${k}`], { transB: 1 })];
}

/** Runs the model once on real onnxruntime: the hand-built graph must be valid for the counts to mean anything. */
async function runs(path: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, readonly number[]>> {
  const s = await ort.InferenceSession.create(path);
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.dims]));
  } finally {
    await s.release();
  }
}

const floats = (dims: number[], f: (i: number) => number = () => 0.1): ort.Tensor =>
  new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)), dims);

describe('MACs per op from shapes', () => {
  const macs = (op: string, inputs: Dim[][], outputs: Dim[][], attrs: Parameters<typeof node>[3] = {}, domain = ''): number | null => {
    const n = nodeOf({ ...node(op, inputs.map((_, k) => `i${k}`), outputs.map((_, k) => `o${k}`), attrs), domain }, 0);
    const shapes = new Map<string, Dim[]>([...inputs.map((s, k) => [`i${k}`, s] as const), ...outputs.map((s, k) => [`o${k}`, s] as const)]);
    return nodeMacs(n, (v) => shapes.get(v));
  };

  it('MatMul: batch dims, broadcasting, and rank-1 operands', () => {
    assert.equal(macs('MatMul', [[2, 3, 4, 5], [5, 6]], [[2, 3, 4, 6]]), 2 * 3 * 4 * 6 * 5);
    assert.equal(macs('MatMul', [[2, 1, 4, 5], [3, 5, 6]], [[2, 3, 4, 6]]), 2 * 3 * 4 * 6 * 5, 'A broadcast over B\'s batch');
    assert.equal(macs('MatMul', [[4, 5], [5]], [[4]]), 20, 'matrix × vector');
    assert.equal(macs('MatMul', [[5], [5, 6]], [[6]]), 30, 'vector × matrix');
    assert.equal(macs('MatMul', [[4, 'k'], ['k', 6]], [[4, 6]]), null, 'a symbolic contraction cannot be counted');
  });

  it('Gemm: transA and transB', () => {
    assert.equal(macs('Gemm', [[7, 3], [3, 5]], [[7, 5]]), 105);
    assert.equal(macs('Gemm', [[3, 7], [5, 3]], [[7, 5]], { transA: 1, transB: 1 }), 105);
    assert.equal(macs('Gemm', [[7, 3], [5, 3]], [[7, 5]], { transB: 1 }), 105);
  });

  it('Conv and ConvTranspose: groups and dilation', () => {
    // 8 → 16 channels in 4 groups, 3×3 dilated by 2, 10×10 out: 16 × 100 × (8/4) × 9
    assert.equal(macs('Conv', [[1, 8, 14, 14], [16, 2, 3, 3]], [[1, 16, 10, 10]], { group: 4, dilations: [2, 2] }), 16 * 100 * 2 * 9);
    // 8 → 6 channels in 2 groups, 4×4 kernel, from 5×5: each input element feeds (6/2) × 16 outputs
    assert.equal(macs('ConvTranspose', [[1, 8, 5, 5], [8, 3, 4, 4]], [[1, 6, 12, 12]], { group: 2, strides: [2, 2] }), 8 * 25 * 3 * 16);
  });

  it('Einsum: contractions, batch letters and ellipses', () => {
    assert.equal(macs('Einsum', [[2, 6, 16], [16, 8]], [[2, 6, 8]], { equation: 'bsd,de->bse' }), 2 * 6 * 16 * 8);
    assert.equal(macs('Einsum', [[1, 4, 6, 8], [1, 4, 9, 8]], [[1, 4, 6, 9]], { equation: 'bhqd,bhkd->bhqk' }), 4 * 6 * 9 * 8);
    assert.equal(macs('Einsum', [[3, 2, 5, 7], [7, 4]], [[3, 2, 5, 4]], { equation: '...ij,jk->...ik' }), 3 * 2 * 5 * 7 * 4);
    assert.equal(macs('Einsum', [[5, 7]], [[7, 5]], { equation: 'ij->ji' }), 0, 'one operand multiplies nothing');
  });

  it('LSTM and GRU: gates × hidden × (input + hidden) per step and direction', () => {
    assert.equal(macs('LSTM', [[10, 1, 8]], [[10, 1, 1, 16]], { hidden_size: 16 }), 10 * 4 * 16 * (8 + 16));
    assert.equal(macs('GRU', [[10, 1, 8]], [[10, 2, 1, 16]], { hidden_size: 16, direction: 'bidirectional' }), 10 * 2 * 3 * 16 * (8 + 16));
  });

  it('elementwise ops, pooling and normalization count 0', () => {
    assert.equal(macs('Add', [[4, 5], [4, 5]], [[4, 5]]), 0);
    assert.equal(macs('Softmax', [[4, 5]], [[4, 5]]), 0);
    assert.equal(macs('MaxPool', [[1, 3, 8, 8]], [[1, 3, 4, 4]], { kernel_shape: [2, 2] }), 0);
  });
});

describe('MACs of whole models, checked by onnxruntime', () => {
  it('folds a Shape → Gather → Unsqueeze → Concat → Reshape chain (multi-head attention by hand) into exact counts', async () => {
    // x [batch, seq, 8] → h = x·W [8, 8]; heads: reshape to [b, s, 2, 4]; scores [b, 2, s, s]; weighted sum [b, 2, s, 4]; head 4 → 3.
    const nodes = [
      node('MatMul', ['x', 'w'], ['h']),
      ...head(0, 'h'),
      node('Shape', ['h'], ['sh']),
      node('Gather', ['sh', 'i0'], ['b'], { axis: 0 }), node('Gather', ['sh', 'i1'], ['s'], { axis: 0 }),
      node('Unsqueeze', ['b', 'ax0'], ['bu']), node('Unsqueeze', ['s', 'ax0'], ['su']),
      node('Concat', ['bu', 'su', 'heads', 'width'], ['target'], { axis: 0 }),
      node('Reshape', ['h', 'target'], ['r']),
      node('Transpose', ['r'], ['q'], { perm: [0, 2, 1, 3] }), node('Transpose', ['r'], ['kt'], { perm: [0, 2, 3, 1] }),
      node('MatMul', ['q', 'kt'], ['scores']), node('Softmax', ['scores'], ['att'], { axis: -1 }),
      node('MatMul', ['att', 'q'], ['ctx']),
      node('Transpose', ['ctx'], ['ct'], { perm: [0, 2, 1, 3] }),
      node('ReduceMean', ['ct'], ['pool1'], { axes: [1, 2], keepdims: 0 }), node('Gemm', ['pool1', 'head1'], ['exit_1'], { transB: 1 }),
    ];
    const path = writeTempModel(makeModel({
      nodes,
      initializers: [
        weights('w', [8, 8]), weights('head0', [3, 8]), weights('head1', [3, 4]),
        { ...int64Tensor('i0', [0]), dims: [] }, { ...int64Tensor('i1', [1]), dims: [] }, int64Tensor('ax0', [0]), int64Tensor('heads', [2]), int64Tensor('width', [4]),
      ],
      inputs: [valueInfo('x', ['batch', 'seq', 8])],
      outputs: [valueInfo('exit_0', null), valueInfo('exit_1', null)],
    }));
    assert.deepEqual(await runs(path, { x: floats([1, 5, 8]) }), { exit_0: [1, 3], exit_1: [1, 3] });
    const info = await inspectModel(path, { dims: { seq: 5 }, probe: false });
    const s = 5;
    const proj = s * 8 * 8;
    assert.deepEqual(info.exits.map((e) => [e.name, e.macs, e.macsSource]), [
      ['exit_0', proj + 8 * 3, 'static'],
      ['exit_1', proj + 2 * (s * s * 4) * 2 + 4 * 3, 'static'],
    ]);
    assert.deepEqual(info.outputs.map((o) => o.shape), [['batch', 3], ['batch', 3]], 'output shapes worked out statically, symbols kept');
  });

  it('counts onnxruntime\'s fused Attention and MultiHeadAttention, and Einsum', async () => {
    // x [batch, 6, 16]; Attention (2 heads) with a packed QKV weight [16, 48]; then MultiHeadAttention over
    // separately projected Q, K, V (Einsum projections, 16 → 16); exits after each.
    const nodes = [
      contrib(node('Attention', ['x', 'qkv_w', 'qkv_b'], ['a'], { num_heads: 2 })),
      ...head(0, 'a'),
      node('Einsum', ['a', 'wq'], ['q'], { equation: 'bsd,de->bse' }),
      node('Einsum', ['a', 'wk'], ['k'], { equation: 'bsd,de->bse' }),
      node('Einsum', ['a', 'wv'], ['v'], { equation: 'bsd,de->bse' }),
      contrib(node('MultiHeadAttention', ['q', 'k', 'v'], ['m'], { num_heads: 2 })),
      ...head(1, 'm'),
    ];
    const path = writeTempModel(withContrib(makeModel({
      nodes,
      initializers: [
        weights('qkv_w', [16, 48]), weights('qkv_b', [48]), weights('wq', [16, 16]), weights('wk', [16, 16]), weights('wv', [16, 16]),
        weights('head0', [3, 16]), weights('head1', [3, 16]),
      ],
      inputs: [valueInfo('x', ['batch', 6, 16])],
      outputs: [valueInfo('exit_0', null), valueInfo('exit_1', null)],
    })));
    assert.deepEqual(await runs(path, { x: floats([1, 6, 16]) }), { exit_0: [1, 3], exit_1: [1, 3] });
    const info = await inspectModel(path, { probe: false });
    const attention = 6 * 16 * 48 + 2 * (6 * 6 * 16);
    const projections = 3 * (6 * 16 * 16);
    const mha = 2 * (6 * 6 * 16);
    assert.deepEqual(info.exits.map((e) => [e.name, e.macs, e.macsSource]), [
      ['exit_0', attention + 16 * 3, 'static'],
      ['exit_1', attention + projections + mha + 16 * 3, 'static'],
    ]);
  });

  /**
   * Token dropping: only the tokens whose first feature is positive go through the second layer
   * (Compress). How many is known only from the data, so that layer is sized by one run.
   */
  function tokenDropper(): Uint8Array {
    return makeModel({
      nodes: [
        node('MatMul', ['x', 'w0'], ['h0']),
        ...head(0, 'h0'),
        node('Slice', ['x', 'st', 'en', 'ax'], ['first']),
        node('Reshape', ['first', 'flat'], ['firstv']),
        node('Greater', ['firstv', 'zero'], ['keep']),
        node('Compress', ['h0', 'keep'], ['kept'], { axis: 1 }),
        node('MatMul', ['kept', 'w1'], ['h1']),
        ...head(1, 'h1'),
      ],
      initializers: [
        weights('w0', [4, 8]), weights('w1', [8, 16]), weights('head0', [3, 8]), weights('head1', [3, 16]),
        int64Tensor('st', [0, 0]), int64Tensor('en', [1, 1]), int64Tensor('ax', [0, 2]), int64Tensor('flat', [-1]),
        floatTensor('zero', [], new Float32Array([0])),
      ],
      inputs: [valueInfo('x', ['batch', 10, 4])],
      outputs: [valueInfo('exit_0', ['batch', 3]), valueInfo('exit_1', ['batch', 3])],
    });
  }
  // 10 tokens, of which the sample keeps 4 (first feature > 0).
  const sample = floats([1, 10, 4], (i) => (i % 4 === 0 && [0, 2, 5, 9].includes(i / 4) ? 1 : -0.5));
  const layer0 = 10 * 4 * 8;
  const expected = [['exit_0', layer0 + 8 * 3, 'static'], ['exit_1', layer0 + 4 * 8 * 16 + 16 * 3, 'probed']];

  it('sizes data-dependent shapes from one run on a real sample', async () => {
    const path = writeTempModel(tokenDropper());
    assert.deepEqual(await runs(path, { x: sample }), { exit_0: [1, 3], exit_1: [1, 3] });
    const info = await inspectModel(path, { sample: async () => ({ x: sample }) });
    assert.deepEqual(info.exits.map((e) => [e.name, e.macs, e.macsSource]), expected);
    assert.equal(info.macsBasis.probed, 1);
    assert.equal(info.macsBasis.probeFeed, 'data');
    assert.equal(info.macsBasis.unsized, 0);
  });

  it('probes a model whose weights are in external data', async () => {
    const { modelPath } = saveWithExternalData(tokenDropper());
    const info = await inspectModel(modelPath, { sample: async () => ({ x: sample }) });
    assert.deepEqual(info.exits.map((e) => [e.name, e.macs, e.macsSource]), expected);
  });

  it('without a run, a node it cannot size makes the exits after it estimates, and says so', async () => {
    const info = await inspectModel(writeTempModel(tokenDropper()), { probe: false });
    assert.deepEqual(info.exits.map((e) => [e.name, e.macs, e.macsSource]), [['exit_0', layer0 + 8 * 3, 'static'], ['exit_1', layer0 + 16 * 3, 'estimate']]);
    assert.equal(info.macsBasis.unsized, 1);
    assert.match(info.warnings!.join('\n'), /MatMul node 'MatMul_h1': shapes unknown, its MACs count as 0/);
  });

  it('counts per sample when the model has a fixed batch', async () => {
    const path = writeTempModel(makeModel({
      nodes: [node('Gemm', ['x', 'w0'], ['exit_0'], { transB: 1 }), node('Gemm', ['x', 'w1'], ['h']), node('Gemm', ['h', 'w2'], ['exit_1'], { transB: 1 })],
      initializers: [weights('w0', [3, 6]), weights('w1', [6, 8]), weights('w2', [3, 8])],
      inputs: [valueInfo('x', [4, 6])],
      outputs: [valueInfo('exit_0', [4, 3]), valueInfo('exit_1', [4, 3])],
    }));
    const info = await inspectModel(path);
    assert.deepEqual(info.exits.map((e) => e.macs), [18, 48 + 24]);
  });
});
