/**
 * A tiny transformer encoder with an exit after every block, built the way PyTorch exports one:
 * an additive attention mask made once from the `mask` input and read by every block, head
 * split/merge reshapes whose target shapes come from Shape → Gather → Concat of the live batch,
 * a Constant scale, Softmax, LayerNormalization and a mean-pooled Gemm head per exit.
 */
import * as ort from 'onnxruntime-node';
import { floatTensor, int64Tensor, makeModel, node, prng, proto, randomFloats, valueInfo } from '../helpers/onnx-builder.js';
import type { onnx } from '../../src/model/proto.js';

export interface AttentionOpts {
  blocks: number;
  dim?: number;
  heads?: number;
  classes?: number;
  seed?: number;
}

function constant(name: string, values: Float32Array, dims: number[]): onnx.INodeProto {
  return { opType: 'Constant', input: [], output: [name], name: `Constant_${name}`, attribute: [{ name: 'value', type: proto.AttributeProto.AttributeType.TENSOR, t: floatTensor(`${name}_value`, dims, values) }] };
}

export function buildAttentionMultiExit(o: AttentionOpts): Uint8Array {
  const d = o.dim ?? 8;
  const H = o.heads ?? 2;
  const dh = d / H;
  const C = o.classes ?? 3;
  const rand = prng(o.seed ?? 7);
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  const w = (name: string, dims: number[], scale: number): string => {
    inits.push(floatTensor(name, dims, randomFloats(rand, dims.reduce((a, b) => a * b, 1), scale)));
    return name;
  };
  inits.push(int64Tensor('i0', [0]), int64Tensor('i1', [1]), int64Tensor('heads_dh', [H, dh]), int64Tensor('dim', [d]));
  inits.push(floatTensor('one', [], Float32Array.of(1)), floatTensor('neg', [], Float32Array.of(-10000)));
  // Shapes of the live batch, as torch exports `x.size(0)`, `x.size(1)`.
  nodes.push(node('Shape', ['x'], ['x_shape']));
  nodes.push(node('Gather', ['x_shape', 'i0'], ['bs'], { axis: 0 }));
  nodes.push(node('Gather', ['x_shape', 'i1'], ['seq'], { axis: 0 }));
  nodes.push(node('Concat', ['bs', 'seq', 'heads_dh'], ['split_shape'], { axis: 0 }));
  nodes.push(node('Concat', ['bs', 'seq', 'dim'], ['merge_shape'], { axis: 0 }));
  // Extended mask, computed once: (1 - mask) * -10000, shaped [batch, 1, 1, seq].
  nodes.push(node('Sub', ['one', 'mask'], ['inv_mask']));
  nodes.push(node('Mul', ['inv_mask', 'neg'], ['add_mask']));
  nodes.push(node('Unsqueeze', ['add_mask', 'axes12'], ['ext_mask']));
  inits.push(int64Tensor('axes12', [1, 2]));
  nodes.push(constant('scale', Float32Array.of(1 / Math.sqrt(dh)), []));

  let h = 'x';
  const s = 1 / Math.sqrt(d);
  for (let b = 0; b < o.blocks; b++) {
    const p = `b${b}_`;
    for (const t of ['q', 'k', 'v']) nodes.push(node('MatMul', [h, w(`${p}W${t}`, [d, d], s)], [`${p}${t}`]));
    for (const t of ['q', 'k', 'v']) nodes.push(node('Reshape', [`${p}${t}`, 'split_shape'], [`${p}${t}4`]));
    nodes.push(node('Transpose', [`${p}q4`], [`${p}qh`], { perm: [0, 2, 1, 3] }));
    nodes.push(node('Transpose', [`${p}k4`], [`${p}kh`], { perm: [0, 2, 3, 1] }));
    nodes.push(node('Transpose', [`${p}v4`], [`${p}vh`], { perm: [0, 2, 1, 3] }));
    nodes.push(node('MatMul', [`${p}qh`, `${p}kh`], [`${p}qk`]));
    nodes.push(node('Mul', [`${p}qk`, 'scale'], [`${p}scaled`]));
    nodes.push(node('Add', [`${p}scaled`, 'ext_mask'], [`${p}masked`]));
    nodes.push(node('Softmax', [`${p}masked`], [`${p}attn`], { axis: -1 }));
    nodes.push(node('MatMul', [`${p}attn`, `${p}vh`], [`${p}ctx4`]));
    nodes.push(node('Transpose', [`${p}ctx4`], [`${p}ctxT`], { perm: [0, 2, 1, 3] }));
    nodes.push(node('Reshape', [`${p}ctxT`, 'merge_shape'], [`${p}ctx`]));
    nodes.push(node('MatMul', [`${p}ctx`, w(`${p}Wo`, [d, d], s)], [`${p}o`]));
    nodes.push(node('Add', [h, `${p}o`], [`${p}r1`]));
    nodes.push(node('LayerNormalization', [`${p}r1`, w(`${p}g1`, [d], 1), w(`${p}be1`, [d], 0.1)], [`${p}n1`], { axis: -1, epsilon: 1e-5 }));
    nodes.push(node('MatMul', [`${p}n1`, w(`${p}W1`, [d, 2 * d], s)], [`${p}f1`]));
    nodes.push(node('Relu', [`${p}f1`], [`${p}f1r`]));
    nodes.push(node('MatMul', [`${p}f1r`, w(`${p}W2`, [2 * d, d], s)], [`${p}f2`]));
    nodes.push(node('Add', [`${p}n1`, `${p}f2`], [`${p}r2`]));
    nodes.push(node('LayerNormalization', [`${p}r2`, w(`${p}g2`, [d], 1), w(`${p}be2`, [d], 0.1)], [`${p}h`], { axis: -1, epsilon: 1e-5 }));
    h = `${p}h`;
    nodes.push(node('ReduceMean', [h], [`${p}pool`], { axes: [1], keepdims: 0 }));
    nodes.push(node('Gemm', [`${p}pool`, w(`${p}hw`, [C, d], 2), w(`${p}hb`, [C], 0.5)], [`exit_${b}`], { transB: 1 }));
  }
  return makeModel({
    nodes,
    initializers: inits,
    inputs: [valueInfo('x', ['batch', 'seq', d]), valueInfo('mask', ['batch', 'seq'])],
    outputs: Array.from({ length: o.blocks }, (_, b) => valueInfo(`exit_${b}`, ['batch', C])),
    opset: 17,
  });
}

/** Random tokens and a mask that pads the tail of every other sample. */
export function attentionFeeds(n: number, seq: number, dim: number, seed = 3): Record<string, ort.Tensor> {
  const rand = prng(seed);
  const x = randomFloats(rand, n * seq * dim, 1);
  const mask = new Float32Array(n * seq).fill(1);
  for (let i = 0; i < n; i += 2) for (let t = Math.max(1, seq - 1 - (i % seq)); t < seq; t++) mask[i * seq + t] = 0;
  return { x: new ort.Tensor('float32', x, [n, seq, dim]), mask: new ort.Tensor('float32', mask, [n, seq]) };
}
