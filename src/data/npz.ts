/**
 * NumPy .npz files: a zip of .npy members (numpy.savez stores them,
 * numpy.savez_compressed deflates them), one array per model input, matched by
 * name (`x.npy` feeds input `x`).
 *
 * Nothing is inflated on trust: the archive's directory is checked first
 * (zip.ts), then each needed member's .npy header is read from its first
 * bytes and checked against the size the archive declares for it and against
 * the model's input, and only then is data read. A stored member is read in
 * batches at its offset in the file, like an .npy (memory O(batch)); a
 * deflated one can only be inflated whole, so it is held in memory, up to a
 * bound (inflateLimit) that is checked before a byte is inflated.
 */
import { closeSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { zipSync } from 'fflate';
import type { TensorInfo } from '../model/types.js';
import { excerpt, inputError, nameList } from '../errors.js';
import { openRegularSync } from '../files/regular.js';
import { applyLimit, makeDataset, type InputReader } from './dataset.js';
import type { NumericType } from './elements.js';
import {
  MAX_NPY_HEADER, NUMPY_NAME, castOrFail, decodeNpy, encodeNpy, npyInputReader, parseNpyHeader, sizeProblem,
  type NpyArray, type NpyHeader, type NpyWriteOptions,
} from './npy.js';
import { labelsFromArray } from './labels.js';
import type { Dataset, DatasetOptions, TensorData } from './types.js';
import { checkArray, checkMissing, formatDims, product } from './validate.js';
import { dataOffset, readMember, readPrefix, readZip, type ZipArchive, type ZipMember } from './zip.js';

function arrayName(member: string): string {
  return member.endsWith('.npy') ? member.slice(0, -4) : member;
}

/**
 * The most a compressed .npz may inflate to in memory, all members read
 * together: a quarter of this machine's memory, at most 4 GiB.
 */
export function inflateLimit(): number {
  return Math.min(4 * 2 ** 30, Math.floor(totalmem() / 4));
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** An open archive and its arrays by name; close() releases the file. */
interface Npz {
  path: string;
  zip: ZipArchive;
  arrays: Map<string, ZipMember>;
  close(): void;
}

function openArchive(path: string): Npz {
  const { fd, size } = openRegularSync(path);
  try {
    const zip = readZip(path, fd, size);
    const arrays = new Map<string, ZipMember>();
    for (const m of zip.members) if (!m.name.endsWith('/') && !arrays.has(arrayName(m.name))) arrays.set(arrayName(m.name), m);
    let closed = false;
    return { path, zip, arrays, close: () => { if (!closed) { closed = true; closeSync(fd); } } };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function withArchive<T>(path: string, f: (npz: Npz) => T): T {
  const npz = openArchive(path);
  try {
    return f(npz);
  } finally {
    npz.close();
  }
}

async function withArchiveAsync<T>(path: string, f: (npz: Npz) => Promise<T>): Promise<T> {
  const npz = openArchive(path);
  try {
    return await f(npz);
  } finally {
    npz.close();
  }
}

/** A member's .npy header, read from its first bytes and checked against the size its entry declares. */
function memberHeader(npz: Npz, m: ZipMember): NpyHeader {
  const label = `${npz.path}:${m.name}`;
  const head = readPrefix(npz.zip, m, 12);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const stated = head.length < 12 ? 0 : head[6] === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
  const bytes = stated > head.length && stated <= 12 + MAX_NPY_HEADER ? readPrefix(npz.zip, m, stated) : head;
  const h = parseNpyHeader(bytes, label);
  const problem = sizeProblem(h, m.size);
  if (problem) throw inputError(label, problem);
  return h;
}

/** The whole array of a member whose header was checked; a deflated one only within `budget` bytes. */
async function readArray(npz: Npz, m: ZipMember, budget: { left: number }): Promise<NpyArray> {
  if (m.method === 8) {
    if (m.size > budget.left) {
      throw inputError(
        `${npz.path}:${m.name}`,
        `inflates to ${gib(m.size)}; a compressed .npz is held in memory whole and at most ${gib(inflateLimit())} of it is read on this machine ` +
          '(a quarter of its memory); save it with numpy.savez (uncompressed, read in batches) or as .npy',
      );
    }
    budget.left -= m.size;
  }
  return decodeNpy(await readMember(npz.zip, m), `${npz.path}:${m.name}`);
}

function member(npz: Npz, name: string): ZipMember {
  const m = npz.arrays.get(name);
  if (!m) throw inputError(npz.path, `no array ${excerpt(name, 64)}; the file has ${nameList([...npz.arrays.keys()])}`);
  return m;
}

/** The names of the arrays in an .npz file, from its directory alone. */
export function npzArrayNames(path: string): string[] {
  return withArchive(path, (npz) => [...npz.arrays.keys()]);
}

/** dtype and shape of arrays of an .npz (every one, or those named), from their headers alone: nothing is inflated past them. */
export function npzShapes(path: string, only?: string[]): Record<string, { dtype: NumericType; shape: number[] }> {
  return withArchive(path, (npz) => {
    const out: Record<string, { dtype: NumericType; shape: number[] }> = {};
    for (const name of only ?? npz.arrays.keys()) {
      const h = memberHeader(npz, member(npz, name));
      out[name] = { dtype: h.dtype, shape: h.shape };
    }
    return out;
  });
}

/** Reads every array (or those named) of an .npz file into memory, in C order, after checking every header. */
export async function readNpz(path: string, only?: string[]): Promise<Record<string, NpyArray>> {
  return withArchiveAsync(path, async (npz) => {
    const names = (only ?? [...npz.arrays.keys()]).filter((n) => npz.arrays.has(n));
    const members = names.map((n) => member(npz, n));
    members.forEach((m) => memberHeader(npz, m));
    const budget = { left: inflateLimit() };
    const out: Record<string, NpyArray> = {};
    for (const [i, n] of names.entries()) out[n] = await readArray(npz, members[i]!, budget);
    return out;
  });
}

/** The raw bytes of one member (a JSON description, say), or undefined without one; at most `maxBytes`. */
export async function readNpzMember(path: string, name: string, maxBytes: number): Promise<Uint8Array | undefined> {
  return withArchiveAsync(path, async (npz) => {
    const m = npz.zip.members.find((x) => x.name === name);
    if (!m) return undefined;
    if (m.size > maxBytes) throw inputError(`${path}:${name}`, `holds ${m.size} bytes; at most ${maxBytes} are read`);
    return readMember(npz.zip, m);
  });
}

export interface NpzEntry {
  dtype: NumericType;
  shape: number[];
  data: TensorData | ArrayLike<number>;
  options?: NpyWriteOptions;
}

/** Writes an .npz numpy.load reads; `compress` deflates the members as savez_compressed does. */
export function writeNpz(path: string, arrays: Record<string, NpzEntry>, compress = false): void {
  const files: Record<string, Uint8Array> = {};
  for (const [name, a] of Object.entries(arrays)) files[`${name}.npy`] = encodeNpy(a.dtype, a.shape, a.data, a.options);
  writeFileSync(path, zipSync(files, { level: compress ? 6 : 0 }));
}

export async function openNpz(path: string, inputs: TensorInfo[], options?: DatasetOptions): Promise<Dataset> {
  const npz = openArchive(path);
  try {
    const names = [...npz.arrays.keys()];
    const label = options?.labelColumn;
    // A single-input model takes a lone array whatever it is called.
    const lone = inputs.length === 1 && names.length === 1 && names[0] !== label;
    const nameFor = new Map<string, string>(inputs.map((i) => [i.name, lone ? names[0]! : i.name]));
    if (!lone) checkMissing(path, inputs, names);
    if (label !== undefined && !names.includes(label)) {
      throw inputError(path, `no label array ${excerpt(label, 64)}; the file has ${nameList(names)}`);
    }

    // Every header against the model before any data is read.
    let total: number | undefined;
    let first = '';
    const planned = inputs.map((input) => {
      const name = nameFor.get(input.name)!;
      const m = member(npz, name);
      const h = memberHeader(npz, m);
      const file = `${path}:${m.name}`;
      const sampleDims = checkArray(file, input, h.dtype, h.shape);
      const n = h.shape[0]!;
      if (total === undefined) { total = n; first = name; }
      else if (n !== total) throw inputError(path, `array "${name}" has ${n} samples but "${first}" has ${total}`);
      return { input, name, m, h, file, sampleDims };
    });
    const labelMember = label !== undefined ? member(npz, label) : undefined;
    const labelHeader = labelMember ? memberHeader(npz, labelMember) : undefined;
    if (labelHeader && labelHeader.shape[0] !== total) {
      throw inputError(path, `label array "${label}" holds ${formatDims(labelHeader.shape)} ${NUMPY_NAME[labelHeader.dtype]} but the inputs have ${total} samples`);
    }

    const budget = { left: inflateLimit() };
    const readers: InputReader[] = [];
    for (const { input, m, h, file, sampleDims } of planned) {
      if (m.method === 0) {
        // Stored: read in batches at the member's place in the file, like an .npy.
        readers.push(npyInputReader(file, npz.zip.fd, { ...h, dataOffset: dataOffset(npz.zip, m) + h.dataOffset }, input, sampleDims));
        continue;
      }
      const a = await readArray(npz, m, budget);
      const F = product(a.shape.slice(1));
      const to = input.type as NumericType;
      readers.push({
        input, type: to, sampleDims, stored: { type: a.dtype, dims: a.shape.slice(1) },
        read: (start: number, count: number) => {
          const rows = a.data.subarray(start * F, (start + count) * F);
          // A copy, not a view (a cast makes one anyway): a batch that owns its buffer moves to the inference
          // worker as is, where a view would be cloned with the whole member behind it (31 MB per batch for the
          // embedded sample).
          return a.dtype === to ? rows.slice() : castOrFail(file, `input "${input.name}"`, rows, a.dtype, to, start, F);
        },
      });
    }
    let labels: Int32Array | undefined;
    if (labelMember) {
      labels = labelsFromArray(`${path}:${labelMember.name}`, await readArray(npz, labelMember, budget));
      if (labels.length !== total) {
        throw inputError(path, `label array "${label}" has ${labels.length} labels but the inputs have ${total} samples`);
      }
    }
    const samples = applyLimit(path, total ?? 0, options);
    const stored = planned.some((p) => p.m.method === 0);
    if (!stored) npz.close();
    return makeDataset({
      path, format: 'npz', samples, readers, allowNonFinite: options?.allowNonFinite === true, close: npz.close,
      ...(labels ? { labels } : {}),
    });
  } catch (e) {
    npz.close();
    throw e;
  }
}
