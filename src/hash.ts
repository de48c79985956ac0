/**
 * Content hashes of files and folders, streamed: datasets and model weights can be larger than
 * memory. A HashMemo remembers each file's hash with what identifies its content on disk, as
 * git's index does, so a file unchanged since it was hashed is not read again.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

/**
 * What changes whenever a file's content does: its size, modification and status-change times
 * (ns) and its inode and device. The status-change time cannot be set back by a program (a copy
 * that keeps the modification time, or `touch -d`, still moves it), and a file replaced by
 * another gets another inode. Kept as decimal strings: the numbers exceed 2^53.
 */
export interface FileStamp {
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  dev: string;
}

/** Hashes remembered by file (the store keeps them: src/store/file-hashes.ts). */
export interface HashMemo {
  /** The hash kept for `path` when its stamp was `stamp`, or undefined. */
  recall(path: string, stamp: FileStamp): string | undefined;
  keep(path: string, stamp: FileStamp, sha256: string): void;
  /**
   * A file changed this recently (ms before its hashing began) is not remembered: a filesystem
   * whose times have a coarse grain (1 s, 2 s on FAT) would not move them for a write that
   * follows within the grain. Default SETTLE_MS.
   */
  readonly settleMs?: number;
}

/** Enough for the coarsest common grain of file times (FAT's 2 s). */
export const SETTLE_MS = 2000;

export function fileStamp(st: BigIntStats): FileStamp {
  return { size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), ino: String(st.ino), dev: String(st.dev) };
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

/**
 * Bytes read at a time when hashing. A stream's default 64 KiB chunk costs a turn of the event
 * loop and a buffer each, more than the hash of it: 157 MB of data took 370 ms to hash in 64 KiB
 * chunks against 140 ms in 1 MiB ones (the SHA-256 alone, in memory, 90 ms), on a 2-core machine.
 */
const HASH_CHUNK = 1 << 20;

/**
 * SHA-256 of a file; `onBytes` hears the size of each chunk read (for progress). With a memo, a
 * file whose stamp is the one its kept hash was made at is not read (onBytes hears its whole size
 * at once); a file hashed is remembered if it did not change while it was read, nor just before.
 */
export async function sha256File(path: string, onBytes?: (n: number) => void, memo?: HashMemo): Promise<string> {
  if (!memo) return hashStream(path, onBytes);
  const began = BigInt(Date.now()) * 1_000_000n;
  const before = statSync(path, { bigint: true });
  const stamp = fileStamp(before);
  const kept = memo.recall(path, stamp);
  if (kept !== undefined) {
    onBytes?.(Number(before.size));
    return kept;
  }
  const sha = await hashStream(path, onBytes);
  const settled = began - BigInt(memo.settleMs ?? SETTLE_MS) * 1_000_000n;
  if (sameStamp(stamp, fileStamp(statSync(path, { bigint: true }))) && before.mtimeNs < settled && before.ctimeNs < settled) memo.keep(path, stamp, sha);
  return sha;
}

function hashStream(path: string, onBytes?: (n: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: HASH_CHUNK })
      .on('data', (d) => {
        h.update(d);
        onBytes?.(d.length);
      })
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Content identity of a dataset: a file's SHA-256, or for a folder (images)
 * the SHA-256 over every file's relative path and content hash, in name order.
 * Only regular files have content: a named pipe in the folder (hidden, so the
 * image reader skipped it) would make the hash wait forever for a writer.
 */
export async function sha256Path(path: string, onBytes?: (n: number) => void, memo?: HashMemo): Promise<string> {
  if (!statSync(path).isDirectory()) return sha256File(path, onBytes, memo);
  const h = createHash('sha256');
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(full);
      if (st.isDirectory()) await walk(full, r);
      else if (st.isFile()) h.update(`${r}\0${await sha256File(full, onBytes, memo)}\n`);
    }
  };
  await walk(path, '');
  return h.digest('hex');
}

/** Bytes sha256Path reads: the file's size, or the sizes of every regular file under the folder. */
export function sizeOfPath(path: string): number {
  const st = statSync(path);
  if (st.isDirectory()) {
    let total = 0;
    for (const name of readdirSync(path)) total += sizeOfPath(join(path, name));
    return total;
  }
  return st.isFile() ? st.size : 0;
}
