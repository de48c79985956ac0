/**
 * Multiply-accumulates per node at batch 1, from weight dims and propagated shapes. Only the
 * ops that dominate inference cost count (Conv, ConvTranspose, Gemm, MatMul); elementwise ops,
 * pooling and normalisation are noise next to them and count 0.
 */
import type { Dim } from './types.js';
import type { GraphIndex } from './graph.js';
import { attrInt } from './onnx-graph.js';
import type { Shape } from './shapes.js';

export interface NodeCosts {
  macs: number[];
  warnings: string[];
}

/** Symbolic dims (the batch, mostly) count as 1: costs are per sample. */
function num(d: Dim | undefined): number | null {
  if (d === undefined || d === null) return null;
  return typeof d === 'number' ? d : 1;
}

function prod(dims: (Dim | undefined)[]): number | null {
  let p = 1;
  for (const d of dims) {
    const v = num(d);
    if (v === null) return null;
    p *= v;
  }
  return p;
}

const COSTED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'MatMulInteger', 'ConvInteger', 'QLinearConv', 'QLinearMatMul']);

export function nodeMacs(g: GraphIndex, shapes: Map<string, Shape>): NodeCosts {
  const warnings: string[] = [];
  const macs = g.nodes.map((n) => {
    if (!COSTED.has(n.opType)) return 0;
    const isQ = n.opType.startsWith('QLinear');
    const x = shapes.get(n.inputs[0] ?? '');
    const w = shapes.get(n.inputs[isQ ? 3 : 1] ?? '');
    const y = shapes.get(n.outputs[0] ?? '');
    let v: number | null = null;
    switch (n.opType) {
      case 'Conv': case 'ConvInteger': case 'QLinearConv':
        // Each output element takes Cin/group * prod(kernel) MACs; W is [Cout, Cin/group, k...].
        if (w && y) {
          const perOut = prod(w.slice(1));
          const outs = prod([y[1], ...y.slice(2)]);
          v = perOut === null || outs === null ? null : perOut * outs;
        }
        break;
      case 'ConvTranspose':
        // Each input element scatters into Cout/group * prod(kernel) outputs; W is [Cin, Cout/group, k...].
        if (w && x) {
          const perIn = prod(w.slice(1));
          const ins = prod([x[1], ...x.slice(2)]);
          v = perIn === null || ins === null ? null : perIn * ins;
        }
        break;
      case 'Gemm':
        // K and N come from the weight alone; M is the batch, so an unknown M counts as 1.
        if (w && w.length === 2) {
          const transB = attrInt(n, 'transB', 0) === 1;
          const k = num(transB ? w[1] : w[0]);
          const nn = num(transB ? w[0] : w[1]);
          const m = y ? num(y[0]) ?? 1 : 1;
          v = k === null || nn === null ? null : m * k * nn;
        }
        break;
      default:
        // MatMul: every output element is a dot product over A's last dim.
        if (x && y && x.length > 0) {
          const k = num(x[x.length - 1]);
          const out = prod(y);
          v = k === null || out === null ? null : k * out;
        }
    }
    if (v === null) {
      warnings.push(`${n.opType} node '${n.name}': shape unknown, its MACs count as 0`);
      return 0;
    }
    return v;
  });
  return { macs, warnings };
}

export function sumMacs(costs: number[], nodes: Iterable<number>): number {
  let s = 0;
  for (const i of nodes) s += costs[i] ?? 0;
  return s;
}
