/** Conversions between the studio's tensors and onnxruntime's. */
import * as ort from 'onnxruntime-node';
import type { Batch } from '../data/types.js';
import type { ElementType } from '../model/types.js';
import { StudioError } from '../errors.js';
import { halfToFloat } from '../data/elements.js';

const ORT_TYPE: Partial<Record<ElementType, ort.Tensor.Type>> = {
  float: 'float32',
  double: 'float64',
  float16: 'float16',
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  uint8: 'uint8',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
  bool: 'bool',
};

export function toFeeds(batch: Batch): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(batch)) {
    const type = ORT_TYPE[t.type];
    if (!type) throw new StudioError(`input "${name}": element type ${t.type} is not supported for inference`, { kind: 'input' });
    // onnxruntime takes bool tensors as Uint8Array.
    feeds[name] = new ort.Tensor(type, t.data as never, t.dims);
  }
  return feeds;
}

/** Reads an output as float numbers whatever its element type (float32 in nearly every model). */
export function outputAsFloat(t: ort.Tensor, name: string): Float32Array | Float64Array {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  if (d instanceof Uint16Array && t.type === 'float16') {
    // float16 outputs: widen once per batch; exit heads are small.
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = halfToFloat(d[i]!);
    return out;
  }
  throw new StudioError(`output "${name}" has element type ${t.type}; exits must be float scores`, { kind: 'internal' });
}
