/**
 * A first look at a file given as an ONNX model, before it is read whole. An
 * ONNX file is one protobuf ModelProto: a sequence of fields, each a tag (a
 * field number and a wire type) and a value. Walking the top-level fields
 * reads a few bytes per field, skipping each value by its length, so a file
 * that is not a model (gigabytes of zeros, an archive, a video) is refused in
 * milliseconds instead of after reading and decoding all of it.
 */
import type { FileHandle } from 'node:fs/promises';
import { inputError } from '../errors.js';
import { openRegular } from '../files/regular.js';

/** Protobuf's limit on one message: a larger model keeps its weights in external data files. */
export const MAX_ONNX_BYTES = 2 ** 31 - 1;

/** ModelProto's graph field: a model without one is not a model. */
const GRAPH_FIELD = 7;
/** A file with more top-level fields than this is not a model (ONNX defines about a dozen). */
const MAX_FIELDS = 100_000;

async function varint(fh: FileHandle, at: number): Promise<{ value: number; next: number } | undefined> {
  const buf = Buffer.alloc(10);
  const { bytesRead } = await fh.read(buf, 0, 10, at);
  let value = 0;
  for (let i = 0; i < bytesRead; i++) {
    value += (buf[i]! & 0x7f) * 2 ** (7 * i);
    if ((buf[i]! & 0x80) === 0) return { value, next: at + i + 1 };
  }
  return undefined;
}

/** Refuses a file that cannot be an ONNX model, by its size and the structure of its top-level fields. */
export async function sniffOnnx(path: string): Promise<void> {
  const { handle, size } = await openRegular(path, 'model file');
  const notOnnx = (why: string) => inputError(path, `not an ONNX model: ${why} (is this really a .onnx file?)`);
  try {
    if (size === 0) throw inputError(path, 'file is empty (0 bytes), not an ONNX model');
    if (size > MAX_ONNX_BYTES) {
      throw inputError(path, `is ${(size / 2 ** 30).toFixed(1)} GiB; one ONNX file holds at most 2 GiB (protobuf's limit), so a larger model keeps its weights in external data files`);
    }
    let at = 0;
    let graph = false;
    for (let fields = 0; at < size; fields++) {
      if (fields >= MAX_FIELDS) throw notOnnx(`more than ${MAX_FIELDS} top-level fields`);
      const tag = await varint(handle, at);
      if (!tag) throw notOnnx(`no field header at byte ${at}`);
      const field = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      if (field === 0) throw notOnnx(`byte ${at} does not start a protobuf field`);
      if (field === GRAPH_FIELD && wire === 2) graph = true;
      if (wire === 0) {
        const v = await varint(handle, tag.next);
        if (!v) throw notOnnx(`a number at byte ${tag.next} does not end`);
        at = v.next;
      } else if (wire === 1) at = tag.next + 8;
      else if (wire === 5) at = tag.next + 4;
      else if (wire === 2) {
        const len = await varint(handle, tag.next);
        if (!len) throw notOnnx(`a length at byte ${tag.next} does not end`);
        at = len.next + len.value;
      } else throw notOnnx(`byte ${at} holds a protobuf wire type (${wire}) no ONNX model uses`);
      if (at > size) throw notOnnx(`a field runs past the end of the file (truncated?)`);
    }
    if (!graph) throw notOnnx('it holds no graph');
  } finally {
    await handle.close();
  }
}
