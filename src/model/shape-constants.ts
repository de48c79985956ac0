/**
 * Small constants kept in external data. `onnx.save_model(..., size_threshold=0)` moves even the
 * 8-byte Reshape targets and Slice bounds into the side file, where shape folding cannot see
 * them; this reads those few bytes (never the weights) into the graph's initializers.
 */
import { open } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { LoadedModel } from './load.js';
import type { OnnxGraph, OnnxTensor } from './onnx-graph.js';
import { proto } from './proto.js';

/** As many values as fold.ts folds: bigger tensors are data, not shapes. */
const SMALL = 64;
const SHAPE_TYPES = new Set([1, 6, 7, 11]);

function entry(t: OnnxTensor, key: string): string | undefined {
  return (t.proto.externalData ?? []).find((e) => e.key === key)?.value ?? undefined;
}

/** The graph with its small external int and float initializers read in; the same graph when it has none. */
export async function withSmallConstants(loaded: LoadedModel): Promise<OnnxGraph> {
  const graph = loaded.graph;
  const wanted = [...graph.initializers.values()].filter(
    (t) => t.proto.dataLocation === proto.TensorProto.DataLocation.EXTERNAL && SHAPE_TYPES.has(t.dataType) && t.dims.reduce((a, b) => a * b, 1) <= SMALL,
  );
  if (wanted.length === 0) return graph;
  const initializers = new Map(graph.initializers);
  for (const t of wanted) {
    const location = entry(t, 'location');
    if (!location) continue;
    const file = isAbsolute(location) ? location : resolve(dirname(loaded.path), location);
    const offset = Number(entry(t, 'offset') ?? '0');
    const length = Number(entry(t, 'length') ?? String(t.dims.reduce((a, b) => a * b, 1) * (t.dataType === 7 || t.dataType === 11 ? 8 : 4)));
    // load.ts has already checked that the side file exists and is long enough.
    const fh = await open(file, 'r');
    try {
      const rawData = new Uint8Array(length);
      await fh.read(rawData, 0, length, offset);
      initializers.set(t.name, { ...t, proto: { ...t.proto, dataLocation: proto.TensorProto.DataLocation.DEFAULT, externalData: [], rawData } });
    } finally {
      await fh.close();
    }
  }
  return { ...graph, initializers };
}
