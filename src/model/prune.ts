/**
 * The ancestor subgraph of one output as a standalone model. onnxruntime computes every node
 * whatever outputs are fetched, so timing "up to exit k" needs a model that stops there.
 * External weights are copied inline: a model built in memory has no folder to resolve them from.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { inputError } from '../errors.js';
import { ancestorNodes, indexGraph } from './graph.js';
import type { LoadedModel } from './load.js';
import { proto, type onnx } from './proto.js';

/** The tensor with its external data (if any) read in and stored inline. */
export async function inlineExternal(loaded: LoadedModel, t: onnx.ITensorProto, cache: Map<string, Uint8Array>): Promise<onnx.ITensorProto> {
  if (t.dataLocation !== proto.TensorProto.DataLocation.EXTERNAL) return t;
  const entry = (k: string): string | undefined => (t.externalData ?? []).find((e) => e.key === k)?.value ?? undefined;
  const location = entry('location') ?? '';
  const file = isAbsolute(location) ? location : resolve(dirname(loaded.path), location);
  let data = cache.get(file);
  if (!data) {
    try {
      data = new Uint8Array(await readFile(file));
    } catch (e) {
      throw inputError(loaded.path, `external data file '${location}' for initializer '${t.name}' is missing`, e);
    }
    cache.set(file, data);
  }
  const offset = Number(entry('offset') ?? '0');
  const length = entry('length') === undefined ? data.length - offset : Number(entry('length'));
  return { ...t, dataLocation: proto.TensorProto.DataLocation.DEFAULT, externalData: [], rawData: data.subarray(offset, offset + length) };
}

/** Encoded model computing only `output`, and the graph inputs it still needs. */
export async function pruneToOutput(loaded: LoadedModel, output: string): Promise<{ bytes: Uint8Array; inputs: string[] }> {
  const g = indexGraph(loaded.path, loaded.graph);
  const keep = ancestorNodes(g, output);
  const src = loaded.model.graph as onnx.IGraphProto;
  const used = new Set<string>();
  const nodes = (src.node ?? []).filter((_, i) => keep.has(i));
  for (const n of nodes) for (const v of n.input ?? []) if (v) used.add(v);
  used.add(output);
  // Subgraphs (If/Loop bodies) may read outer values by name without listing them as inputs.
  const nested = (src.node ?? []).some((n, i) => keep.has(i) && (n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length));
  const cache = new Map<string, Uint8Array>();
  const initializer: onnx.ITensorProto[] = [];
  for (const t of src.initializer ?? []) if (nested || used.has(t.name ?? '')) initializer.push(await inlineExternal(loaded, t, cache));
  const inits = new Set(initializer.map((t) => t.name ?? ''));
  const input = (src.input ?? []).filter((v) => (nested || used.has(v.name ?? '')) && !inits.has(v.name ?? ''));
  const out = (src.output ?? []).filter((v) => v.name === output);
  const model = proto.ModelProto.create({
    ...loaded.model,
    graph: { ...src, node: nodes, initializer, input: [...input, ...(src.input ?? []).filter((v) => inits.has(v.name ?? ''))], output: out },
  });
  return { bytes: proto.ModelProto.encode(model).finish(), inputs: input.map((v) => v.name ?? '') };
}
