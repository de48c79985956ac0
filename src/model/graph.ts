/**
 * Graph structure: who produces and who consumes each value, a topological order, and the
 * ancestor subgraph of any value (the nodes that must run to compute it).
 */
import { inputError } from '../errors.js';
import type { OnnxGraph, OnnxNode, OnnxTensor } from './onnx-graph.js';

export interface GraphIndex {
  nodes: OnnxNode[];
  /** value name → index of the node producing it */
  producer: Map<string, number>;
  /** value name → indices of nodes reading it */
  consumers: Map<string, number[]>;
  /** node indices in an order where every node follows its producers */
  topo: number[];
  initializers: Map<string, OnnxTensor>;
}

export function indexGraph(path: string, graph: OnnxGraph): GraphIndex {
  const nodes = graph.nodes;
  const producer = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o) producer.set(o, i);
  });
  nodes.forEach((n, i) => {
    for (const v of n.inputs) {
      if (!v) continue;
      const list = consumers.get(v);
      if (list) list.push(i);
      else consumers.set(v, [i]);
    }
  });
  return { nodes, producer, consumers, topo: topoOrder(path, nodes, producer), initializers: graph.initializers };
}

/** Kahn's algorithm; ONNX requires sorted nodes but exporters do not always comply. */
function topoOrder(path: string, nodes: OnnxNode[], producer: Map<string, number>): number[] {
  const pending = nodes.map((n) => new Set(n.inputs.filter((v) => v && producer.has(v)).map((v) => producer.get(v) as number)));
  const dependents: number[][] = nodes.map(() => []);
  pending.forEach((deps, i) => deps.forEach((d) => dependents[d]!.push(i)));
  const ready = pending.flatMap((d, i) => (d.size === 0 ? [i] : []));
  const order: number[] = [];
  for (let at = 0; at < ready.length; at++) {
    const i = ready[at]!;
    order.push(i);
    for (const j of dependents[i]!) {
      const p = pending[j]!;
      p.delete(i);
      if (p.size === 0) ready.push(j);
    }
  }
  if (order.length !== nodes.length) {
    const done = new Set(order);
    const stuck = nodes.findIndex((_, i) => !done.has(i));
    throw inputError(path, `the graph has a cycle (around node '${nodes[stuck]?.name}')`);
  }
  return order;
}

/** Indices of the nodes needed to compute `value`. */
export function ancestorNodes(g: GraphIndex, value: string): Set<number> {
  const seen = new Set<number>();
  const stack = [value];
  while (stack.length) {
    const p = g.producer.get(stack.pop() as string);
    if (p === undefined || seen.has(p)) continue;
    seen.add(p);
    for (const v of g.nodes[p]!.inputs) if (v) stack.push(v);
  }
  return seen;
}

/** Every value read or written by the given nodes. */
export function valuesOf(g: GraphIndex, nodes: Set<number>): Set<string> {
  const out = new Set<string>();
  for (const i of nodes) {
    const n = g.nodes[i]!;
    for (const v of n.inputs) if (v) out.add(v);
    for (const v of n.outputs) if (v) out.add(v);
  }
  return out;
}

/** Ops that pass data through unchanged (values or just the layout): an output behind them carries the same data. */
const PASS_THROUGH = new Set(['Identity', 'Dropout', 'Cast', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

/** Follows Identity-like nodes back to the value that really carries the data. */
export function sourceValue(g: GraphIndex, value: string): string {
  let v = value;
  for (let guard = 0; guard < 1000; guard++) {
    const p = g.producer.get(v);
    if (p === undefined) return v;
    const n = g.nodes[p]!;
    if (!PASS_THROUGH.has(n.opType) || !n.inputs[0]) return v;
    v = n.inputs[0];
  }
  return v;
}

/** The node producing the data of `value`, looking through Identity-like nodes. */
export function producingOp(g: GraphIndex, value: string): string | undefined {
  const p = g.producer.get(sourceValue(g, value));
  return p === undefined ? undefined : g.nodes[p]!.opType;
}
