/**
 * Writing what the studio exports (policy files, traces, bundles) without
 * losing what was there. An output is written to a temporary file beside its
 * target and moved into place only once complete, so a crash or a full disk
 * never leaves half a file under the target's name; and a target that exists
 * already is refused unless the caller asks to replace it (`--force`, or a
 * page that asked its user first: the error's code is 'exists').
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StudioError, nameList, writeError } from '../errors.js';
import { notRegular } from './regular.js';

export interface WriteOptions {
  /** Replace an existing target (default: refuse it). */
  force?: boolean;
}

async function statOrNone(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw writeError(path, e);
  }
}

/** An output in the way, `problem` saying how: each front end offers its own way to replace it (the CLI's --force, the studio's question). */
function exists(out: string, problem = 'already exists'): StudioError {
  return new StudioError(`${out}: ${problem}`, { kind: 'conflict', file: out, code: 'exists', field: 'force' });
}

/** A name beside `target` that no other writer picks. */
function besides(target: string, suffix: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.${suffix}`);
}

/** Flushes a written file to the disk, so the rename that follows never publishes an empty file after a power loss. */
async function sync(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `out` through `write`, which writes the whole content to the path it
 * is given (a temporary file in the same folder). The file appears under its
 * name complete or not at all; an existing `out` is refused unless `force`.
 */
export async function writeOutput(out: string, write: (tmp: string) => Promise<void> | void, opts: WriteOptions = {}): Promise<void> {
  const st = await statOrNone(out);
  if (st) {
    const odd = notRegular(st);
    if (odd) throw new StudioError(`${out}: cannot write: ${odd}`, { kind: 'input', file: out });
    if (!opts.force) throw exists(out);
  }
  const tmp = besides(out, 'tmp');
  try {
    await write(tmp);
    await sync(tmp);
    if (opts.force) {
      await rename(tmp, out);
      return;
    }
    // A hard link never replaces: a file created under the name meanwhile is refused, not overwritten.
    try {
      await link(tmp, out);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw exists(out);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'ENOSYS') throw e;
      // A file system without hard links: check once more, then rename.
      if (await statOrNone(out)) throw exists(out);
      await rename(tmp, out);
      return;
    }
    await unlink(tmp);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof StudioError) throw e;
    throw writeError(out, e);
  }
}

/** A folder being written beside its target: fill `path`, then commit() moves it into place. */
export interface StagedFolder {
  path: string;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

export interface FolderOptions extends WriteOptions {
  /** What the folder holds, for messages ("a bundle"). */
  what: string;
  /** Whether a file name belongs to what is written: a folder holding anything else is never replaced. */
  owns: (name: string) => boolean;
}

/** The refusals of stageFolder alone, to run before costly work whose result would be refused. */
export async function checkFolder(dir: string, opts: FolderOptions): Promise<void> {
  const st = await statOrNone(dir);
  if (st && !st.isDirectory()) throw new StudioError(`${dir}: is a file; ${opts.what} is written into a folder`, { kind: 'input', file: dir });
  const entries = st ? await readdir(dir) : [];
  const foreign = entries.filter((n) => !opts.owns(n));
  if (foreign.length) {
    throw new StudioError(`${dir}: holds files that are not part of ${opts.what} (${nameList(foreign, 5)}); write it into a new or empty folder`, { kind: 'input', file: dir });
  }
  if (entries.length && !opts.force) throw exists(dir, `already holds ${opts.what.replace(/^an? /, 'the ')}`);
}

/**
 * Prepares to write a folder of files at `dir`: a new or empty folder is
 * filled; one that already holds such output is replaced only with `force`;
 * one that holds anything else is refused even then, since replacing it would
 * delete files the studio did not write. The files are written into a
 * temporary folder beside it and moved into place by commit(), the old ones
 * (when replaced) only removed after the new ones are in place.
 */
export async function stageFolder(dir: string, opts: FolderOptions): Promise<StagedFolder> {
  await checkFolder(dir, opts);
  try {
    await mkdir(dirname(dir), { recursive: true });
  } catch (e) {
    throw writeError(dir, e);
  }
  const tmp = besides(dir, 'tmp');
  try {
    await mkdir(tmp);
  } catch (e) {
    throw writeError(dir, e);
  }
  return {
    path: tmp,
    discard: () => rm(tmp, { recursive: true, force: true }),
    async commit() {
      try {
        const now = await statOrNone(dir);
        if (!now) {
          await rename(tmp, dir);
          return;
        }
        const left = await readdir(dir);
        if (left.length === 0) {
          await rmdir(dir);
          await rename(tmp, dir);
          return;
        }
        if (!opts.force || left.some((n) => !opts.owns(n))) throw exists(dir, 'files appeared there while it was written');
        const old = besides(dir, 'old');
        await rename(dir, old);
        await rename(tmp, dir);
        await rm(old, { recursive: true, force: true });
      } catch (e) {
        await rm(tmp, { recursive: true, force: true });
        if (e instanceof StudioError) throw e;
        throw writeError(dir, e);
      }
    },
  };
}
