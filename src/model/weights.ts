/**
 * Weights stored outside the .onnx file (ONNX "external data"): where they are, how a model cut
 * from another (a stage, a pruned prefix) keeps pointing at them instead of copying them, and
 * how a model is made self-contained again when it must stand alone (a bundle's stage file).
 *
 * A BERT-base model holds about 440 MB of weights. Copying them into every model cut from it
 * (and onnxruntime then loading each copy) put several copies in memory at once; a cut model
 * that names the same external file costs nothing until onnxruntime reads its own tensors.
 */
import { createHash } from 'node:crypto';
import { open, writeFile, type FileHandle } from 'node:fs/promises';
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

/** The session option telling onnxruntime where a model given as bytes finds its external weights. */
export function weightsFolder(weightsDir: string | undefined): { extra?: { session: { model_external_initializers_file_folder_path: string } } } {
  return weightsDir ? { extra: { session: { model_external_initializers_file_folder_path: weightsDir } } } : {};
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

/** A written file's identity, as a manifest records it. */
export interface WrittenFile {
  sha256: string;
  bytes: number;
}

/** Offsets in a side file are aligned so onnxruntime can map tensors straight from the page cache. */
const ALIGN = 4096;

/**
 * Writes an encoded model to `path`, standing alone: every tensor's data is read in (from
 * `weightsDir` when the model names external files) and written either into the .onnx file or,
 * when `sideFile` is given, tensors of at least `minBytes` into that file beside it (named
 * relative to `path`, offsets aligned). One tensor is in memory at a time, and both files are
 * hashed as they are written.
 *
 * Why a side file: onnxruntime reads external weights into its own tensors once, but loading a
 * .onnx file with weights inline costs it more memory (on a BERT-base model cut into six stages,
 * 667 MB held against 422 MB for the same weights as external data).
 */
export async function writeStandalone(
  bytes: Uint8Array,
  weightsDir: string | undefined,
  path: string,
  sideFile?: { name: string; minBytes: number },
): Promise<{ model: WrittenFile; data?: WrittenFile }> {
  const model = proto.ModelProto.decode(bytes);
  const graph = model.graph ?? {};
  const reader = new ExternalReader(weightsDir ?? dirname(path), path);
  const dataHash = createHash('sha256');
  let data: FileHandle | undefined;
  let offset = 0;
  try {
    const initializer: onnx.ITensorProto[] = [];
    for (const t of graph.initializer ?? []) {
      const own = await inlined(t, reader);
      const raw = own.rawData;
      if (!sideFile || !raw || raw.length < sideFile.minBytes) {
        initializer.push(own);
        continue;
      }
      data ??= await open(join(dirname(path), sideFile.name), 'w');
      const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
      if (pad) {
        const zeros = new Uint8Array(pad);
        await data.write(zeros);
        dataHash.update(zeros);
        offset += pad;
      }
      await data.write(raw);
      dataHash.update(raw);
      initializer.push({
        ...own,
        rawData: new Uint8Array(0),
        dataLocation: proto.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: sideFile.name },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(raw.length) },
        ],
      });
      offset += raw.length;
    }
    const out = proto.ModelProto.encode(proto.ModelProto.create({ ...model, graph: { ...graph, initializer } })).finish();
    await writeFile(path, out);
    return {
      model: { sha256: createHash('sha256').update(out).digest('hex'), bytes: out.length },
      ...(data ? { data: { sha256: dataHash.digest('hex'), bytes: offset } } : {}),
    };
  } finally {
    await data?.close();
    await reader.close();
  }
}

/** Bytes of tensor data an encoded model holds or names (inline and external). */
export function weightBytes(bytes: Uint8Array): number {
  let total = 0;
  for (const t of proto.ModelProto.decode(bytes).graph?.initializer ?? []) total += externalRef(t)?.length ?? t.rawData?.length ?? 0;
  return total;
}
