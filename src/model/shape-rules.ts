/**
 * How each standard ONNX op sets the shapes of its outputs from the shapes (and, for shape
 * arguments such as a Reshape target, the folded values) of its inputs. An op missing here
 * leaves its outputs unknown, and the caller reports it.
 */
import type { Dim } from './types.js';
import { planEinsum } from './einsum.js';
import { attrInt, attrInts, attrString, type OnnxNode } from './onnx-graph.js';
import { toNumber } from './proto.js';

/** Shape of a value; undefined when unknown (even its rank). */
export type Shape = Dim[];

/** What a rule can read about a node's inputs. */
export interface RuleInputs {
  /** Shape of input k. */
  shape(k: number): Shape | undefined;
  /** Folded values of input k (shape arguments). */
  values(k: number): Dim[] | undefined;
  opset: number;
}

/** Outputs in order; an empty list or an undefined entry means unknown. `null` means the op is not known at all. */
export type RuleResult = (Shape | undefined)[] | null;

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Product of dims: a number when all fixed, the symbol when it is the only non-1 factor, else null. */
export function product(dims: Dim[]): Dim {
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

export function broadcast(shapes: (Shape | undefined)[]): Shape | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const list = shapes as Shape[];
  const rank = Math.max(0, ...list.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of list) {
      const x = s[s.length - rank + i];
      if (x === undefined || x === 1) continue;
      if (d === 1) d = x;
      else if (d !== x) d = typeof d === 'number' && typeof x === 'number' ? null : d === null ? x : typeof x === 'number' ? x : d;
    }
    out.push(d);
  }
  return out;
}

/** Output of a (batched, broadcasting) matrix product; ranks 1 follow numpy's matmul. */
export function matmulShape(a: Shape | undefined, b: Shape | undefined): Shape | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]) ?? [];
  const out: Dim[] = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]!);
  if (b.length > 1) out.push(b2[b2.length - 1]!);
  return out;
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

/** Numbers only: a shape argument with a symbol or an unknown in it cannot steer an axis list. */
function numbers(v: Dim[] | undefined): number[] | undefined {
  return v && v.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
}

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Identity', 'Dropout', 'Cast', 'Clip',
  'BatchNormalization', 'LayerNormalization', 'InstanceNormalization', 'GroupNormalization', 'Erf', 'Gelu', 'HardSigmoid',
  'HardSwish', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Not', 'Sign', 'Reciprocal', 'Elu', 'Selu', 'Softplus', 'Softsign',
  'Mish', 'Floor', 'Ceil', 'Round', 'LRN', 'Hardmax', 'IsNaN', 'IsInf', 'CastLike', 'Celu', 'ThresholdedRelu',
  'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'QuantizeLinear', 'DequantizeLinear',
  'Trilu', 'CumSum', 'Shrink', 'BitwiseNot', 'LpNormalization', 'MeanVarianceNormalization', 'EyeLike',
  'ScatterND', 'ScatterElements', 'Scatter', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'ReverseSequence',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Greater', 'Less',
  'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor', 'Where', 'Mod', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor']);
export const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSumExp', 'ReduceSumSquare', 'ReduceLogSum']);

/** Output shapes of a node of the standard domain, or null when the op has no rule here. */
export function inferNode(n: OnnxNode, io: RuleInputs): RuleResult {
  const s = io.shape;
  const x = s(0);
  const op = n.opType;
  const { opset } = io;
  if (UNARY.has(op)) return [x];
  if (BINARY.has(op)) return [broadcast(n.inputs.map((_, k) => s(k)))];
  switch (op) {
    case 'Conv': case 'ConvInteger': case 'QLinearConv': {
      const w = s(op === 'QLinearConv' ? 3 : 1);
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
    case 'MatMul': case 'MatMulInteger':
      return [matmulShape(x, s(1))];
    case 'QLinearMatMul':
      return [matmulShape(x, s(3))];
    case 'Einsum': {
      const shapes = n.inputs.map((_, k) => s(k));
      const eq = attrString(n, 'equation');
      if (!eq || shapes.some((a) => !a)) return [];
      return [planEinsum(eq, shapes as Shape[])?.output];
    }
    case 'Flatten': {
      if (!x) return [];
      const axis = normAxis(attrInt(n, 'axis', 1), x.length);
      return [[product(x.slice(0, axis)), product(x.slice(axis))]];
    }
    case 'Reshape':
      return [reshape(x, io.values(1), attrInt(n, 'allowzero', 0) === 1)];
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
      return [out];
    }
    case 'Squeeze': case 'Unsqueeze': {
      if (!x) return [];
      const axes = opset >= 13 ? numbers(io.values(1)) : attrInts(n, 'axes');
      if (op === 'Squeeze') {
        if (!axes) return n.inputs[1] ? [] : [x.filter((d) => d !== 1)];
        const set = new Set(axes.map((a) => normAxis(a, x.length)));
        return [x.filter((_, i) => !set.has(i))];
      }
      if (!axes) return [];
      const rank = x.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, rank)));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x[j++] ?? null);
      return [out];
    }
    case 'Shape': {
      if (!x) return [[null]];
      const start = Math.max(0, normAxis(attrInt(n, 'start', 0), x.length));
      const end = n.attrs.has('end') ? Math.min(x.length, normAxis(attrInt(n, 'end', x.length), x.length)) : x.length;
      return [[Math.max(0, end - start)]];
    }
    case 'Size':
      return [[]];
    case 'Gather': {
      const idx = s(1);
      if (!x || !idx) return [];
      const axis = normAxis(attrInt(n, 'axis', 0), x.length);
      return [[...x.slice(0, axis), ...idx, ...x.slice(axis + 1)]];
    }
    case 'GatherElements':
      return [s(1)];
    case 'GatherND': {
      const idx = s(1);
      const last = idx?.[idx.length - 1];
      if (!x || !idx || typeof last !== 'number') return [];
      const b = attrInt(n, 'batch_dims', 0);
      return [[...idx.slice(0, -1), ...x.slice(b + last)]];
    }
    case 'Constant': {
      const a = n.attrs;
      const t = a.get('value')?.t;
      if (t) return [(t.dims ?? []).map(toNumber)];
      if (a.has('value_int') || a.has('value_float')) return [[]];
      const list = a.get('value_ints')?.ints ?? a.get('value_floats')?.floats;
      return list ? [[list.length]] : [];
    }
    case 'ConstantOfShape': {
      const v = io.values(0);
      if (v) return [v];
      const r = s(0)?.[0];
      return typeof r === 'number' ? [new Array<Dim>(r).fill(null)] : [];
    }
    case 'Range': {
      const [a, l, d] = [io.values(0)?.[0], io.values(1)?.[0], io.values(2)?.[0]];
      if (typeof a === 'number' && typeof l === 'number' && typeof d === 'number' && d !== 0) return [[Math.max(0, Math.ceil((l - a) / d))]];
      return [[null]];
    }
    case 'Expand': {
      const target = io.values(1);
      if (!target) {
        const len = s(1)?.[0];
        return x && typeof len === 'number' ? [new Array<Dim>(Math.max(len, x.length)).fill(null)] : [];
      }
      return [broadcast([x, target])];
    }
    case 'Tile': {
      const reps = io.values(1);
      if (!x || !reps || reps.length !== x.length) return [];
      return [x.map((d, i) => (typeof d === 'number' && typeof reps[i] === 'number' ? d * (reps[i] as number) : reps[i] === 1 ? d : null))];
    }
    case 'Split': {
      if (!x) return [];
      const axis = normAxis(attrInt(n, 'axis', 0), x.length);
      const parts = n.outputs.length;
      const given = opset >= 13 ? (n.inputs[1] ? io.values(1) : undefined) : attrInts(n, 'split');
      if (n.inputs[1] && opset >= 13 && !given) return [];
      const d = x[axis];
      const sizes: Dim[] = given
        ? given
        : typeof d === 'number'
          ? Array.from({ length: parts }, (_, i) => {
            const each = Math.ceil(d / parts);
            return Math.max(0, Math.min(each, d - i * each));
          })
          : new Array<Dim>(parts).fill(null);
      return sizes.map((size) => x.map((dim, i) => (i === axis ? size ?? null : dim)));
    }
    case 'TopK': {
      const k = opset >= 10 ? io.values(1)?.[0] : attrInt(n, 'k', 0);
      if (!x) return [];
      const axis = normAxis(attrInt(n, 'axis', -1), x.length);
      const out = x.map((d, i) => (i === axis ? k ?? null : d));
      return [out, out];
    }
    case 'Resize': case 'Upsample': {
      if (!x) return [];
      const sizes = op === 'Resize' && opset >= 11 && n.inputs[3] ? io.values(3) : undefined;
      const scales = op === 'Resize' ? (opset >= 11 ? io.values(2) : io.values(1)) : opset >= 9 ? io.values(1) : attrFloats(n, 'scales');
      const axes = attrInts(n, 'axes')?.map((a) => normAxis(a, x.length)) ?? x.map((_, i) => i);
      const out = [...x];
      if (sizes && sizes.length === axes.length) axes.forEach((a, j) => (out[a] = sizes[j] ?? null));
      else if (scales && scales.length === axes.length) {
        axes.forEach((a, j) => {
          const d = x[a];
          const f = scales[j];
          out[a] = f === 1 ? d ?? null : typeof d === 'number' && typeof f === 'number' ? Math.floor(d * f) : null;
        });
      } else return [];
      return [out];
    }
    case 'DepthToSpace': case 'SpaceToDepth': {
      const b = attrInt(n, 'blocksize', 1);
      if (!x || x.length !== 4) return [];
      const [nb, c, h, w] = x as [Dim, Dim, Dim, Dim];
      const f = (d: Dim, g: (v: number) => number): Dim => (typeof d === 'number' ? g(d) : null);
      return op === 'DepthToSpace'
        ? [[nb, f(c, (v) => v / (b * b)), f(h, (v) => v * b), f(w, (v) => v * b)]]
        : [[nb, f(c, (v) => v * b * b), f(h, (v) => v / b), f(w, (v) => v / b)]];
    }
    case 'OneHot': {
      const depth = io.values(1)?.[0];
      if (!x) return [];
      const axis = normAxis(attrInt(n, 'axis', -1), x.length + 1);
      const out = [...x];
      out.splice(axis, 0, depth ?? null);
      return [out];
    }
    case 'NonZero':
      return x ? [[x.length, null]] : [];
    case 'Compress': {
      // Which entries survive depends on the data: the kept axis is only known at run time.
      if (!x) return [];
      if (!n.attrs.has('axis')) return [[null]];
      const axis = normAxis(attrInt(n, 'axis', 0), x.length);
      return [x.map((d, i) => (i === axis ? null : d))];
    }
    case 'ArgMax': case 'ArgMin':
      return x ? [reduceShape(x, [attrInt(n, 'axis', 0)], attrInt(n, 'keepdims', 1) === 1)] : [];
    case 'Pad': {
      const pads = opset >= 11 ? io.values(1) : attrInts(n, 'pads');
      if (!x) return [];
      const axesIn = opset >= 18 && n.inputs[3] ? numbers(io.values(3)) : undefined;
      if (n.inputs[3] && !axesIn) return [];
      const r = x.length;
      const axes = axesIn ? axesIn.map((a) => normAxis(a, r)) : x.map((_, i) => i);
      if (!pads || pads.length !== 2 * axes.length) return [];
      const out: Dim[] = [...x];
      axes.forEach((ax, j) => {
        const d = out[ax];
        const b = pads[j];
        const e = pads[j + axes.length];
        if (b === 0 && e === 0) return;
        out[ax] = typeof d === 'number' && typeof b === 'number' && typeof e === 'number' ? d + b + e : null;
      });
      return [out];
    }
    case 'Slice': {
      if (!x) return [];
      const starts = opset >= 10 ? io.values(1) : attrInts(n, 'starts');
      const ends = opset >= 10 ? io.values(2) : attrInts(n, 'ends');
      const axes = opset >= 10 ? (n.inputs[3] ? numbers(io.values(3)) : undefined) : attrInts(n, 'axes');
      const steps = opset >= 10 && n.inputs[4] ? io.values(4) : undefined;
      if (!starts || !ends || (n.inputs[3] && !axes) || (n.inputs[4] && !steps)) return [];
      const out: Dim[] = [...x];
      starts.forEach((st, j) => {
        const ax = normAxis(axes?.[j] ?? j, x.length);
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
      return [out];
    }
    case 'LSTM': case 'GRU': case 'RNN': {
      // Y is [seq, dirs, batch, hidden] (layout 0) or [batch, seq, dirs, hidden]; Y_h and Y_c drop seq.
      if (!x || x.length !== 3) return [];
      const hidden = attrInt(n, 'hidden_size', 0) || null;
      const dirs = attrString(n, 'direction') === 'bidirectional' ? 2 : 1;
      const batchFirst = attrInt(n, 'layout', 0) === 1;
      const [seq, batch] = batchFirst ? [x[1]!, x[0]!] : [x[0]!, x[1]!];
      const y = batchFirst ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
      const state = batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden];
      return [y, state, state];
    }
    default:
      if (REDUCE.has(op)) {
        if (!x) return [];
        const axesFromInput = (opset >= 18 || op === 'ReduceSum') && n.inputs[1];
        const axes = axesFromInput ? numbers(io.values(1)) : attrInts(n, 'axes');
        if (axesFromInput && !axes) return [];
        if (axes === undefined && attrInt(n, 'noop_with_empty_axes', 0) === 1) return [x];
        return [reduceShape(x, axes, attrInt(n, 'keepdims', 1) === 1)];
      }
      return null;
  }
}

function attrFloats(n: OnnxNode, key: string): number[] | undefined {
  const a = n.attrs.get(key);
  return a?.floats && a.floats.length ? [...a.floats] : undefined;
}
