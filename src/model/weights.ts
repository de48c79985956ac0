/**
 * Weights stored outside the .onnx file (ONNX "external data"): where they are, how a model cut
 * from another (a stage, a pruned prefix) keeps pointing at them instead of copying them, and
 * how a model is made self-contained again when it must stand alone (a bundle's stage file).
 *
 * A BERT-base model holds about 440 MB of weights. Copying them into every model cut from it
 * (and onnxruntime then loading each copy) put several copies in memory at once; a cut model
 * that names the same external file costs nothing until onnxruntime reads its own tensors.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { inputError } from '../errors.js';
import { proto, type onnx } from './proto.js';

/** Where a tensor's bytes are in its external file. */
export interface ExternalRef {
  /** The file name as the model writes it (relative to the model's folder). */
  location: string;
  offset: number;
  /** Bytes to read; undefined: to the end of the file. */
  length: number | undefined;
}

/** The tensor's external reference, or undefined when its data is inline. */
export function externalRef(t: onnx.ITensorProto): ExternalRef | undefined {
  if (t.dataLocation !== proto.TensorProto.DataLocation.EXTERNAL) return undefined;
  const entry = (k: string): string | undefined => (t.externalData ?? []).find((e) => e.key === k)?.value ?? undefined;
  const length = entry('length');
  return { location: entry('location') ?? '', offset: Number(entry('offset') ?? '0'), length: length === undefined ? undefined : Number(length) };
}

/**
 * True when onnxruntime can resolve the reference from the model's folder: a relative path that
 * stays inside it. onnxruntime refuses absolute paths and paths leaving the folder for models it
 * is given as bytes; such tensors are read in instead.
 */
export function resolvableFromFolder(ref: ExternalRef): boolean {
  if (!ref.location || isAbsolute(ref.location)) return false;
  const n = normalize(ref.location);
  return n !== '..' && !n.startsWith(`..${sep}`);
}

/**
 * Reads external tensors by position, keeping one handle per file: only the bytes of the tensors
 * asked for come into memory, never the whole side file.
 */
export class ExternalReader {
  private readonly handles = new Map<string, FileHandle>();

  /**
   * @param folder where relative locations are resolved from (the model's folder)
   * @param owner the file named in errors (the model)
   */
  constructor(
    private readonly folder: string,
    private readonly owner: string,
  ) {}

  async read(t: onnx.ITensorProto, ref: ExternalRef): Promise<Uint8Array> {
    const file = isAbsolute(ref.location) ? ref.location : join(this.folder, ref.location);
    let h = this.handles.get(file);
    try {
      if (!h) {
        h = await open(file, 'r');
        this.handles.set(file, h);
      }
      const length = ref.length ?? (await h.stat()).size - ref.offset;
      const out = new Uint8Array(length);
      const { bytesRead } = await h.read(out, 0, length, ref.offset);
      if (bytesRead !== length) throw new Error(`only ${bytesRead} of ${length} bytes at offset ${ref.offset}`);
      return out;
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `cannot be read (${e instanceof Error ? e.message : String(e)})`;
      throw inputError(this.owner, `external data file '${ref.location}' for initializer '${t.name}' ${why}`, e);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.handles.values()].map((h) => h.close()));
    this.handles.clear();
  }
}

/** The tensor with its data inline (read from its external file when it has one). */
export async function inlined(t: onnx.ITensorProto, reader: ExternalReader): Promise<onnx.ITensorProto> {
  const ref = externalRef(t);
  if (!ref) return t;
  return { ...t, dataLocation: proto.TensorProto.DataLocation.DEFAULT, externalData: [], rawData: await reader.read(t, ref) };
}

/**
 * The initializers of a model cut from `modelPath`: kept as references where onnxruntime can
 * resolve them from the model's folder (`weightsDir` is then that folder, to hand to the session),
 * read in otherwise.
 */
export async function cutInitializers(modelPath: string, tensors: onnx.ITensorProto[]): Promise<{ initializer: onnx.ITensorProto[]; weightsDir?: string }> {
  const reader = new ExternalReader(dirname(modelPath), modelPath);
  let referenced = false;
  try {
    const initializer: onnx.ITensorProto[] = [];
    for (const t of tensors) {
      const ref = externalRef(t);
      if (ref && resolvableFromFolder(ref)) referenced = true;
      initializer.push(ref && !resolvableFromFolder(ref) ? await inlined(t, reader) : t);
    }
    return { initializer, ...(referenced ? { weightsDir: dirname(modelPath) } : {}) };
  } finally {
    await reader.close();
  }
}

/**
 * An encoded model with every external tensor read in from `weightsDir`: a file that stands
 * alone. Returns the bytes unchanged when nothing is external.
 */
export async function inlineWeights(bytes: Uint8Array, weightsDir: string | undefined): Promise<Uint8Array> {
  if (!weightsDir) return bytes;
  const model = proto.ModelProto.decode(bytes);
  const graph = model.graph ?? {};
  if (!(graph.initializer ?? []).some((t) => externalRef(t))) return bytes;
  const reader = new ExternalReader(weightsDir, weightsDir);
  try {
    const initializer: onnx.ITensorProto[] = [];
    for (const t of graph.initializer ?? []) initializer.push(await inlined(t, reader));
    return proto.ModelProto.encode(proto.ModelProto.create({ ...model, graph: { ...graph, initializer } })).finish();
  } finally {
    await reader.close();
  }
}
