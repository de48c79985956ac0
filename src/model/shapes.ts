/**
 * Tensor types and shapes: what the model declares (inputs, outputs, value_info) and a forward
 * propagation through the graph, with the small shape tensors folded on the way (fold.ts), enough
 * to cost every arithmetic node and to give outputs that declare no shape one. Dims stay
 * symbolic ("batch") where the model says so, unless the caller binds them to numbers.
 */
import type { Dim, ElementType, TensorInfo } from './types.js';
import type { GraphIndex } from './graph.js';
import { foldNode, tensorValues, type FoldedValues } from './fold.js';
import { contribShapes } from './shape-contrib.js';
import { inferNode, type RuleInputs, type RuleResult, type Shape } from './shape-rules.js';
import type { OnnxNode } from './onnx-graph.js';
import { toNumber, type onnx } from './proto.js';

export type { Shape } from './shape-rules.js';

const ELEMENT_TYPES: Record<number, ElementType> = {
  1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  8: 'string', 9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

export function elementType(code: number | null | undefined): ElementType {
  return ELEMENT_TYPES[code ?? 0] ?? 'unknown';
}

/** The declared shape of a value, or undefined when it declares none (or is not a tensor). */
export function declaredShape(vi: onnx.IValueInfoProto): Shape | undefined {
  const shape = vi.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d): Dim => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue !== undefined && d.dimValue !== null) {
      const n = toNumber(d.dimValue);
      // Exporters write 0 or negative sizes to mean "unknown" more often than they mean it.
      return n > 0 ? n : null;
    }
    return null;
  });
}

export function tensorInfo(vi: onnx.IValueInfoProto, shape?: Shape): TensorInfo {
  return { name: vi.name ?? '', type: elementType(vi.type?.tensorType?.elemType), shape: shape ?? declaredShape(vi) ?? [] };
}

export function formatShape(s: Shape | undefined): string {
  return s === undefined ? '(unknown)' : `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

export interface ShapeResult {
  shapes: Map<string, Shape>;
  /** Op types that shape propagation does not know (their outputs got no shape). */
  unknownOps: Set<string>;
}

export interface BindOptions {
  /** Fixed dims per graph input, replacing what the model declares. */
  inputs: Map<string, number[]>;
  /** Values of symbolic dims; a declared symbol not listed here reads as unknown. */
  symbols: Map<string, number>;
}

function bindShape(s: Shape, symbols: Map<string, number>): Shape {
  return s.map((d) => (typeof d === 'string' ? symbols.get(d) ?? null : d));
}

/**
 * Propagates shapes in topological order. Declared value_info fills what propagation cannot,
 * and propagation fills dims a declaration leaves unknown. With `bind`, the inputs get fixed
 * dims and every shape follows from them as numbers: the shapes one run at those dims would have.
 */
export function propagateShapes(g: GraphIndex, inputs: onnx.IValueInfoProto[], valueInfo: onnx.IValueInfoProto[], opset: number, bind?: BindOptions): ShapeResult {
  const shapes = new Map<string, Shape>();
  const values: FoldedValues = new Map();
  const declared = new Map<string, Shape>();
  for (const vi of valueInfo) {
    const s = declaredShape(vi);
    if (s && vi.name) declared.set(vi.name, bind ? bindShape(s, bind.symbols) : s);
  }
  for (const [name, t] of g.initializers) {
    shapes.set(name, t.dims);
    const v = tensorValues(t);
    if (v) values.set(name, v);
  }
  for (const vi of inputs) {
    if (!vi.name || g.initializers.has(vi.name)) continue;
    const fixed = bind?.inputs.get(vi.name);
    const s = fixed ?? declaredShape(vi);
    if (s) shapes.set(vi.name, bind && !fixed ? bindShape(s, bind.symbols) : s);
  }
  const unknownOps = new Set<string>();
  const shapeOf = (v: string): Shape | undefined => shapes.get(v);
  for (const i of g.topo) {
    const n = g.nodes[i]!;
    let outs: RuleResult;
    try {
      outs = nodeShapes(n, {
        shape: (k) => (n.inputs[k] ? shapes.get(n.inputs[k]!) : undefined),
        values: (k) => (n.inputs[k] ? values.get(n.inputs[k]!)?.v : undefined),
        opset,
      });
    } catch {
      // A malformed attribute must not stop inspection: the shape just stays unknown.
      outs = [];
    }
    if (outs === null) {
      unknownOps.add(n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType);
      outs = [];
    }
    n.outputs.forEach((o, k) => {
      if (!o) return;
      const merged = merge(outs[k], declared.get(o));
      if (merged) shapes.set(o, merged);
    });
    try {
      foldNode(n, values, shapeOf, opset);
    } catch {
      // Same: an odd constant leaves the value unfolded.
    }
  }
  return { shapes, unknownOps };
}

function nodeShapes(n: OnnxNode, io: RuleInputs): RuleResult {
  if (!n.domain || n.domain === 'ai.onnx') return inferNode(n, io);
  return n.domain === 'com.microsoft' ? contribShapes(n, io) : null;
}

/** Inferred dims win over declared unknowns; declared symbols win over inferred nulls. */
export function merge(inferred: Shape | undefined, decl: Shape | undefined): Shape | undefined {
  if (!inferred) return decl;
  if (!decl || decl.length !== inferred.length) return inferred;
  return inferred.map((d, i) => (d === null ? decl[i] ?? null : typeof d === 'string' && typeof decl[i] === 'number' ? (decl[i] as number) : d));
}
