/** Test helpers for the data readers: temp folders, model inputs, draining a dataset. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { Dim, ElementType, TensorInfo } from '../../src/model/types.js';
import type { Batch, Dataset } from '../../src/data/types.js';
import { isStudioError } from '../../src/errors.js';
import { projectRoot } from '../../src/paths.js';

export function tempDir(): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'exit-studio-data-'));
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function fixture(name: string): string {
  return join(projectRoot(), 'test', 'data', 'fixtures', name);
}

export function input(name: string, type: ElementType, shape: Dim[]): TensorInfo {
  return { name, type, shape };
}

export async function drain(ds: Dataset, batchSize: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of ds.batches(batchSize)) out.push(b);
  return out;
}

/** All values of one input across batches, as numbers. */
export function values(batches: Batch[], name: string): number[] {
  return batches.flatMap((b) => Array.from(b[name]!.data as ArrayLike<number | bigint>, (v) => Number(v)));
}

/** Asserts the promise rejects with a StudioError whose message contains every fragment. */
export async function rejectsWith(p: Promise<unknown> | (() => Promise<unknown>), ...fragments: (string | RegExp)[]): Promise<string> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `expected an error mentioning ${fragments.join(', ')}`);
  assert.ok(isStudioError(err), `expected a StudioError, got ${String(err)}`);
  const message = (err as Error).message;
  for (const f of fragments) {
    if (typeof f === 'string') assert.ok(message.includes(f), `"${message}" should mention "${f}"`);
    else assert.match(message, f);
  }
  return message;
}
