/**
 * Shapes the graph does not reveal statically, found by running the model once: the shapes of
 * outputs (inputs are zeros, with every symbolic dim set to 1), and the shapes of intermediate
 * values the MAC count needs (on a real sample or zeros, at the dims the count is for).
 */
import * as ort from 'onnxruntime-node';
import type { LoadedModel } from './load.js';
import { proto, type onnx } from './proto.js';
import { cutInitializers, weightsFolder } from './weights.js';
import type { Dim, ElementType, TensorInfo } from './types.js';

type OrtType = ort.Tensor['type'];
const ORT_TYPES: Partial<Record<ElementType, OrtType>> = {
  float: 'float32', double: 'float64', int8: 'int8', int16: 'int16', int32: 'int32', int64: 'int64',
  uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', bool: 'bool', float16: 'float16',
};

export function zeroFeed(input: TensorInfo, fill: (d: Dim, axis: number) => number): ort.Tensor | string {
  const type = ORT_TYPES[input.type];
  if (!type) return `input '${input.name}' has element type ${input.type}`;
  const dims = input.shape.map(fill);
  const size = dims.reduce((a, b) => a * b, 1);
  const data =
    type === 'int64' || type === 'uint64' ? (type === 'int64' ? new BigInt64Array(size) : new BigUint64Array(size))
    : type === 'bool' ? new Uint8Array(size)
    : type === 'float16' ? new Uint16Array(size)
    : new ({ float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array } as const)[type as 'float32'](size);
  return new ort.Tensor(type, data, dims);
}

/** Actual dims of `names` for a batch of one; the first dim keeps the inputs' batch symbol. */
export async function probeOutputShapes(path: string, inputs: TensorInfo[], names: string[]): Promise<{ shapes: Map<string, Dim[]>; error?: string }> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of inputs) {
    if (i.shape.length === 0 && i.type !== 'unknown') return { shapes: new Map(), error: `input '${i.name}' has no declared shape` };
    const t = zeroFeed(i, (d) => (typeof d === 'number' ? d : 1));
    if (typeof t === 'string') return { shapes: new Map(), error: t };
    feeds[i.name] = t;
  }
  const batchSym = inputs.map((i) => i.shape[0]).find((d): d is string => typeof d === 'string');
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
    const out = await session.run(feeds, names);
    const shapes = new Map<string, Dim[]>();
    for (const n of names) {
      const dims: Dim[] = [...(out[n]?.dims ?? [])];
      if (batchSym && dims.length > 0 && dims[0] === 1) dims[0] = batchSym;
      shapes.set(n, dims);
    }
    return { shapes };
  } catch (e) {
    return { shapes: new Map(), error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  } finally {
    await session?.release();
  }
}

/**
 * Dims of intermediate values after one run on `feeds`: a copy of the model returns them as
 * extra graph outputs (onnxruntime fetches only graph outputs). The copy is built in memory and
 * names the model's external weights where they are (weights.ts), its session told their folder:
 * a big model is never copied. Costs one session and one run.
 */
export async function probeValueShapes(loaded: LoadedModel, feeds: Record<string, ort.Tensor>, names: string[]): Promise<{ shapes: Map<string, number[]>; error?: string }> {
  const src = loaded.model.graph as onnx.IGraphProto;
  const declared = new Set((src.output ?? []).map((o) => o.name ?? ''));
  let session: ort.InferenceSession | undefined;
  try {
    const { initializer, weightsDir } = await cutInitializers(loaded.path, src.initializer ?? []);
    const output = [...(src.output ?? []), ...names.filter((v) => !declared.has(v)).map((name) => ({ name }))];
    const bytes = proto.ModelProto.encode(proto.ModelProto.create({ ...loaded.model, graph: { ...src, initializer, output } })).finish();
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled', logSeverityLevel: 4, ...weightsFolder(weightsDir) });
    const out = await session.run(feeds, names);
    const shapes = new Map<string, number[]>();
    for (const v of names) if (out[v]) shapes.set(v, [...out[v]!.dims]);
    return { shapes };
  } catch (e) {
    return { shapes: new Map(), error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  } finally {
    await session?.release();
  }
}
