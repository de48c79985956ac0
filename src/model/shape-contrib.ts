/**
 * Output shapes of the onnxruntime contrib ops (domain com.microsoft) that its transformer
 * optimizer writes: fused attention, fused matmuls, and the elementwise and normalization
 * fusions around them.
 */
import type { Dim } from './types.js';
import { attrInt, attrInts, type OnnxNode } from './onnx-graph.js';
import type { RuleInputs, RuleResult, Shape } from './shape-rules.js';
import { matmulShape } from './shape-rules.js';

/** Fusions whose first output has the shape of their first input. */
const SAME_AS_INPUT = new Set([
  'Gelu', 'FastGelu', 'BiasGelu', 'QuickGelu', 'BiasAdd', 'BiasSplitGelu', 'BiasDropout', 'BiasSoftmax', 'LayerNormalization',
  'SkipLayerNormalization', 'SimplifiedLayerNormalization', 'SkipSimplifiedLayerNormalization', 'RotaryEmbedding', 'GemmFastGelu',
]);

function swapLast(s: Shape | undefined): Shape | undefined {
  if (!s || s.length < 2) return s;
  return [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!];
}

/**
 * Attention's sizes: hidden sizes of Q, K and V (from qkv_hidden_sizes or the packed weight) and
 * the input [B, S, H_in]. Shared with the MAC count.
 */
export function attentionSizes(n: OnnxNode, io: Pick<RuleInputs, 'shape'>): { x: Shape; inHidden: Dim; q: Dim; k: Dim; v: Dim } | undefined {
  const x = io.shape(0);
  const w = io.shape(1);
  if (!x || x.length !== 3 || !w || w.length !== 2) return undefined;
  const given = attrInts(n, 'qkv_hidden_sizes');
  if (given && given.length === 3) return { x, inHidden: w[0]!, q: given[0]!, k: given[1]!, v: given[2]! };
  const packed = w[1]!;
  const each = typeof packed === 'number' ? packed / 3 : null;
  return { x, inHidden: w[0]!, q: each, k: each, v: each };
}

/**
 * MultiHeadAttention's sizes: query length S and width D, key/value length L and value width Dv.
 * Key and value come as [B, L, D] or, already split into heads, [B, N, L, H]; a missing key
 * means Q, K and V are packed in the query as [B, S, N, 3, H].
 */
export function multiHeadSizes(n: OnnxNode, io: Pick<RuleInputs, 'shape'>): { b: Dim; s: Dim; d: Dim; l: Dim; dv: Dim } | undefined {
  const q = io.shape(0);
  const key = n.inputs[1] ? io.shape(1) : undefined;
  const value = n.inputs[2] ? io.shape(2) : undefined;
  const mul = (a: Dim | undefined, b: Dim | undefined): Dim => (typeof a === 'number' && typeof b === 'number' ? a * b : null);
  if (!q) return undefined;
  if (!n.inputs[1] && q.length === 5) {
    const d = mul(q[2], q[4]);
    return { b: q[0]!, s: q[1]!, d, l: q[1]!, dv: d };
  }
  if (q.length !== 3 || !key) return undefined;
  if (key.length === 5) {
    // Packed K and V: [B, L, N, 2, H].
    const d = mul(key[2], key[4]);
    return { b: q[0]!, s: q[1]!, d: q[2]!, l: key[1]!, dv: d };
  }
  const l = key.length === 4 ? key[2]! : key[1]!;
  const dv = !value ? q[2]! : value.length === 4 ? mul(value[1], value[3]) : value[2]!;
  return { b: q[0]!, s: q[1]!, d: q[2]!, l, dv };
}

export function contribShapes(n: OnnxNode, io: RuleInputs): RuleResult {
  const x = io.shape(0);
  switch (n.opType) {
    case 'Attention': {
      const a = attentionSizes(n, io);
      return a ? [[a.x[0]!, a.x[1]!, a.v]] : [];
    }
    case 'MultiHeadAttention': {
      const m = multiHeadSizes(n, io);
      return m ? [[m.b, m.s, m.dv]] : [];
    }
    case 'FusedMatMul': {
      const a = attrInt(n, 'transA', 0) ? swapLast(x) : x;
      const b = attrInt(n, 'transB', 0) ? swapLast(io.shape(1)) : io.shape(1);
      return [matmulShape(a, b)];
    }
    case 'MatMulNBits': {
      const cols = attrInt(n, 'N', 0);
      return x && cols ? [[...x.slice(0, -1), cols]] : [];
    }
    case 'EmbedLayerNormalization': {
      const ids = x;
      const words = io.shape(2);
      if (!ids || ids.length !== 2 || !words || words.length !== 2) return [];
      return [[ids[0]!, ids[1]!, words[1]!], [ids[0]!]];
    }
    default:
      return SAME_AS_INPUT.has(n.opType) ? [x] : null;
  }
}
