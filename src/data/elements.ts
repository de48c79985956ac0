/**
 * Element types as the data readers see them: byte sizes, typed arrays, decoding
 * raw bytes of either endianness, and the numeric casts allowed into a model input.
 */
import type { ElementType } from '../model/types.js';
import type { TensorData } from './types.js';

/** Element types a dataset can hold (numbers and booleans; no strings). */
export type NumericType = Exclude<ElementType, 'string' | 'unknown' | 'bfloat16'>;

export const NUMERIC_TYPES: readonly NumericType[] = [
  'float16', 'float', 'double', 'int8', 'int16', 'int32', 'int64',
  'uint8', 'uint16', 'uint32', 'uint64', 'bool',
];

export function isNumericType(t: string): t is NumericType {
  return (NUMERIC_TYPES as readonly string[]).includes(t);
}

export const BYTES: Record<NumericType, number> = {
  float16: 2, float: 4, double: 8, int8: 1, int16: 2, int32: 4, int64: 8,
  uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1,
};

/** float16 is held as its raw bits (Uint16Array) and bool as 0/1 bytes, the way onnxruntime takes them. */
export function allocate(type: NumericType, length: number): TensorData {
  switch (type) {
    case 'float16': return new Uint16Array(length);
    case 'float': return new Float32Array(length);
    case 'double': return new Float64Array(length);
    case 'int8': return new Int8Array(length);
    case 'int16': return new Int16Array(length);
    case 'int32': return new Int32Array(length);
    case 'int64': return new BigInt64Array(length);
    case 'uint8': case 'bool': return new Uint8Array(length);
    case 'uint16': return new Uint16Array(length);
    case 'uint32': return new Uint32Array(length);
    case 'uint64': return new BigUint64Array(length);
  }
}

export function isFloatType(t: NumericType): boolean {
  return t === 'float' || t === 'double' || t === 'float16';
}

export function isIntType(t: NumericType): boolean {
  return !isFloatType(t) && t !== 'bool';
}

const RANGE: Partial<Record<NumericType, [number, number]>> = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
  uint8: [0, 255], uint16: [0, 65535], uint32: [0, 4294967295], bool: [0, 1],
};
const BIG_RANGE: Partial<Record<NumericType, [bigint, bigint]>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n], uint64: [0n, 2n ** 64n - 1n],
};

/**
 * Decodes `count` elements from raw bytes into a fresh typed array. Copies, so the
 * result is aligned whatever the byte offset, and byte-swaps big-endian data.
 */
export function decode(bytes: Uint8Array, type: NumericType, littleEndian: boolean, count: number): TensorData {
  const size = BYTES[type];
  const out = allocate(type, count);
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, count * size);
  outBytes.set(bytes.subarray(0, count * size));
  // Typed arrays use the platform's order, little-endian on every machine Node runs on.
  if (!littleEndian && size > 1) swapBytes(outBytes, size);
  if (type === 'bool') {
    for (let i = 0; i < count; i++) if (outBytes[i]! > 1) outBytes[i] = 1;
  }
  return out;
}

/** The raw bytes of a typed array in little- or big-endian order (a copy when swapping). */
export function encode(data: TensorData, type: NumericType, littleEndian: boolean): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const size = BYTES[type];
  if (littleEndian || size === 1) return bytes;
  const out = new Uint8Array(bytes);
  swapBytes(out, size);
  return out;
}

/** Reverses the bytes of each `size`-byte element in place. */
function swapBytes(b: Uint8Array, size: number): void {
  for (let i = 0; i < b.length; i += size) {
    for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
      const t = b[lo]!;
      b[lo] = b[hi]!;
      b[hi] = t;
    }
  }
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a number to the nearest float16 (ties to even), as its bits. */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** The values of an array as plain numbers (float16 bits decoded; 64-bit integers may round). */
export function toNumbers(data: TensorData, type: NumericType): Float64Array {
  const out = new Float64Array(data.length);
  if (type === 'float16') {
    for (let i = 0; i < data.length; i++) out[i] = halfToFloat(data[i] as number);
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
  } else {
    out.set(data);
  }
  return out;
}

/**
 * Why a source type cannot feed a target type, or undefined when it can.
 * The rule: any number may feed a float input (the usual uint8 pixels or int
 * features into a float model); integers and booleans may feed an integer input
 * (each value is range-checked when cast); a float never silently becomes an
 * integer; booleans come only from booleans or integers that are 0 or 1.
 */
export function castProblem(from: NumericType, to: ElementType): string | undefined {
  if (!isNumericType(to)) return `element type ${to} is not supported for data inputs`;
  if (isFloatType(to)) return undefined;
  if (isFloatType(from)) return `${from} values cannot be cast to ${to} without losing their fractions`;
  return undefined;
}

/** Thrown by `cast` when a value does not fit the target; readers turn it into a message naming the file and input. */
export class CastRangeError extends Error {
  constructor(readonly index: number, readonly value: number | bigint, readonly to: NumericType) {
    super(`value ${value} does not fit in ${to}`);
  }
}

/**
 * Casts an array to another element type, checking that integers fit. Call
 * castProblem first: this assumes the cast is allowed.
 */
export function cast(src: TensorData, from: NumericType, to: NumericType): TensorData {
  if (from === to) return src;
  const n = src.length;
  const out = allocate(to, n);
  if (to === 'float16') {
    const nums = toNumbers(src, from);
    for (let i = 0; i < n; i++) (out as Uint16Array)[i] = floatToHalf(nums[i]!);
    return out;
  }
  if (from === 'float16') {
    (out as Float32Array | Float64Array).set(toNumbers(src, from));
    return out;
  }
  const srcBig = src instanceof BigInt64Array || src instanceof BigUint64Array;
  const outBig = out instanceof BigInt64Array || out instanceof BigUint64Array;
  const range = RANGE[to];
  const bigRange = BIG_RANGE[to];
  if (outBig) {
    const o = out as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) {
      const v = srcBig ? (src[i] as bigint) : BigInt(src[i] as number);
      if (v < bigRange![0] || v > bigRange![1]) throw new CastRangeError(i, v, to);
      o[i] = v;
    }
    return out;
  }
  if (srcBig) {
    const o = out as Exclude<TensorData, BigInt64Array | BigUint64Array>;
    for (let i = 0; i < n; i++) {
      const v = src[i] as bigint;
      if (range && (v < BigInt(range[0]) || v > BigInt(range[1]))) throw new CastRangeError(i, v, to);
      o[i] = Number(v);
    }
    return out;
  }
  const s = src as Exclude<TensorData, BigInt64Array | BigUint64Array>;
  if (range) {
    for (let i = 0; i < n; i++) {
      const v = s[i]!;
      if (v < range[0] || v > range[1]) throw new CastRangeError(i, v, to);
    }
  }
  (out as Exclude<TensorData, BigInt64Array | BigUint64Array>).set(s);
  return out;
}

/** Casts plain numbers (CSV, JSON) into a typed array; integers must be whole and in range. */
export function fromNumbers(values: ArrayLike<number>, to: NumericType): TensorData {
  const src = values instanceof Float64Array ? values : Float64Array.from(values);
  if (isIntType(to) || to === 'bool') {
    for (let i = 0; i < src.length; i++) if (!Number.isInteger(src[i])) throw new CastRangeError(i, src[i]!, to);
  }
  if (to === 'int64' || to === 'uint64') {
    for (let i = 0; i < src.length; i++) {
      if (!Number.isSafeInteger(src[i])) throw new CastRangeError(i, src[i]!, to);
    }
  }
  return cast(src, 'double', to);
}
