/**
 * NumPy .npz files: a zip of .npy members (numpy.savez stores them,
 * numpy.savez_compressed deflates them), one array per model input, matched by
 * name (`x.npy` feeds input `x`).
 *
 * A zip member can only be inflated whole, so each needed member is held in
 * memory once it is opened; batches are still cut from it lazily, one at a
 * time, each into a buffer of its own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { unzipSync, zipSync, type Unzipped } from 'fflate';
import type { TensorInfo } from '../model/types.js';
import { inputError } from '../errors.js';
import { applyLimit, makeDataset, type InputReader } from './dataset.js';
import type { NumericType } from './elements.js';
import { castOrFail, decodeNpy, encodeNpy, type NpyArray, type NpyWriteOptions } from './npy.js';
import { labelsFromArray } from './labels.js';
import type { Dataset, DatasetOptions, TensorData } from './types.js';
import { checkArray, checkMissing, product } from './validate.js';

function arrayName(member: string): string {
  return member.endsWith('.npy') ? member.slice(0, -4) : member;
}

function readWhole(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw inputError(path, code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? String(e)})`, e);
  }
}

function unzip(path: string, bytes: Uint8Array, filter: (name: string) => boolean): Unzipped {
  try {
    return unzipSync(bytes, { filter: (f) => filter(f.name) });
  } catch (e) {
    throw inputError(path, `not a readable .npz (zip) file: ${(e as Error).message}; write it with numpy.savez or numpy.savez_compressed`, e);
  }
}

/** The names of the arrays in an .npz file, without reading them. */
export function npzArrayNames(path: string, bytes: Uint8Array = readWhole(path)): string[] {
  const names: string[] = [];
  unzip(path, bytes, (name) => {
    if (!name.endsWith('/')) names.push(arrayName(name));
    return false;
  });
  return names;
}

/** Reads every array (or those named) of an .npz file into memory, in C order. */
export async function readNpz(path: string, only?: string[]): Promise<Record<string, NpyArray>> {
  const files = unzip(path, readWhole(path), (name) => !only || only.includes(arrayName(name)));
  const out: Record<string, NpyArray> = {};
  for (const [member, bytes] of Object.entries(files)) {
    if (member.endsWith('/')) continue;
    out[arrayName(member)] = decodeNpy(bytes, `${path}:${member}`);
  }
  return out;
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
  const bytes = readWhole(path);
  const names = npzArrayNames(path, bytes);
  // A single-input model takes a lone array whatever it is called.
  const lone = inputs.length === 1 && names.length === 1 && names[0] !== options?.labelColumn;
  const nameFor = new Map<string, string>(inputs.map((i) => [i.name, lone ? names[0]! : i.name]));
  if (!lone) checkMissing(path, inputs, names);
  const wanted = [...nameFor.values()];
  const label = options?.labelColumn;
  if (label !== undefined && !names.includes(label)) {
    throw inputError(path, `no label array "${label}"; the file has ${names.map((n) => `"${n}"`).join(', ')}`);
  }
  const files = unzip(path, bytes, (member) => wanted.includes(arrayName(member)) || arrayName(member) === label);
  const arrays = new Map<string, NpyArray>();
  for (const [member, data] of Object.entries(files)) arrays.set(arrayName(member), decodeNpy(data, `${path}:${member}`));

  let total: number | undefined;
  let first = '';
  const readers: InputReader[] = inputs.map((input) => {
    const name = nameFor.get(input.name)!;
    const a = arrays.get(name)!;
    const file = `${path}:${name}.npy`;
    const sampleDims = checkArray(file, input, a.dtype, a.shape);
    const n = a.shape[0]!;
    if (total === undefined) { total = n; first = name; }
    else if (n !== total) throw inputError(path, `array "${name}" has ${n} samples but "${first}" has ${total}`);
    const F = product(a.shape.slice(1));
    const to = input.type as NumericType;
    return {
      input, type: to, sampleDims, stored: { type: a.dtype, dims: a.shape.slice(1) },
      read: (start, count) => {
        const rows = a.data.subarray(start * F, (start + count) * F);
        // A copy, not a view (a cast makes one anyway): a batch that owns its buffer moves to the inference
        // worker as is, where a view would be cloned with the whole member behind it (31 MB per batch for the
        // embedded sample).
        return a.dtype === to ? rows.slice() : castOrFail(file, `input "${input.name}"`, rows, a.dtype, to, start, F);
      },
    };
  });
  let labels: Int32Array | undefined;
  if (label !== undefined) {
    labels = labelsFromArray(`${path}:${label}.npy`, arrays.get(label)!);
    if (labels.length !== total) {
      throw inputError(path, `label array "${label}" has ${labels.length} labels but the inputs have ${total} samples`);
    }
  }
  const samples = applyLimit(path, total ?? 0, options);
  return makeDataset({ path, format: 'npz', samples, readers, ...(labels ? { labels } : {}) });
}
