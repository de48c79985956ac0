/**
 * A two-exit model over a symbolic sequence length, whose MACs depend on it: x [batch, seq, 4]
 * → h = x·W0 [4, 8] → exit 0 (mean over seq, a head 8 → 3); h·W1 [8, 8] → exit 1 (the same head).
 */
import { floatTensor, makeModel, node, prng, randomFloats, valueInfo } from './onnx-builder.js';

export function buildSeqModel(): Uint8Array {
  const rand = prng(5);
  return makeModel({
    nodes: [
      node('MatMul', ['x', 'w0'], ['h']), node('ReduceMean', ['h'], ['p0'], { axes: [1], keepdims: 0 }), node('Gemm', ['p0', 'head0'], ['exit_0'], { transB: 1 }),
      node('MatMul', ['h', 'w1'], ['h1']), node('ReduceMean', ['h1'], ['p1'], { axes: [1], keepdims: 0 }), node('Gemm', ['p1', 'head1'], ['exit_1'], { transB: 1 }),
    ],
    initializers: [
      floatTensor('w0', [4, 8], randomFloats(rand, 32, 0.5)), floatTensor('w1', [8, 8], randomFloats(rand, 64, 0.5)),
      floatTensor('head0', [3, 8], randomFloats(rand, 24, 0.5)), floatTensor('head1', [3, 8], randomFloats(rand, 24, 0.5)),
    ],
    inputs: [valueInfo('x', ['batch', 'seq', 4])],
    outputs: [valueInfo('exit_0', ['batch', 3]), valueInfo('exit_1', ['batch', 3])],
  });
}

/** Hand count of both exits at a sequence length. */
export function seqModelMacs(seq: number): number[] {
  return [seq * 4 * 8 + 8 * 3, seq * 4 * 8 + seq * 8 * 8 + 8 * 3];
}
