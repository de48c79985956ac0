/**
 * A model's content identity. The .onnx file alone is not the model when its weights live in
 * external data files: the same graph with other weights would hash the same, and a trace, a
 * cached profile or a bundle's baseline check would take one model for the other. The digest
 * covers the .onnx bytes and every external file the model names, streamed (hundreds of MB).
 *
 * For a model with no external data it is the SHA-256 of the .onnx file, as it always was, so
 * traces stored before keep their identity.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { sha256File, type HashMemo } from '../hash.js';
import type { LoadedModel } from './load.js';
import { externalRef } from './weights.js';

/** The external data files a model names, as absolute paths, in name order. */
export function externalFiles(loaded: LoadedModel): string[] {
  const files = new Set<string>();
  for (const t of loaded.graph.initializers.values()) {
    const ref = externalRef(t.proto);
    if (ref?.location) files.add(isAbsolute(ref.location) ? ref.location : resolve(dirname(loaded.path), ref.location));
  }
  return [...files].sort();
}

/** Bytes modelDigest reads: the .onnx file and its external data files. */
export async function digestBytes(loaded: LoadedModel): Promise<number> {
  return filesBytes([loaded.path, ...externalFiles(loaded)]);
}

/** Total size of the files. */
export async function filesBytes(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const f of files) total += (await stat(f)).size;
  return total;
}

/**
 * SHA-256 of the .onnx bytes, or, when the model has external data, of the .onnx file's hash
 * followed by each external file's name (relative to the model) and hash.
 * @param onBytes hears how many bytes were read since the last call (for progress)
 */
export async function modelDigest(loaded: LoadedModel, onBytes?: (n: number) => void): Promise<string> {
  const own = createHash('sha256').update(loaded.bytes).digest('hex');
  onBytes?.(loaded.bytes.length);
  return combine(loaded.path, own, externalFiles(loaded), onBytes);
}

/**
 * modelDigest from the files alone, streamed (the .onnx and the `weightFiles` inspect lists):
 * nothing is held in memory; with a memo, files unchanged since they were hashed are not read.
 */
export async function digestFiles(modelPath: string, weightFiles: readonly string[], onBytes?: (n: number) => void, memo?: HashMemo): Promise<string> {
  return combine(modelPath, await sha256File(modelPath, onBytes, memo), weightFiles, onBytes, memo);
}

async function combine(modelPath: string, own: string, files: readonly string[], onBytes?: (n: number) => void, memo?: HashMemo): Promise<string> {
  if (files.length === 0) return own;
  const h = createHash('sha256').update(`onnx\0${own}\n`);
  const dir = dirname(modelPath);
  for (const f of files) {
    const name = f.startsWith(dir) ? f.slice(dir.length + 1) : f;
    h.update(`${name}\0${await sha256File(f, onBytes, memo)}\n`);
  }
  return h.digest('hex');
}
