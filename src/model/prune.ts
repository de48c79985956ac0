/**
 * The ancestor subgraph of one output as a standalone model. onnxruntime computes every node
 * whatever outputs are fetched, so timing "up to exit k" needs a model that stops there.
 * External weights stay where they are: the pruned model names the model's own side file, and
 * its session reads it from `weightsDir` (weights.ts).
 */
import { ancestorNodes, indexGraph } from './graph.js';
import type { LoadedModel } from './load.js';
import { proto, type onnx } from './proto.js';
import { cutInitializers } from './weights.js';

/** Encoded model computing only `output`, the graph inputs it still needs, and where its external weights are. */
export async function pruneToOutput(loaded: LoadedModel, output: string): Promise<{ bytes: Uint8Array; inputs: string[]; weightsDir?: string }> {
  const g = indexGraph(loaded.path, loaded.graph);
  const keep = ancestorNodes(g, output);
  const src = loaded.model.graph as onnx.IGraphProto;
  const used = new Set<string>();
  const nodes = (src.node ?? []).filter((_, i) => keep.has(i));
  for (const n of nodes) for (const v of n.input ?? []) if (v) used.add(v);
  used.add(output);
  // Subgraphs (If/Loop bodies) may read outer values by name without listing them as inputs.
  const nested = (src.node ?? []).some((n, i) => keep.has(i) && (n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length));
  const { initializer, weightsDir } = await cutInitializers(loaded.path, (src.initializer ?? []).filter((t) => nested || used.has(t.name ?? '')));
  const inits = new Set(initializer.map((t) => t.name ?? ''));
  const input = (src.input ?? []).filter((v) => (nested || used.has(v.name ?? '')) && !inits.has(v.name ?? ''));
  const out = (src.output ?? []).filter((v) => v.name === output);
  const model = proto.ModelProto.create({
    ...loaded.model,
    graph: { ...src, node: nodes, initializer, input: [...input, ...(src.input ?? []).filter((v) => inits.has(v.name ?? ''))], output: out },
  });
  return { bytes: proto.ModelProto.encode(model).finish(), inputs: input.map((v) => v.name ?? ''), ...(weightsDir ? { weightsDir } : {}) };
}
