/**
 * Reads and decodes an ONNX file, turning every way it can be wrong (missing, a folder,
 * empty, truncated, not protobuf, not ONNX, missing external data) into a StudioError
 * that names the file.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { inputError, missingFile } from '../errors.js';
import { graphOf, type OnnxGraph, type OnnxTensor } from './onnx-graph.js';
import { externalDataProblem } from './external-data.js';
import { sniffOnnx } from './sniff.js';
import { proto, toNumber, type onnx } from './proto.js';

export interface LoadedModel {
  path: string;
  bytes: Uint8Array;
  model: onnx.ModelProto;
  graph: OnnxGraph;
}

async function readModelBytes(path: string): Promise<Uint8Array> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw missingFile(path, 'file', e);
    throw inputError(path, `cannot read the model file (${code ?? String(e)})`, e);
  }
  if (st.isDirectory()) throw inputError(path, 'is a folder, not an ONNX model file');
  await sniffOnnx(path);
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw inputError(path, `cannot read the model file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
}

function decode(path: string, bytes: Uint8Array): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = proto.ModelProto.decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw inputError(path, `not a valid ONNX model: the protobuf does not decode (${why}); the file may be truncated or not ONNX at all`, e);
  }
  // Protobuf decodes many byte strings without complaint; an ONNX model must at least say
  // which IR and opset it uses and carry a graph.
  const ir = toNumber(model.irVersion);
  if (!model.graph || ir <= 0 || ir > 100) {
    throw inputError(path, 'not an ONNX model: no graph or no IR version found (is this really a .onnx file?)');
  }
  return model;
}

/** Every value a top-level node reads must come from somewhere; a damaged file breaks this first. */
function checkReferences(path: string, graph: OnnxGraph, sparse: onnx.ISparseTensorProto[]): void {
  const known = new Set<string>();
  for (const v of graph.inputs) known.add(v.name ?? '');
  for (const t of graph.initializers.keys()) known.add(t);
  for (const s of sparse) if (s.values?.name) known.add(s.values.name);
  for (const n of graph.nodes) for (const o of n.outputs) if (o) known.add(o);
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (i && !known.has(i)) {
        throw inputError(path, `node '${n.name}' (${n.opType}) reads '${i}', which no node, input or initializer provides: the graph is damaged or incomplete`);
      }
    }
  }
  for (const o of graph.outputs) {
    if (!o.name) throw inputError(path, 'an output has no name');
    if (!known.has(o.name)) throw inputError(path, `output '${o.name}' is not computed by any node of the graph`);
  }
}

function externalEntry(t: OnnxTensor, key: string): string | undefined {
  return (t.proto.externalData ?? []).find((e) => e.key === key)?.value ?? undefined;
}

/** External weights: the side file must exist, relative to the model, and be long enough. */
async function checkExternalData(path: string, graph: OnnxGraph): Promise<void> {
  const sizes = new Map<string, number | null>();
  for (const t of graph.initializers.values()) {
    if (t.proto.dataLocation !== proto.TensorProto.DataLocation.EXTERNAL) continue;
    const location = externalEntry(t, 'location');
    if (!location) throw inputError(path, `initializer '${t.name}' is stored externally but names no 'location'`);
    const file = isAbsolute(location) ? location : resolve(dirname(path), location);
    const outside = await externalDataProblem(path, location, file);
    if (outside) throw inputError(path, `external data file '${location}' for initializer '${t.name}' ${outside}`);
    if (!sizes.has(file)) {
      try {
        const st = await stat(file);
        sizes.set(file, st.isFile() ? st.size : null);
      } catch {
        sizes.set(file, null);
      }
    }
    const size = sizes.get(file);
    if (size === null || size === undefined) {
      throw inputError(path, `external data file '${location}' for initializer '${t.name}' is missing (looked for ${file})`);
    }
    const offset = Number(externalEntry(t, 'offset') ?? '0');
    const length = externalEntry(t, 'length');
    const end = offset + (length === undefined ? 0 : Number(length));
    if (!Number.isFinite(end) || end > size) {
      throw inputError(path, `external data file '${location}' for initializer '${t.name}' is too short: needs bytes up to ${end}, has ${size} (truncated copy?)`);
    }
  }
}

export async function loadModel(path: string): Promise<LoadedModel> {
  const bytes = await readModelBytes(path);
  const model = decode(path, bytes);
  const graph = graphOf(model.graph as onnx.IGraphProto);
  if (graph.outputs.length === 0) throw inputError(path, 'the model has no outputs');
  checkReferences(path, graph, model.graph?.sparseInitializer ?? []);
  await checkExternalData(path, graph);
  return { path, bytes, model, graph };
}
