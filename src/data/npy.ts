/**
 * NumPy .npy files (format versions 1, 2 and 3): header parsing, reading in
 * batches at file offsets (memory O(batch), never the whole file), whole-array
 * reads for labels and probability matrices, and writing.
 *
 * Any numeric dtype reads, little- or big-endian (byte-swapped on read), in C
 * or Fortran order (Fortran data is gathered per batch and transposed to C).
 */
import { closeSync, readSync, fstatSync, writeFileSync } from 'node:fs';
import type { TensorInfo } from '../model/types.js';
import { StudioError, inputError } from '../errors.js';
import { applyLimit, makeDataset, type InputReader } from './dataset.js';
import {
  BYTES, CastRangeError, NUMERIC_TYPES, allocate, cast, castProblem, decode, encode, isNumericType, type NumericType,
} from './elements.js';
import { openRegularSync } from '../files/regular.js';
import { PyLiteralError, parsePyLiteral } from './pyliteral.js';
import type { Dataset, DatasetOptions, TensorData } from './types.js';
import { checkArray, formatDims, product } from './validate.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * The longest header read. Versions 2 and 3 give its length in four bytes
 * (up to 4 GiB); numpy itself refuses headers over 10,000 bytes unless told
 * otherwise, and a plain array's header is under 200.
 */
export const MAX_NPY_HEADER = 1 << 20;

export interface NpyHeader {
  version: 1 | 2 | 3;
  dtype: NumericType;
  /** The dtype as the file spells it, e.g. "<f4". */
  descr: string;
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Where the data starts. */
  dataOffset: number;
  /** Bytes of data the header promises. */
  dataBytes: number;
}

export interface NpyArray {
  dtype: NumericType;
  shape: number[];
  /** C order. float16 as raw bits (Uint16Array), bool as 0/1 bytes. */
  data: TensorData;
}

const KIND: Record<string, NumericType> = {
  f2: 'float16', f4: 'float', f8: 'double',
  i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
  b1: 'bool',
};
const DESCR: Record<NumericType, string> = {
  float16: 'f2', float: 'f4', double: 'f8', int8: 'i1', int16: 'i2', int32: 'i4', int64: 'i8',
  uint8: 'u1', uint16: 'u2', uint32: 'u4', uint64: 'u8', bool: 'b1',
};
/** numpy's names, for messages a numpy user recognises. */
export const NUMPY_NAME: Record<NumericType, string> = {
  float16: 'float16', float: 'float32', double: 'float64', int8: 'int8', int16: 'int16', int32: 'int32',
  int64: 'int64', uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', bool: 'bool',
};
const SUPPORTED = Object.keys(KIND).map((k) => `${k[0] === 'b' ? '|' : '<'}${k}`).join(' ');

function parseDescr(file: string, descr: unknown): { dtype: NumericType; littleEndian: boolean; descr: string } {
  if (typeof descr !== 'string') {
    throw inputError(file, 'structured (record) dtypes are not supported; save one plain numeric array per input');
  }
  const m = /^([<>|=]?)([a-zA-Z?]\d*)$/.exec(descr);
  const code = m ? (m[2] === '?' ? 'b1' : m[2]!) : '';
  const dtype = KIND[code];
  if (!m || !dtype) {
    throw inputError(file, `dtype '${descr}' is not supported; supported dtypes: ${SUPPORTED} (and big-endian '>')`);
  }
  return { dtype, littleEndian: m[1] !== '>', descr };
}

/** Parses a header from the file's first bytes; `available` says how many bytes those are. */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw inputError(file, `not a .npy file (it does not start with the \\x93NUMPY magic); save it with numpy.save`);
  }
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw inputError(file, `.npy format version ${major}.${bytes[7]} is not supported (1, 2 and 3 are)`);
  const version = major as 1 | 2 | 3;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = version === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw inputError(file, 'the file ends inside the .npy header');
  const headerLen = version === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLen > MAX_NPY_HEADER) {
    throw inputError(file, `the .npy header says it is ${headerLen} bytes long; headers of plain numeric arrays are a few hundred (at most ${MAX_NPY_HEADER} are read)`);
  }
  const start = 8 + lenBytes;
  if (bytes.length < start + headerLen) {
    throw inputError(file, `the .npy header says it is ${headerLen} bytes long but the file ends before that`);
  }
  const raw = bytes.subarray(start, start + headerLen);
  const text = new TextDecoder(version === 3 ? 'utf-8' : 'latin1').decode(raw);
  let dict;
  try {
    dict = parsePyLiteral(text.trim());
  } catch (e) {
    if (e instanceof PyLiteralError) throw inputError(file, `the .npy header is not a valid Python dict (${e.message})`);
    throw e;
  }
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) {
    throw inputError(file, 'the .npy header is not a Python dict');
  }
  const { descr, fortran_order: fortran, shape } = dict;
  if (descr === undefined || fortran === undefined || shape === undefined) {
    throw inputError(file, "the .npy header lacks one of 'descr', 'fortran_order', 'shape'");
  }
  if (typeof fortran !== 'boolean') throw inputError(file, "the .npy header's 'fortran_order' is not True or False");
  if (!Array.isArray(shape) || !shape.every((d): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw inputError(file, "the .npy header's 'shape' is not a tuple of non-negative integers");
  }
  const parsed = parseDescr(file, descr);
  const { dtype, littleEndian } = parsed;
  const dataBytes = product(shape) * BYTES[dtype];
  if (!Number.isSafeInteger(dataBytes)) throw inputError(file, `the .npy shape ${formatDims(shape)} is impossibly large`);
  return {
    version, dtype, descr: parsed.descr, littleEndian, fortranOrder: fortran, shape: shape.slice(), dataOffset: start + headerLen, dataBytes,
  };
}

export function sizeProblem(h: NpyHeader, fileBytes: number): string | undefined {
  const have = fileBytes - h.dataOffset;
  if (have === h.dataBytes) return undefined;
  const dims = h.shape.length ? h.shape.join('×') : 'a scalar';
  return (
    `header says ${dims} ${NUMPY_NAME[h.dtype]} = ${h.dataBytes} bytes of data but the file has ${Math.max(have, 0)} ` +
    `after the ${h.dataOffset}-byte header (${have < h.dataBytes ? 'truncated? copy it again' : 'extra bytes at the end'})`
  );
}

function readHeaderFd(fd: number, file: string): NpyHeader {
  const size = fstatSync(fd).size;
  const head = new Uint8Array(Math.min(size, 12));
  readSync(fd, head, 0, head.length, 0);
  let total = head.length;
  if (total >= 12 && head[6]! >= 1 && head[6]! <= 3 && MAGIC.every((b, i) => head[i] === b)) {
    const v = new DataView(head.buffer);
    // Past the bound, only the fixed part is read: parseNpyHeader refuses the length it states.
    const len = head[6] === 1 ? v.getUint16(8, true) : v.getUint32(8, true);
    if (len <= MAX_NPY_HEADER) total = Math.min(size, (head[6] === 1 ? 10 : 12) + len);
  }
  const bytes = new Uint8Array(total);
  readSync(fd, bytes, 0, total, 0);
  const h = parseNpyHeader(bytes, file);
  const problem = sizeProblem(h, size);
  if (problem) throw inputError(file, problem);
  return h;
}

function withFd<T>(file: string, f: (fd: number) => T): T {
  const { fd } = openRegularSync(file);
  try {
    return f(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads and checks the header of an .npy file, including that the file size matches it. */
export async function readNpyHeader(path: string): Promise<NpyHeader> {
  return withFd(path, (fd) => readHeaderFd(fd, path));
}

/** For each Fortran-order linear index, the C-order linear index of the same element. */
function fortranToCIndex(shape: readonly number[]): Int32Array {
  const n = product(shape);
  const out = new Int32Array(n);
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]!; }
  const idx = new Array<number>(rank).fill(0);
  let c = 0;
  for (let f = 0; f < n; f++) {
    out[f] = c;
    // Advance the multi-index with the first axis fastest, as Fortran order does.
    for (let d = 0; d < rank; d++) {
      idx[d]!++;
      c += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      c -= strides[d]! * idx[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

function permute<T extends TensorData>(data: T, perm: Int32Array): T {
  const out = allocate(dtypeOfArray(data), data.length) as T;
  for (let f = 0; f < perm.length; f++) (out as unknown as number[])[perm[f]!] = (data as unknown as number[])[f]!;
  return out;
}

function dtypeOfArray(a: TensorData): NumericType {
  if (a instanceof Float32Array) return 'float';
  if (a instanceof Float64Array) return 'double';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof BigUint64Array) return 'uint64';
  return 'uint8';
}

/** Casts with range errors turned into messages that name the file and what was being read. */
export function castOrFail(file: string, what: string, data: TensorData, from: NumericType, to: NumericType, first = 0, perSample = 1): TensorData {
  try {
    return cast(data, from, to);
  } catch (e) {
    if (e instanceof CastRangeError) {
      throw inputError(file, `${what}: value ${e.value} at sample ${first + Math.floor(e.index / perSample)} does not fit in ${to}`);
    }
    throw e;
  }
}

/** Decodes a whole .npy held in memory (an .npz member); `as` casts the values. */
export function decodeNpy(bytes: Uint8Array, file: string, as?: NumericType): NpyArray {
  const h = parseNpyHeader(bytes, file);
  const problem = sizeProblem(h, bytes.length);
  if (problem) throw inputError(file, problem);
  const n = product(h.shape);
  let data = decode(bytes.subarray(h.dataOffset), h.dtype, h.littleEndian, n);
  if (h.fortranOrder && h.shape.length > 1) data = permute(data, fortranToCIndex(h.shape));
  return finish(file, { dtype: h.dtype, shape: h.shape, data }, as);
}

function finish(file: string, a: NpyArray, as?: NumericType): NpyArray {
  if (as === undefined || as === a.dtype) return a;
  const problem = castProblem(a.dtype, as);
  if (problem) throw inputError(file, `${NUMPY_NAME[a.dtype]} ${formatDims(a.shape)}: ${problem}`);
  return { dtype: as, shape: a.shape, data: castOrFail(file, 'array', a.data, a.dtype, as) };
}

/**
 * Reads a whole .npy array into memory, in C order, for labels and imported
 * probability arrays ([K, N, C]). `as` casts it (e.g. 'float' for probabilities).
 */
export async function readNpyArray(path: string, as?: NumericType): Promise<NpyArray> {
  return withFd(path, (fd) => {
    const h = readHeaderFd(fd, path);
    const bytes = new Uint8Array(h.dataBytes);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, Math.min(bytes.length - got, 1 << 30), h.dataOffset + got);
      if (n === 0) throw inputError(path, 'the file ended while reading');
      got += n;
    }
    let data = decode(bytes, h.dtype, h.littleEndian, product(h.shape));
    if (h.fortranOrder && h.shape.length > 1) data = permute(data, fortranToCIndex(h.shape));
    return finish(path, { dtype: h.dtype, shape: h.shape, data }, as);
  });
}

export interface NpyWriteOptions {
  fortranOrder?: boolean;
  bigEndian?: boolean;
  /** Header format version; 1 unless the header is too long for it. */
  version?: 1 | 2 | 3;
}

/** Encodes an array as .npy bytes. `data` is C order; float16 as raw bits. */
export function encodeNpy(
  dtype: NumericType, shape: readonly number[], data: TensorData | ArrayLike<number>, options: NpyWriteOptions = {},
): Uint8Array {
  if (!isNumericType(dtype)) throw new StudioError(`cannot write .npy of element type ${String(dtype)}; use one of ${NUMERIC_TYPES.join(', ')}`, { kind: 'internal' });
  const n = product(shape);
  if (data.length !== n) throw new StudioError(`cannot write .npy: shape ${formatDims(shape)} needs ${n} values, got ${data.length}`, { kind: 'internal' });
  let typed = toTyped(dtype, data);
  if (options.fortranOrder && shape.length > 1) {
    // Fortran order stores element C[perm[f]] at position f.
    const perm = fortranToCIndex(shape);
    const out = allocate(dtype, n);
    for (let f = 0; f < n; f++) (out as unknown as number[])[f] = (typed as unknown as number[])[perm[f]!]!;
    typed = out;
  }
  const head = encodeNpyHeader(dtype, shape, options);
  const body = encode(typed, dtype, !options.bigEndian);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** The header of an .npy holding `shape` of `dtype`: write it, then the C-order data, to stream a large array out. */
export function encodeNpyHeader(dtype: NumericType, shape: readonly number[], options: NpyWriteOptions = {}): Uint8Array {
  const order = BYTES[dtype] === 1 ? '|' : options.bigEndian ? '>' : '<';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${order}${DESCR[dtype]}', 'fortran_order': ${options.fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  let version = options.version ?? 1;
  if (version === 1 && dict.length + 11 > 0xffff) version = 2;
  const prefix = version === 1 ? 10 : 12;
  // numpy pads with spaces so the data starts 64-byte aligned, ending the header with a newline.
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(padded - prefix - dict.length - 1) + '\n';
  const out = new Uint8Array(padded);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  return out;
}

function toTyped(dtype: NumericType, data: TensorData | ArrayLike<number>): TensorData {
  if (ArrayBuffer.isView(data) && dtypeOfArray(data as TensorData) === (dtype === 'bool' ? 'uint8' : dtype === 'float16' ? 'uint16' : dtype)) {
    return data as TensorData;
  }
  const out = allocate(dtype, data.length);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < data.length; i++) {
    const v = (data as ArrayLike<number | bigint>)[i]!;
    (out as unknown as (number | bigint)[])[i] = big ? BigInt(v) : Number(v);
  }
  return out;
}

/** Writes an .npy file numpy.load reads. `data` is in C order whatever `fortranOrder` says. */
export function writeNpy(
  path: string, dtype: NumericType, shape: readonly number[], data: TensorData | ArrayLike<number>, options?: NpyWriteOptions,
): void {
  writeFileSync(path, encodeNpy(dtype, shape, data, options));
}

/** Reads samples of one array stored at byte `offset` of a file, C or Fortran order. */
export function npyInputReader(
  file: string, fd: number, h: NpyHeader, input: TensorInfo, sampleDims: number[],
): InputReader {
  const N = h.shape[0]!;
  const F = product(h.shape.slice(1));
  const size = BYTES[h.dtype];
  const to = input.type as NumericType;
  const perm = h.fortranOrder && h.shape.length > 1 ? fortranToCIndex(h.shape.slice(1)) : undefined;
  const what = `input "${input.name}"`;
  return {
    input, type: to, sampleDims, stored: { type: h.dtype, dims: h.shape.slice(1) },
    read(start, count) {
      if (!perm && (h.littleEndian || size === 1) && h.dtype !== 'bool') {
        // C order in this machine's byte order (numpy's default): read straight into the array the
        // model is fed, one buffer and one copy fewer a batch. Batches of 157 MB of float32 then read
        // as fast as bare readSync calls into arrays (38-44 ms against 37-51, from the page cache).
        const raw = allocate(h.dtype, count * F);
        readFully(fd, new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), 0, raw.byteLength, h.dataOffset + start * F * size, file);
        return castOrFail(file, what, raw, h.dtype, to, start, F);
      }
      const bytes = new Uint8Array(count * F * size);
      if (!perm) {
        readFully(fd, bytes, 0, bytes.length, h.dataOffset + start * F * size, file);
      } else {
        // Element (n, j) of a Fortran array sits at n + N*j: each per-sample element is a contiguous run over samples.
        const run = new Uint8Array(count * size);
        for (let j = 0; j < F; j++) {
          readFully(fd, run, 0, run.length, h.dataOffset + (j * N + start) * size, file);
          const c = perm[j]!;
          for (let s = 0; s < count; s++) {
            const to = (s * F + c) * size;
            for (let k = 0; k < size; k++) bytes[to + k] = run[s * size + k]!;
          }
        }
      }
      const raw = decode(bytes, h.dtype, h.littleEndian, count * F);
      return castOrFail(file, what, raw, h.dtype, to, start, F);
    },
  };
}

function readFully(fd: number, buf: Uint8Array, offset: number, length: number, position: number, file: string): void {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, offset + got, length - got, position + got);
    if (n === 0) throw inputError(file, 'the file ended early (was it changed while being read?)');
    got += n;
  }
}

/** Opens an .npy file as the data of a single-input model. */
export async function openNpy(path: string, inputs: TensorInfo[], options?: DatasetOptions): Promise<Dataset> {
  if (inputs.length !== 1) {
    throw inputError(
      path,
      `an .npy file holds one array but the model has ${inputs.length} inputs (${inputs.map((i) => `"${i.name}"`).join(', ')}); ` +
        'put one array per input name in an .npz file (numpy.savez)',
    );
  }
  const input = inputs[0]!;
  const { fd } = openRegularSync(path);
  try {
    const h = readHeaderFd(fd, path);
    const sampleDims = checkArray(path, input, h.dtype, h.shape);
    const samples = applyLimit(path, h.shape[0]!, options);
    return makeDataset({
      path, format: 'npy', samples, allowNonFinite: options?.allowNonFinite === true,
      readers: [npyInputReader(path, fd, h, input, sampleDims)],
      // Opening it again reads the header alone: samples are read at file offsets.
      reopen: { inputs, options: options ?? {} },
      close: once(() => closeSync(fd)),
    });
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) { done = true; f(); }
  };
}
