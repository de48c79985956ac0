/**
 * Reading only regular files. A named pipe (FIFO), a device or a socket given
 * where a file belongs would block a read until something writes to it (every
 * request of serve mode waiting behind it, Ctrl-C unable to stop the CLI) or
 * never end (/dev/zero). Files are therefore opened without blocking and
 * checked before the first byte is read; the open and the check are one step,
 * so nothing can be swapped in between.
 */
import { closeSync, constants, fstatSync, openSync, statSync, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { inputError, StudioError } from '../errors.js';

/** Opening a FIFO for reading waits for a writer unless O_NONBLOCK is set (POSIX; Windows has no FIFOs to open). */
const NONBLOCKING_READ = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Why a path is not a regular file, in words, or undefined when it is one. */
export function notRegular(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'is a folder, not a file';
  if (st.isFIFO()) return 'is a named pipe (FIFO), not a regular file; the studio reads only regular files';
  if (st.isCharacterDevice()) return 'is a character device, not a regular file; the studio reads only regular files';
  if (st.isBlockDevice()) return 'is a block device, not a regular file; the studio reads only regular files';
  if (st.isSocket()) return 'is a socket, not a regular file; the studio reads only regular files';
  return 'is not a regular file; the studio reads only regular files';
}

/** An error for a failed stat or open, naming the file. */
export function openError(path: string, e: unknown, what = 'file'): StudioError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? `no such ${what}`
    : code === 'ENOTDIR' ? `no such ${what} (part of the path is a file, not a folder)`
    : code === 'EACCES' || code === 'EPERM' ? `permission denied: the ${what} cannot be read`
    : code === 'ENXIO' ? 'is a socket or device that cannot be read; the studio reads only regular files'
    : code === 'ELOOP' ? 'is a symbolic link that loops'
    : code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_INVALID_ARG_TYPE' ? 'is not a usable path'
    : `cannot read it (${code ?? String(e)})`;
  return new StudioError(`${path}: ${why}`, { kind: code === 'ENOENT' || code === 'ENOTDIR' ? 'not-found' : 'input', file: path, cause: e });
}

/** Stats of a regular file (links followed); anything else is refused, naming the file. */
export async function statRegular(path: string, what = 'file'): Promise<Stats> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw openError(path, e, what);
  }
  const problem = notRegular(st);
  if (problem) throw inputError(path, problem);
  return st;
}

/** statRegular, synchronously: a stat never blocks on what the path is. */
export function statRegularSync(path: string, what = 'file'): Stats {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw openError(path, e, what);
  }
  const problem = notRegular(st);
  if (problem) throw inputError(path, problem);
  return st;
}

/** Opens a regular file for reading; a FIFO, device or socket is refused before any read. */
export async function openRegular(path: string, what = 'file'): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, NONBLOCKING_READ);
  } catch (e) {
    throw openError(path, e, what);
  }
  try {
    const st = await handle.stat();
    const problem = notRegular(st);
    if (problem) throw inputError(path, problem);
    return { handle, size: st.size };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** openRegular for the readers that read at offsets synchronously (.npy batches): a file descriptor. */
export function openRegularSync(path: string, what = 'file'): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, NONBLOCKING_READ);
  } catch (e) {
    throw openError(path, e, what);
  }
  try {
    const st = fstatSync(fd);
    const problem = notRegular(st);
    if (problem) throw inputError(path, problem);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
