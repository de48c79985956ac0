/**
 * Constant folding of the small tensors that carry shapes. torch.onnx.export writes a model's
 * run-time shapes as arithmetic on `Shape` outputs (Shape → Gather → Unsqueeze → Concat →
 * Reshape, `c // heads` as Div, a causal mask's size through ConstantOfShape and Range), so a
 * Reshape target or a Slice end is only known once those chains are evaluated. With fixed input
 * dims (the MAC count binds every symbolic dim), every value in such a chain becomes a number.
 *
 * Values are flat, in C order, at most MAX_VALUES of them; a dim may stay symbolic ("batch") or
 * unknown (null) where the inputs are.
 */
import type { Dim } from './types.js';
import { attrInt, type OnnxNode, type OnnxTensor } from './onnx-graph.js';
import { toNumber } from './proto.js';

/** A folded tensor: its values and whether they are floating point (Div truncates integers only). */
export interface Folded {
  v: Dim[];
  float: boolean;
}

export type FoldedValues = Map<string, Folded>;

/** Shape tensors are short; anything bigger is data, not shape arithmetic. */
const MAX_VALUES = 64;

const INT_TYPES = new Set([2, 3, 4, 5, 6, 7, 12, 13]);
const FLOAT_TYPES = new Set([1, 11]);

/** Values of a small int or float tensor held in the model (initializer or Constant), else undefined. */
export function tensorValues(t: OnnxTensor): Folded | undefined {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count > MAX_VALUES) return undefined;
  const isInt = INT_TYPES.has(t.dataType);
  if (!isInt && !FLOAT_TYPES.has(t.dataType)) return undefined;
  const p = t.proto;
  const float = !isInt;
  if (p.int64Data && p.int64Data.length) return { v: p.int64Data.map(toNumber), float };
  if (p.int32Data && p.int32Data.length) return { v: [...p.int32Data], float };
  if (p.uint64Data && p.uint64Data.length) return { v: p.uint64Data.map(toNumber), float };
  if (p.floatData && p.floatData.length) return { v: [...p.floatData], float };
  if (p.doubleData && p.doubleData.length) return { v: [...p.doubleData], float };
  if (p.rawData && p.rawData.length) return { v: decodeRaw(t.dataType, p.rawData), float };
  return count === 0 ? { v: [], float } : undefined;
}

function decodeRaw(dataType: number, raw: Uint8Array): number[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read: Record<number, [number, (at: number) => number]> = {
    1: [4, (at) => view.getFloat32(at, true)],
    2: [1, (at) => view.getUint8(at)],
    3: [1, (at) => view.getInt8(at)],
    4: [2, (at) => view.getUint16(at, true)],
    5: [2, (at) => view.getInt16(at, true)],
    6: [4, (at) => view.getInt32(at, true)],
    7: [8, (at) => Number(view.getBigInt64(at, true))],
    11: [8, (at) => view.getFloat64(at, true)],
    12: [4, (at) => view.getUint32(at, true)],
    13: [8, (at) => Number(view.getBigUint64(at, true))],
  };
  const [size, get] = read[dataType]!;
  const out: number[] = [];
  for (let at = 0; at + size <= raw.byteLength; at += size) out.push(get(at));
  return out;
}

function constantValues(n: OnnxNode): Folded | undefined {
  const a = (k: string): ReturnType<OnnxNode['attrs']['get']> => n.attrs.get(k);
  const t = a('value')?.t;
  if (t) return tensorValues({ name: '', dims: (t.dims ?? []).map(toNumber), dataType: t.dataType ?? 0, proto: t });
  const i = a('value_int')?.i;
  if (i !== undefined && i !== null) return { v: [toNumber(i)], float: false };
  const ints = a('value_ints')?.ints;
  if (ints) return { v: ints.map(toNumber), float: false };
  const f = a('value_float')?.f;
  if (f !== undefined && f !== null) return { v: [f], float: true };
  const floats = a('value_floats')?.floats;
  if (floats) return { v: [...floats], float: true };
  return undefined;
}

/** Numpy-style broadcast of flat operands; only the forms shape arithmetic uses (equal lengths or length 1). */
function zip(list: Dim[][], f: (xs: Dim[]) => Dim): Dim[] | undefined {
  const len = Math.max(...list.map((l) => l.length));
  if (list.some((l) => l.length !== len && l.length !== 1)) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < len; i++) out.push(f(list.map((l) => (l.length === 1 ? l[0]! : l[i]!))));
  return out;
}

const nums = (xs: Dim[]): xs is number[] => xs.every((x) => typeof x === 'number');

/** Elementwise ops on shape values; a symbol survives only the identities (x*1, x+0, x/1, min/max with itself). */
function arith(op: string, xs: Dim[], integer: boolean): Dim {
  const [a, b] = xs as [Dim, Dim];
  if (!nums(xs)) {
    if (op === 'Mul' && (a === 1 || b === 1)) return a === 1 ? b : a;
    if ((op === 'Add' || op === 'Sub') && b === 0) return a;
    if (op === 'Add' && a === 0) return b;
    if (op === 'Div' && b === 1) return a;
    if ((op === 'Max' || op === 'Min') && a !== null && a === b) return a;
    if (op === 'Equal' && a !== null && a === b) return 1;
    // A dim is never negative: torch's expand(B, -1, -1) compares the target with -1.
    if (op === 'Equal' && ((typeof a === 'string' && typeof b === 'number' && b < 0) || (typeof b === 'string' && typeof a === 'number' && a < 0))) return 0;
    return null;
  }
  const [x, y] = xs as [number, number];
  switch (op) {
    case 'Add': return x + y;
    case 'Sub': return x - y;
    case 'Mul': return x * y;
    case 'Div': return y === 0 ? null : integer ? Math.trunc(x / y) : x / y;
    case 'Mod': return y === 0 ? null : x - y * Math.floor(x / y);
    case 'Max': return Math.max(...(xs as number[]));
    case 'Min': return Math.min(...(xs as number[]));
    case 'Pow': return x ** y;
    case 'Equal': return x === y ? 1 : 0;
    case 'Less': return x < y ? 1 : 0;
    case 'Greater': return x > y ? 1 : 0;
    case 'LessOrEqual': return x <= y ? 1 : 0;
    case 'GreaterOrEqual': return x >= y ? 1 : 0;
    default: return null;
  }
}

const ARITH = new Set(['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Max', 'Min', 'Pow', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']);
const UNARY: Record<string, (x: number) => number> = {
  Neg: (x) => -x, Abs: Math.abs, Floor: Math.floor, Ceil: Math.ceil, Round: Math.round, Sqrt: Math.sqrt, Reciprocal: (x) => 1 / x,
  Not: (x) => (x ? 0 : 1),
};
/** Ops that keep the values as they are (the layout changes, the flat C-order values do not). */
const SAME_VALUES = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/**
 * Folds one node's first output when its inputs are known. `shapeOf` gives the (possibly
 * symbolic) shape of a value: `Shape` reads it, and Gather needs the data's rank.
 */
export function foldNode(n: OnnxNode, known: FoldedValues, shapeOf: (v: string) => Dim[] | undefined, opset: number): void {
  const out = n.outputs[0];
  if (!out) return;
  const set = (v: Dim[] | undefined, float: boolean): void => {
    if (v && v.length <= MAX_VALUES) known.set(out, { v, float });
  };
  const inp = (k: number): Folded | undefined => (n.inputs[k] ? known.get(n.inputs[k]!) : undefined);
  const op = n.opType;
  if (n.domain && n.domain !== 'ai.onnx') return;
  if (op === 'Constant') {
    const c = constantValues(n);
    if (c) set(c.v, c.float);
    return;
  }
  if (op === 'Shape') {
    const x = shapeOf(n.inputs[0] ?? '');
    if (!x) return;
    const start = Math.max(0, normAxis(attrInt(n, 'start', 0), x.length));
    const end = n.attrs.has('end') ? Math.min(x.length, normAxis(attrInt(n, 'end', x.length), x.length)) : x.length;
    set(x.slice(start, end), false);
    return;
  }
  if (op === 'Size') {
    const x = shapeOf(n.inputs[0] ?? '');
    if (x) set([x.reduce<Dim>((a, d) => (typeof a === 'number' && typeof d === 'number' ? a * d : null), 1)], false);
    return;
  }
  const a = inp(0);
  if (SAME_VALUES.has(op)) {
    if (a) set(a.v, a.float);
    return;
  }
  if (op === 'Cast') {
    const to = attrInt(n, 'to', 0);
    const BOOL = 9;
    const cast = (d: Dim): Dim => (typeof d !== 'number' ? (to === BOOL ? null : d) : to === BOOL ? (d ? 1 : 0) : INT_TYPES.has(to) ? Math.trunc(d) : d);
    if (a) set(a.v.map(cast), FLOAT_TYPES.has(to));
    return;
  }
  if (UNARY[op]) {
    const f = UNARY[op]!;
    if (a) set(a.v.map((d) => (typeof d === 'number' ? f(d) : null)), a.float || op === 'Sqrt' || op === 'Reciprocal');
    return;
  }
  if (ARITH.has(op)) {
    const all = n.inputs.map((_, k) => inp(k));
    if (all.some((x) => !x) || all.length < 2) return;
    const list = all as Folded[];
    const float = list.some((x) => x.float);
    const boolOut = op === 'Equal' || op === 'Less' || op === 'Greater' || op === 'LessOrEqual' || op === 'GreaterOrEqual';
    set(zip(list.map((x) => x.v), (xs) => arith(op, xs, !float)), float && !boolOut);
    return;
  }
  switch (op) {
    case 'Where': {
      const [c, x, y] = [inp(0), inp(1), inp(2)];
      if (c && x && y) set(zip([c.v, x.v, y.v], ([k, p, q]) => (typeof k === 'number' ? (k ? p! : q!) : null)), x.float || y.float);
      return;
    }
    case 'Gather': {
      const idx = inp(1);
      const data = shapeOf(n.inputs[0] ?? '');
      if (!a || !idx || attrInt(n, 'axis', 0) !== 0 || (data && data.length !== 1)) return;
      set(idx.v.map((i) => (typeof i === 'number' ? a.v[normAxis(i, a.v.length)] ?? null : null)), a.float);
      return;
    }
    case 'Concat': {
      const all = n.inputs.map((_, k) => inp(k));
      if (all.every((x) => x)) set((all as Folded[]).flatMap((x) => x.v), all.some((x) => x!.float));
      return;
    }
    case 'Slice': {
      if (!a) return;
      const starts = opset >= 10 ? inp(1)?.v : n.attrs.get('starts')?.ints?.map(toNumber);
      const ends = opset >= 10 ? inp(2)?.v : n.attrs.get('ends')?.ints?.map(toNumber);
      const steps = opset >= 10 && n.inputs[4] ? inp(4)?.v : [1];
      const s = starts?.[0];
      const e = ends?.[0];
      const step = steps?.[0];
      if (typeof s !== 'number' || typeof e !== 'number' || typeof step !== 'number' || step === 0) return;
      const len = a.v.length;
      const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + len : v, lo), hi);
      const from = step > 0 ? clamp(s, 0, len) : clamp(s, -1, len - 1);
      const to = step > 0 ? clamp(e, 0, len) : clamp(e, -1, len - 1);
      const picked: Dim[] = [];
      for (let i = from; step > 0 ? i < to : i > to; i += step) picked.push(a.v[i]!);
      set(picked, a.float);
      return;
    }
    case 'ConstantOfShape': {
      const dims = a?.v;
      if (!dims || !nums(dims)) return;
      const count = dims.reduce((p, d) => p * d, 1);
      const t = n.attrs.get('value')?.t;
      const fill = t ? tensorValues({ name: '', dims: [1], dataType: t.dataType ?? 1, proto: t }) : { v: [0], float: true };
      if (fill && count <= MAX_VALUES) set(new Array<Dim>(count).fill(fill.v[0] ?? 0), fill.float);
      return;
    }
    case 'Range': {
      const [s, l, d] = [inp(0)?.v[0], inp(1)?.v[0], inp(2)?.v[0]];
      if (typeof s !== 'number' || typeof l !== 'number' || typeof d !== 'number' || d === 0) return;
      const count = Math.max(0, Math.ceil((l - s) / d));
      if (count <= MAX_VALUES) set(Array.from({ length: count }, (_, i) => s + i * d), inp(0)!.float);
      return;
    }
    case 'ReduceProd': case 'ReduceSum': case 'ReduceMax': case 'ReduceMin': {
      // Only the whole-vector reductions shape arithmetic uses (numel = prod(shape)).
      const x = shapeOf(n.inputs[0] ?? '');
      if (!a || !x || x.length !== 1 || !nums(a.v)) return;
      const v = a.v;
      const r = op === 'ReduceProd' ? v.reduce((p, q) => p * q, 1) : op === 'ReduceSum' ? v.reduce((p, q) => p + q, 0) : op === 'ReduceMax' ? Math.max(...v) : Math.min(...v);
      set([r], a.float);
      return;
    }
    default:
  }
}
