/**
 * Element types of intermediate values. A stage model declares the tensors that cross a cut as
 * graph inputs, and onnxruntime refuses a graph input without an element type, so every boundary
 * tensor needs one. Declarations (inputs, value_info, outputs, initializers) come first; the rest
 * follows from a short table of how ops set their output type.
 */
import type { GraphIndex } from './graph.js';
import { attrInt, type OnnxGraph, type OnnxNode } from './onnx-graph.js';

const INT64 = 7;
const BOOL = 9;
const FLOAT = 1;

/** Ops whose outputs are int64 whatever the input (indices, shapes, sizes). */
const TO_INT64 = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression']);
/** Ops whose outputs are bool. */
const TO_BOOL = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
/** Ops whose output type is that of their second input (the first is a condition or indices). */
const FROM_SECOND = new Set(['Where']);

/** Known element type codes (ONNX TensorProto.DataType) of every value the rules can reach. */
export function inferElementTypes(g: GraphIndex, graph: OnnxGraph): Map<string, number> {
  const types = new Map<string, number>();
  for (const [name, t] of g.initializers) types.set(name, t.dataType);
  for (const vi of [...graph.inputs, ...graph.valueInfo, ...graph.outputs]) {
    const t = vi.type?.tensorType?.elemType;
    if (vi.name && t) types.set(vi.name, t);
  }
  for (const i of g.topo) {
    const n = g.nodes[i]!;
    const out = outputType(n, types);
    n.outputs.forEach((o, k) => {
      if (!o || types.has(o)) return;
      // TopK's second output and MaxPool's indices are int64.
      if (k > 0 && (n.opType === 'TopK' || n.opType === 'MaxPool')) types.set(o, INT64);
      else if (out !== undefined) types.set(o, out);
    });
  }
  return types;
}

function outputType(n: OnnxNode, types: Map<string, number>): number | undefined {
  const op = n.opType;
  const input = (k: number): number | undefined => (n.inputs[k] ? types.get(n.inputs[k]!) : undefined);
  if (n.domain && n.domain !== 'ai.onnx') return input(0);
  if (TO_INT64.has(op)) return INT64;
  if (TO_BOOL.has(op)) return BOOL;
  if (FROM_SECOND.has(op)) return input(1);
  switch (op) {
    case 'Cast':
      return attrInt(n, 'to', 0) || undefined;
    case 'CastLike':
      return input(1);
    case 'Constant': {
      const a = n.attrs;
      if (a.get('value')?.t) return a.get('value')!.t!.dataType ?? undefined;
      if (a.has('value_float') || a.has('value_floats')) return FLOAT;
      if (a.has('value_int') || a.has('value_ints')) return INT64;
      return undefined;
    }
    case 'ConstantOfShape':
      return n.attrs.get('value')?.t?.dataType ?? FLOAT;
    case 'EyeLike': case 'RandomNormalLike': case 'RandomUniformLike':
      return attrInt(n, 'dtype', 0) || input(0);
    case 'RandomNormal': case 'RandomUniform':
      return attrInt(n, 'dtype', FLOAT);
    case 'QuantizeLinear': case 'DynamicQuantizeLinear':
      return input(2) ?? 2; // uint8 unless the zero point says otherwise
    case 'DequantizeLinear':
      return FLOAT;
    case 'OneHot':
      return input(2);
    default:
      // Elementwise, movement, normalization, matmul, pooling, reductions: the data type goes through.
      return input(0);
  }
}
