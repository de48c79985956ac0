/**
 * Multiply-accumulates of one node from the exact shapes of its operands: every op that
 * multiplies activations by weights or by other activations (Conv, ConvTranspose, Gemm, MatMul
 * with batch dims and broadcasting, Einsum, fused attention, recurrent cells). Elementwise ops,
 * pooling, normalization and softmax are noise next to them and count 0. Counts cover the whole
 * tensors, batch included; the caller divides by the batch it bound.
 */
import type { Dim } from './types.js';
import { einsumMacs, planEinsum } from './einsum.js';
import { attrInt, attrString, type OnnxNode } from './onnx-graph.js';
import { attentionSizes, multiHeadSizes } from './shape-contrib.js';
import type { Shape } from './shape-rules.js';

/** Product of fixed dims; null when any is symbolic or unknown. */
function prod(dims: (Dim | undefined)[]): number | null {
  let p = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return null;
    p *= d;
  }
  return p;
}

const times = (...xs: (number | null)[]): number | null => (xs.some((x) => x === null) ? null : (xs as number[]).reduce((a, b) => a * b, 1));
const plus = (...xs: (number | null)[]): number | null => (xs.some((x) => x === null) ? null : (xs as number[]).reduce((a, b) => a + b, 0));

type Operands = (k: number) => Shape | undefined;

/** MatMul-like: every output element is a dot product of length k. */
function dotProducts(y: Shape | undefined, k: Dim | undefined): number | null {
  return y ? times(prod(y), prod([k])) : null;
}

function lastDim(s: Shape | undefined, fromEnd = 1): Dim | undefined {
  return s?.[s.length - fromEnd];
}

type Counter = (n: OnnxNode, input: Operands, output: Operands) => number | null;

const conv = (w: number): Counter => (_n, input, output) => {
  // Each output element takes Cin/group * prod(kernel) MACs; W is [Cout, Cin/group, k...].
  const weight = input(w);
  const y = output(0);
  return weight && y ? times(prod(y), prod(weight.slice(1))) : null;
};

const matmul = (b: number): Counter => (_n, input, output) => {
  const a = input(0);
  const k = a?.length === 1 ? a[0] : lastDim(a) ?? (input(b)?.length === 1 ? input(b)![0] : lastDim(input(b), 2));
  return dotProducts(output(0), k);
};

const RECURRENT_GATES: Record<string, number> = { LSTM: 4, GRU: 3, RNN: 1 };

const recurrent: Counter = (n, input) => {
  // Per step and direction, each gate multiplies the input and the hidden state by its weights.
  const x = input(0);
  const hidden = attrInt(n, 'hidden_size', 0);
  if (!x || x.length !== 3 || !hidden) return null;
  const dirs = attrString(n, 'direction') === 'bidirectional' ? 2 : 1;
  const steps = prod([x[0], x[1]]);
  return times(steps, dirs, RECURRENT_GATES[n.opType] ?? 1, hidden, plus(prod([x[2]]), hidden));
};

/** Standard-domain ops that do arithmetic worth counting. */
const STANDARD: Record<string, Counter> = {
  Conv: conv(1),
  ConvInteger: conv(1),
  QLinearConv: conv(3),
  ConvTranspose: (_n, input) => {
    // Each input element scatters into Cout/group * prod(kernel) outputs; W is [Cin, Cout/group, k...].
    const x = input(0);
    const w = input(1);
    return x && w ? times(prod(x), prod(w.slice(1))) : null;
  },
  Gemm: (n, input, output) => {
    const a = input(0);
    const b = input(1);
    const y = output(0);
    const k = a && a.length === 2 ? a[attrInt(n, 'transA', 0) ? 0 : 1] : b && b.length === 2 ? b[attrInt(n, 'transB', 0) ? 1 : 0] : undefined;
    return dotProducts(y, k);
  },
  MatMul: matmul(1),
  MatMulInteger: matmul(1),
  QLinearMatMul: matmul(3),
  Einsum: (n, input) => {
    const eq = attrString(n, 'equation');
    const shapes = n.inputs.map((_, k) => input(k));
    if (!eq || shapes.some((s) => !s)) return null;
    const plan = planEinsum(eq, shapes as Shape[]);
    return plan ? einsumMacs(plan) : null;
  },
  Attention: (_n, input) => {
    // Opset 23: scores Q·Kᵀ and the weighted sum with V, over every head; no projections.
    const q = input(0);
    const k = input(1);
    const v = input(2);
    if (!q || !k || !v || q.length !== k.length || q.length !== v.length) return null;
    if (q.length === 4) return times(prod([q[0], q[1], q[2]]), prod([k[2]]), plus(prod([q[3]]), prod([v[3]])));
    if (q.length === 3) return times(prod([q[0], q[1]]), prod([k[1]]), plus(prod([q[2]]), prod([v[2]])));
    return null;
  },
  LSTM: recurrent,
  GRU: recurrent,
  RNN: recurrent,
};

/** onnxruntime contrib ops (com.microsoft) that its transformer optimizer fuses attention and matmuls into. */
const CONTRIB: Record<string, Counter> = {
  Attention: (n, input) => {
    // Packed QKV projection, then scores and weighted sum over S query and L key positions.
    const a = attentionSizes(n, { shape: input });
    if (!a) return null;
    const past = input(4);
    const pastLen = past && past.length === 5 ? past[3] : 0;
    const b = prod([a.x[0]]);
    const s = prod([a.x[1]]);
    const l = plus(s, prod([pastLen]));
    const projections = times(b, s, prod([a.inHidden]), plus(prod([a.q]), prod([a.k]), prod([a.v])));
    return plus(projections, times(b, s, l, plus(prod([a.q]), prod([a.v]))));
  },
  MultiHeadAttention: (n, input) => {
    // Inputs are already projected: scores Q·Kᵀ (width D) and the weighted sum of V (width Dv).
    const m = multiHeadSizes(n, { shape: input });
    return m ? times(prod([m.b, m.s, m.l]), plus(prod([m.d]), prod([m.dv]))) : null;
  },
  FusedMatMul: (n, input, output) => dotProducts(output(0), lastDim(input(0), attrInt(n, 'transA', 0) ? 2 : 1)),
  MatMulNBits: (n, _input, output) => dotProducts(output(0), attrInt(n, 'K', 0) || null),
  GemmFastGelu: matmul(1),
};

/** The counter for a node, or undefined when its op does no arithmetic worth counting. */
function counterOf(n: OnnxNode): Counter | undefined {
  if (!n.domain || n.domain === 'ai.onnx') return STANDARD[n.opType];
  return n.domain === 'com.microsoft' ? CONTRIB[n.opType] : undefined;
}

export function isCosted(n: OnnxNode): boolean {
  return counterOf(n) !== undefined;
}

/** MACs of the node at the given shapes: 0 for ops that are not counted, null when a shape it needs is unknown. */
export function nodeMacs(n: OnnxNode, shapeOf: (value: string) => Shape | undefined): number | null {
  const counter = counterOf(n);
  if (!counter) return 0;
  const input: Operands = (k) => (n.inputs[k] ? shapeOf(n.inputs[k]!) : undefined);
  const output: Operands = (k) => (n.outputs[k] ? shapeOf(n.outputs[k]!) : undefined);
  const v = counter(n, input, output);
  return v === null || !Number.isFinite(v) || v < 0 ? null : v;
}

/** The values whose shapes a costed node reads: a run that reveals them lets nodeMacs count it. */
export function costOperands(n: OnnxNode): string[] {
  return [...n.inputs, ...n.outputs].filter((v) => v);
}

export function sumMacs(costs: number[], nodes: Iterable<number>): number {
  let s = 0;
  for (const i of nodes) s += costs[i] ?? 0;
  return s;
}
