/**
 * onnx-proto is CommonJS: its namespace arrives as the default export's `onnx`.
 * `proto` is the runtime value (encode/decode, enums); `onnx` the matching types.
 */
import onnxProto from 'onnx-proto';

export type { onnx } from 'onnx-proto';
export const proto = onnxProto.onnx;

/** protobufjs gives int64 fields as number or Long; model dims and offsets fit a double. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}
