/**
 * What a file that no reader of the kind asked for takes by its name most
 * likely is, by its extension or its first bytes, for the error that refuses
 * it: "it is read as a trace, not as a dataset", "it starts like a NumPy
 * array: give it the .npy extension".
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { extensionOf, FORMATS, formatsByMagic, type FileKind } from './table.js';

const HEAD_BYTES = 16;

function head(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, n).toString('latin1');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A clause to add to "unknown <kind> format" (starting with "; "), or '' when neither the name nor the bytes say more. */
export function formatHint(path: string, kind: FileKind): string {
  const ext = extensionOf(path);
  const other = ext ? FORMATS.find((f) => f.kind !== kind && !('folder' in f) && (f.extensions as readonly string[]).includes(ext)) : undefined;
  if (other) return `; ${other.title} (.${ext}) is read as a ${other.kind}, not as a ${kind}`;
  const byBytes = formatsByMagic(head(path));
  const same = byBytes.find((f) => f.kind === kind);
  if (same) return `; it starts like ${same.title}: give it the .${same.extensions[0]} extension`;
  const elsewhere = byBytes[0];
  if (elsewhere) return `; it starts like ${elsewhere.title}, which is read as a ${elsewhere.kind}, not as a ${kind}`;
  return '';
}
