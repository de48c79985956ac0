/** A plain, fully-defaulted view of the decoded ONNX graph: protobufjs types leave every field optional. */
import { toNumber, type onnx } from './proto.js';

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, onnx.IAttributeProto>;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  proto: onnx.ITensorProto;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  valueInfo: onnx.IValueInfoProto[];
}

export function tensorOf(t: onnx.ITensorProto): OnnxTensor {
  return { name: t.name ?? '', dims: (t.dims ?? []).map(toNumber), dataType: t.dataType ?? 0, proto: t };
}

export function nodeOf(n: onnx.INodeProto, i: number): OnnxNode {
  const attrs = new Map<string, onnx.IAttributeProto>();
  for (const a of n.attribute ?? []) if (a.name) attrs.set(a.name, a);
  return {
    name: n.name || `${n.opType ?? 'node'}#${i}`,
    opType: n.opType ?? '',
    domain: n.domain ?? '',
    inputs: (n.input ?? []).map((v) => v ?? ''),
    outputs: (n.output ?? []).map((v) => v ?? ''),
    attrs,
  };
}

export function graphOf(g: onnx.IGraphProto): OnnxGraph {
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', tensorOf(t));
  return {
    nodes: (g.node ?? []).map(nodeOf),
    initializers,
    inputs: g.input ?? [],
    outputs: g.output ?? [],
    valueInfo: g.valueInfo ?? [],
  };
}

export function attrInt(n: OnnxNode, key: string, dflt: number): number {
  const a = n.attrs.get(key);
  return a && a.i !== undefined && a.i !== null ? toNumber(a.i) : dflt;
}

export function attrInts(n: OnnxNode, key: string): number[] | undefined {
  const a = n.attrs.get(key);
  return a?.ints && a.ints.length ? a.ints.map(toNumber) : undefined;
}

export function attrString(n: OnnxNode, key: string): string | undefined {
  const a = n.attrs.get(key);
  return a?.s ? new TextDecoder().decode(a.s) : undefined;
}
