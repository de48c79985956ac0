/**
 * Tensor types and shapes: what the model declares (inputs, outputs, value_info) and a light
 * forward propagation through common ops, enough to cost Conv/Gemm/MatMul layers and to give
 * outputs that declare no shape one. Dims stay symbolic ("batch") where the model says so.
 */
import type { Dim, ElementType, TensorInfo } from './types.js';
import type { GraphIndex } from './graph.js';
import { attrInt, attrInts, attrString, type OnnxNode, type OnnxTensor } from './onnx-graph.js';
import { toNumber, type onnx } from './proto.js';

/** Shape of a value; undefined when unknown (even its rank). */
export type Shape = Dim[];

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

/** Product of dims: a number when all fixed, the symbol when it is the only non-1 factor, else null. */
function product(dims: Dim[]): Dim {
  let n = 1;
  let sym: string | null = null;
  for (const d of dims) {
    if (d === null) return null;
    if (typeof d === 'string') {
      if (sym !== null) return null;
      sym = d;
    } else n *= d;
  }
  if (sym === null) return n;
  return n === 1 ? sym : null;
}

function broadcast(shapes: (Shape | undefined)[]): Shape | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const list = shapes as Shape[];
  const rank = Math.max(...list.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of list) {
      const x = s[s.length - rank + i];
      if (x === undefined || x === 1) continue;
      if (d === 1) d = x;
      else if (d !== x) d = typeof d === 'number' && typeof x === 'number' ? null : d === null ? x : d;
    }
    out.push(d);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Known small integer tensors (shape arithmetic in PyTorch exports), values possibly symbolic. */
type IntValues = Map<string, Dim[]>;

function initInts(t: OnnxTensor): Dim[] | undefined {
  if (t.dataType !== 7 && t.dataType !== 6) return undefined;
  if (t.dims.reduce((a, b) => a * b, 1) > 64) return undefined;
  const p = t.proto;
  if (p.int64Data && p.int64Data.length) return p.int64Data.map(toNumber);
  if (p.int32Data && p.int32Data.length) return [...p.int32Data];
  if (p.rawData && p.rawData.length) {
    const view = new DataView(p.rawData.buffer, p.rawData.byteOffset, p.rawData.byteLength);
    const size = t.dataType === 7 ? 8 : 4;
    const out: number[] = [];
    for (let i = 0; i + size <= p.rawData.length; i += size) out.push(size === 8 ? Number(view.getBigInt64(i, true)) : view.getInt32(i, true));
    return out;
  }
  return t.dims.reduce((a, b) => a * b, 1) === 0 ? [] : undefined;
}

/** Pooling/conv output size along one spatial axis. */
function windowOut(inp: Dim, k: number, s: number, pb: number, pe: number, d: number, ceil: boolean, autoPad: string | undefined): Dim {
  if (typeof inp !== 'number') return null;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(inp / s);
  if (autoPad === 'VALID') return Math.floor((inp - d * (k - 1) - 1) / s) + 1;
  const v = (inp + pb + pe - d * (k - 1) - 1) / s;
  return (ceil ? Math.ceil(v) : Math.floor(v)) + 1;
}

function windowShape(n: OnnxNode, x: Shape, kernel: number[], outChannels: Dim): Shape {
  const r = kernel.length;
  const strides = attrInts(n, 'strides') ?? kernel.map(() => 1);
  const dil = attrInts(n, 'dilations') ?? kernel.map(() => 1);
  const pads = attrInts(n, 'pads') ?? kernel.map(() => 0).concat(kernel.map(() => 0));
  const autoPad = attrString(n, 'auto_pad');
  const ceil = attrInt(n, 'ceil_mode', 0) === 1;
  const spatial = kernel.map((k, i) => windowOut(x[2 + i] ?? null, k, strides[i] ?? 1, pads[i] ?? 0, pads[i + r] ?? 0, dil[i] ?? 1, ceil, autoPad));
  return [x[0] ?? null, outChannels, ...spatial];
}

function reshape(x: Shape | undefined, target: Dim[] | undefined, allowZero: boolean): Shape | undefined {
  if (!target) return undefined;
  const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (x ? x[i] ?? null : null) : d));
  const minus = out.findIndex((d) => d === -1);
  if (minus < 0) return out;
  if (!x) {
    out[minus] = null;
    return out;
  }
  // Cancel symbols that appear on both sides, then divide the fixed parts.
  const rest = out.filter((_, i) => i !== minus);
  const syms = x.filter((d): d is string => typeof d === 'string');
  const restSyms = rest.filter((d): d is string => typeof d === 'string');
  const unmatched = syms.filter((s) => !restSyms.includes(s));
  if (x.includes(null) || rest.includes(null) || unmatched.length > 1 || restSyms.some((s) => !syms.includes(s))) {
    out[minus] = null;
    return out;
  }
  const num = x.reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
  const den = rest.reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
  if (unmatched.length === 1) out[minus] = num === den ? (unmatched[0] as string) : null;
  else out[minus] = den > 0 && num % den === 0 ? num / den : null;
  return out;
}

function reduceShape(x: Shape, axes: number[] | undefined, keep: boolean): Shape {
  const all = axes === undefined || axes.length === 0;
  const set = new Set((axes ?? []).map((a) => normAxis(a, x.length)));
  const out: Dim[] = [];
  x.forEach((d, i) => {
    if (all || set.has(i)) {
      if (keep) out.push(1);
    } else out.push(d);
  });
  return out;
}

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Identity', 'Dropout', 'Cast', 'Clip',
  'BatchNormalization', 'LayerNormalization', 'InstanceNormalization', 'GroupNormalization', 'Erf', 'Gelu', 'HardSigmoid',
  'HardSwish', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Not', 'Sign', 'Reciprocal', 'Elu', 'Selu', 'Softplus', 'Softsign',
  'Mish', 'Floor', 'Ceil', 'Round', 'LRN', 'Hardmax', 'IsNaN', 'IsInf', 'CastLike', 'Celu', 'ThresholdedRelu',
  'Sin', 'Cos', 'QuantizeLinear', 'DequantizeLinear',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Greater', 'Less',
  'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor', 'Where', 'Mod', 'BitShift']);
const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSumExp', 'ReduceSumSquare', 'ReduceLogSum']);

export interface ShapeResult {
  shapes: Map<string, Shape>;
  /** Op types that shape propagation does not know (their outputs got no shape). */
  unknownOps: Set<string>;
}

/**
 * Propagates shapes in topological order. Declared value_info fills what propagation cannot,
 * and propagation fills dims a declaration leaves unknown.
 */
export function propagateShapes(g: GraphIndex, inputs: onnx.IValueInfoProto[], valueInfo: onnx.IValueInfoProto[], opset: number): ShapeResult {
  const shapes = new Map<string, Shape>();
  const ints: IntValues = new Map();
  const declared = new Map<string, Shape>();
  for (const vi of valueInfo) {
    const s = declaredShape(vi);
    if (s && vi.name) declared.set(vi.name, s);
  }
  for (const [name, t] of g.initializers) {
    shapes.set(name, t.dims);
    const v = initInts(t);
    if (v) ints.set(name, v);
  }
  for (const vi of inputs) {
    const s = declaredShape(vi);
    if (s && vi.name && !g.initializers.has(vi.name)) shapes.set(vi.name, s);
  }
  const unknownOps = new Set<string>();
  for (const i of g.topo) {
    const n = g.nodes[i]!;
    let outs: (Shape | undefined)[];
    try {
      outs = inferNode(n, shapes, ints, opset, unknownOps);
    } catch {
      // A malformed attribute must not stop inspection: the shape just stays unknown.
      outs = [];
    }
    n.outputs.forEach((o, k) => {
      if (!o) return;
      const merged = merge(outs[k], declared.get(o));
      if (merged) shapes.set(o, merged);
    });
  }
  return { shapes, unknownOps };
}

/** Inferred dims win over declared unknowns; declared symbols win over inferred nulls. */
export function merge(inferred: Shape | undefined, decl: Shape | undefined): Shape | undefined {
  if (!inferred) return decl;
  if (!decl || decl.length !== inferred.length) return inferred;
  return inferred.map((d, i) => (d === null ? decl[i] ?? null : typeof d === 'string' && typeof decl[i] === 'number' ? (decl[i] as number) : d));
}

function inferNode(n: OnnxNode, shapes: Map<string, Shape>, ints: IntValues, opset: number, unknownOps: Set<string>): (Shape | undefined)[] {
  const s = (k: number): Shape | undefined => (n.inputs[k] ? shapes.get(n.inputs[k]!) : undefined);
  const x = s(0);
  const op = n.opType;
  if (n.domain && n.domain !== 'ai.onnx' && n.domain !== '') {
    unknownOps.add(`${n.domain}.${op}`);
    return [];
  }
  if (UNARY.has(op)) return [x];
  if (BINARY.has(op)) return [broadcast(n.inputs.map((_, k) => s(k)))];
  switch (op) {
    case 'Conv': {
      const w = s(1);
      if (!x || !w) return [];
      const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2).map((d) => (typeof d === 'number' ? d : 1));
      return [windowShape(n, x, kernel, w[0] ?? null)];
    }
    case 'ConvTranspose': {
      const w = s(1);
      if (!x || !w) return [];
      const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2).map((d) => (typeof d === 'number' ? d : 1));
      const group = attrInt(n, 'group', 1);
      const outC = typeof w[1] === 'number' ? w[1] * group : null;
      const given = attrInts(n, 'output_shape');
      if (given) return [[x[0] ?? null, outC, ...given.slice(-kernel.length)]];
      const strides = attrInts(n, 'strides') ?? kernel.map(() => 1);
      const dil = attrInts(n, 'dilations') ?? kernel.map(() => 1);
      const pads = attrInts(n, 'pads') ?? kernel.concat(kernel).map(() => 0);
      const outPad = attrInts(n, 'output_padding') ?? kernel.map(() => 0);
      const r = kernel.length;
      const spatial = kernel.map((k, i) => {
        const d = x[2 + i];
        if (typeof d !== 'number') return null;
        return (strides[i] ?? 1) * (d - 1) + (outPad[i] ?? 0) + ((k - 1) * (dil[i] ?? 1) + 1) - (pads[i] ?? 0) - (pads[i + r] ?? 0);
      });
      return [[x[0] ?? null, outC, ...spatial]];
    }
    case 'MaxPool': case 'AveragePool': case 'LpPool': {
      const kernel = attrInts(n, 'kernel_shape');
      if (!x || !kernel) return [];
      const out = windowShape(n, x, kernel, x[1] ?? null);
      return [out, out];
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool': case 'GlobalLpPool':
      return x ? [[x[0] ?? null, x[1] ?? null, ...x.slice(2).map(() => 1)]] : [];
    case 'Gemm': {
      const b = s(1);
      if (!b || b.length !== 2 || (x && x.length !== 2)) return [];
      const m = !x ? null : attrInt(n, 'transA', 0) ? x[1]! : x[0]!;
      const nn = attrInt(n, 'transB', 0) ? b[0]! : b[1]!;
      return [[m, nn]];
    }
    case 'MatMul': case 'MatMulInteger': {
      const b = s(1);
      if (!x || !b || x.length === 0 || b.length === 0) return [];
      const a2 = x.length === 1 ? [1, x[0]!] : x;
      const b2 = b.length === 1 ? [b[0]!, 1] : b;
      const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]) ?? [];
      const out: Dim[] = [...batch];
      if (x.length > 1) out.push(a2[a2.length - 2]!);
      if (b.length > 1) out.push(b2[b2.length - 1]!);
      return [out];
    }
    case 'Flatten': {
      if (!x) return [];
      const axis = normAxis(attrInt(n, 'axis', 1), x.length);
      return [[product(x.slice(0, axis)), product(x.slice(axis))]];
    }
    case 'Reshape':
      return [reshape(x, ints.get(n.inputs[1] ?? ''), attrInt(n, 'allowzero', 0) === 1)];
    case 'Transpose': {
      if (!x) return [];
      const perm = attrInts(n, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p] ?? null)];
    }
    case 'Concat': {
      const all = n.inputs.map((_, k) => s(k));
      if (all.some((a) => !a)) return [];
      const list = all as Shape[];
      const axis = normAxis(attrInt(n, 'axis', 0), list[0]!.length);
      const out = [...list[0]!];
      out[axis] = list.reduce<Dim>((acc, a) => (typeof acc === 'number' && typeof a[axis] === 'number' ? acc + (a[axis] as number) : null), 0);
      const vals = n.inputs.map((v) => ints.get(v));
      if (vals.every((v) => v)) ints.set(n.outputs[0]!, vals.flatMap((v) => v as Dim[]));
      return [out];
    }
    case 'Squeeze': case 'Unsqueeze': {
      if (!x) return [];
      const axes = opset >= 13 ? ints.get(n.inputs[1] ?? '') : attrInts(n, 'axes');
      const v = ints.get(n.inputs[0] ?? '');
      if (v) ints.set(n.outputs[0]!, v);
      if (op === 'Squeeze') {
        if (!axes) return [x.filter((d) => d !== 1)];
        const set = new Set(axes.map((a) => normAxis(a as number, x.length)));
        return [x.filter((_, i) => !set.has(i))];
      }
      if (!axes || axes.some((a) => typeof a !== 'number')) return [];
      const rank = x.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a as number, rank)));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x[j++] ?? null);
      return [out];
    }
    case 'Shape': {
      if (x) {
        const start = normAxis(attrInt(n, 'start', 0), x.length);
        const end = n.attrs.has('end') ? normAxis(attrInt(n, 'end', x.length), x.length) : x.length;
        ints.set(n.outputs[0]!, x.slice(start, end));
        return [[Math.max(0, end - start)]];
      }
      return [[null]];
    }
    case 'Gather': {
      const idx = s(1);
      const iv = ints.get(n.inputs[1] ?? '');
      const data = ints.get(n.inputs[0] ?? '');
      if (data && iv && attrInt(n, 'axis', 0) === 0) {
        const picked = iv.map((i) => (typeof i === 'number' ? data[normAxis(i, data.length)] ?? null : null));
        ints.set(n.outputs[0]!, picked);
      }
      if (!x || !idx) return [];
      const axis = normAxis(attrInt(n, 'axis', 0), x.length);
      return [[...x.slice(0, axis), ...idx, ...x.slice(axis + 1)]];
    }
    case 'Constant': {
      const t = n.attrs.get('value')?.t;
      if (!t) return [];
      const dims = (t.dims ?? []).map(toNumber);
      const v = initInts({ name: '', dims, dataType: t.dataType ?? 0, proto: t });
      if (v) ints.set(n.outputs[0]!, v);
      return [dims];
    }
    case 'ArgMax': case 'ArgMin':
      return x ? [reduceShape(x, [attrInt(n, 'axis', 0)], attrInt(n, 'keepdims', 1) === 1)] : [];
    case 'Pad': {
      const pads = opset >= 11 ? ints.get(n.inputs[1] ?? '') : attrInts(n, 'pads');
      if (!x || !pads || pads.length !== 2 * x.length) return [];
      const axesIn = opset >= 18 && n.inputs[3] ? ints.get(n.inputs[3]) : undefined;
      if (n.inputs[3] && !axesIn) return [];
      const r = x.length;
      const out: Dim[] = [...x];
      if (axesIn) {
        const k = axesIn.length;
        axesIn.forEach((a, j) => {
          const ax = normAxis(a as number, r);
          const d = out[ax];
          const b = pads[j];
          const e = pads[j + k];
          out[ax] = typeof d === 'number' && typeof b === 'number' && typeof e === 'number' ? d + b + e : null;
        });
        return [out];
      }
      return [x.map((d, i) => {
        const b = pads[i];
        const e = pads[i + r];
        if (b === 0 && e === 0) return d;
        return typeof d === 'number' && typeof b === 'number' && typeof e === 'number' ? d + b + e : null;
      })];
    }
    case 'Slice': {
      if (!x) return [];
      const starts = opset >= 10 ? ints.get(n.inputs[1] ?? '') : attrInts(n, 'starts');
      const ends = opset >= 10 ? ints.get(n.inputs[2] ?? '') : attrInts(n, 'ends');
      const axes = opset >= 10 ? (n.inputs[3] ? ints.get(n.inputs[3]) : undefined) : attrInts(n, 'axes');
      const steps = opset >= 10 && n.inputs[4] ? ints.get(n.inputs[4]) : undefined;
      if (!starts || !ends || (n.inputs[3] && !axes) || (n.inputs[4] && !steps)) return [];
      const out: Dim[] = [...x];
      starts.forEach((st, j) => {
        const ax = normAxis(typeof axes?.[j] === 'number' ? (axes[j] as number) : j, x.length);
        const d = x[ax];
        const en = ends[j];
        const step = steps?.[j] ?? 1;
        if (typeof d !== 'number' || typeof st !== 'number' || typeof en !== 'number' || typeof step !== 'number' || step === 0) {
          out[ax] = null;
          return;
        }
        const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
        const a = step > 0 ? clamp(st, 0, d) : clamp(st, -1, d - 1);
        const b = step > 0 ? clamp(en, 0, d) : clamp(en, -1, d - 1);
        out[ax] = Math.max(0, Math.ceil((b - a) / step));
      });
      const v = ints.get(n.inputs[0] ?? '');
      if (v && x.length === 1 && typeof starts[0] === 'number' && typeof ends[0] === 'number' && (steps?.[0] ?? 1) === 1) {
        const len = v.length;
        const a = Math.min(Math.max((starts[0] as number) < 0 ? (starts[0] as number) + len : (starts[0] as number), 0), len);
        const b = Math.min(Math.max((ends[0] as number) < 0 ? (ends[0] as number) + len : (ends[0] as number), 0), len);
        ints.set(n.outputs[0]!, v.slice(a, b));
      }
      return [out];
    }
    case 'Expand': case 'Tile': case 'Resize': case 'Upsample': case 'Split': case 'TopK':
    case 'NonZero': case 'If': case 'Loop': case 'Scan': case 'ConstantOfShape': case 'Range': case 'ScatterND':
    case 'GatherElements': case 'GatherND': case 'Einsum': case 'DepthToSpace': case 'SpaceToDepth': case 'OneHot':
      unknownOps.add(op);
      return [];
    default:
      if (REDUCE.has(op)) {
        if (!x) return [];
        const axes = (opset >= 18 || op === 'ReduceSum') && n.inputs[1] ? (ints.get(n.inputs[1]) as number[] | undefined) : attrInts(n, 'axes');
        if (n.inputs[1] && !axes && !n.attrs.has('axes')) return [];
        return [reduceShape(x, axes, attrInt(n, 'keepdims', 1) === 1)];
      }
      unknownOps.add(op);
      return [];
  }
}
