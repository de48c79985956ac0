/**
 * Reading zip archives (.npz) without trusting them. The central directory is
 * read and checked entry by entry (signatures, offsets and sizes inside the
 * file, a bound on the member count) before any member is touched, and a
 * member is inflated only into a buffer of the size its entry declares: an
 * archive that claims 65,535 members, or a small member that would inflate to
 * gigabytes, is refused without allocating what it claims.
 *
 * Members are read at their offsets in the open file, so a stored (not
 * deflated) member never has to be held in memory whole.
 */
import { read, readSync } from 'node:fs';
import { promisify } from 'node:util';
import { constants as zlibConstants, inflateRaw, inflateRawSync } from 'node:zlib';
import { excerpt, inputError, type StudioError } from '../errors.js';

/** More members than any .npz of a dataset or a trace holds (one array per input or trace column). */
export const MAX_MEMBERS = 4096;
/** A central directory of MAX_MEMBERS entries with long names fits well within this. */
const MAX_DIRECTORY_BYTES = 16 << 20;

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export interface ZipMember {
  name: string;
  /** 0 stored, 8 deflated. */
  method: 0 | 8;
  compressedSize: number;
  /** Uncompressed size as the archive declares it; reads hold members to it. */
  size: number;
  /** Where the member's local header starts. */
  localOffset: number;
}

/** An open archive: its file descriptor (the caller's to close), size and checked members. */
export interface ZipArchive {
  file: string;
  fd: number;
  size: number;
  members: ZipMember[];
  /** Where the member data ends (the central directory starts). */
  dataEnd: number;
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

const u64 = (b: Buffer, at: number): number => Number(b.readBigUInt64LE(at));
const inflateRawAsync = promisify(inflateRaw);

/** Reads and checks an archive's central directory. */
export function readZip(file: string, fd: number, size: number): ZipArchive {
  const bad = (why: string): StudioError => inputError(file, `not a readable .npz (zip) file: ${why}; write it with numpy.savez or numpy.savez_compressed`);
  if (size < 22) throw bad('too short to hold a zip directory');
  // The end record is the last 22 bytes plus a comment of at most 65,535.
  const tailStart = Math.max(0, size - 22 - 0xffff);
  const tail = readAt(fd, size - tailStart, tailStart);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw bad('no zip directory at its end');
  const eocdPos = tailStart + at;
  let count = tail.readUInt16LE(at + 10);
  let dirSize = tail.readUInt32LE(at + 12);
  let dirOffset = tail.readUInt32LE(at + 16);
  let dirEnd = eocdPos;
  if (eocdPos >= 20) {
    const loc = readAt(fd, 20, eocdPos - 20);
    if (loc.length === 20 && loc.readUInt32LE(0) === EOCD64_LOCATOR) {
      const pos = u64(loc, 8);
      const rec = pos + 56 <= eocdPos - 20 ? readAt(fd, 56, pos) : Buffer.alloc(0);
      if (rec.length !== 56 || rec.readUInt32LE(0) !== EOCD64) throw bad('its zip64 directory record is missing or damaged');
      count = u64(rec, 32);
      dirSize = u64(rec, 40);
      dirOffset = u64(rec, 48);
      dirEnd = pos;
    }
  }
  if (count > MAX_MEMBERS) throw bad(`it claims ${count} members; an .npz holds one array per input (at most ${MAX_MEMBERS} are read)`);
  if (dirOffset + dirSize > dirEnd || dirSize > MAX_DIRECTORY_BYTES || count * 46 > dirSize) {
    throw bad(`its directory (${count} members, ${dirSize} bytes at offset ${dirOffset}) does not fit in the file`);
  }
  const dir = readAt(fd, dirSize, dirOffset);
  const members: ZipMember[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) throw bad(`directory entry ${i + 1} of ${count} is damaged`);
    const flags = dir.readUInt16LE(p + 8);
    const method = dir.readUInt16LE(p + 10);
    let compressedSize = dir.readUInt32LE(p + 20);
    let memberSize = dir.readUInt32LE(p + 24);
    const nameLen = dir.readUInt16LE(p + 28);
    const extraLen = dir.readUInt16LE(p + 30);
    const commentLen = dir.readUInt16LE(p + 32);
    let localOffset = dir.readUInt32LE(p + 42);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > dir.length) throw bad(`directory entry ${i + 1} of ${count} runs past the directory`);
    const rawName = dir.subarray(p + 46, p + 46 + nameLen);
    const name = flags & 0x800 ? rawName.toString('utf8') : rawName.toString('latin1');
    // Zip64: sizes and offset that do not fit 32 bits are in the extra field, in this order.
    let e = p + 46 + nameLen;
    while (e + 4 <= p + 46 + nameLen + extraLen) {
      const id = dir.readUInt16LE(e);
      const len = dir.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) throw bad(`directory entry ${i + 1} has a short zip64 field`);
          const v = u64(dir, q);
          q += 8;
          return v;
        };
        if (memberSize === 0xffffffff) memberSize = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + len;
    }
    const what = `member ${i + 1} of ${count}`;
    if (flags & 0x1) throw bad(`${what} is encrypted`);
    if (method !== 0 && method !== 8) throw bad(`${what} is compressed with method ${method}; numpy writes stored or deflated members`);
    if (method === 0 && compressedSize !== memberSize) throw bad(`${what} is stored but its two sizes differ`);
    if (localOffset + 30 + compressedSize > dirOffset) throw bad(`${what} lies outside the file`);
    members.push({ name, method, compressedSize, size: memberSize, localOffset });
    p = end;
  }
  return { file, fd, size, members, dataEnd: dirOffset };
}

/** The file offset where a member's data starts (after its local header). */
export function dataOffset(zip: ZipArchive, m: ZipMember): number {
  const h = readAt(zip.fd, 30, m.localOffset);
  if (h.length < 30 || h.readUInt32LE(0) !== LOCAL) throw inputError(zip.file, `member ${excerpt(m.name, 64)}: its local header is damaged`);
  const start = m.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  if (start + m.compressedSize > zip.dataEnd) throw inputError(zip.file, `member ${excerpt(m.name, 64)} runs past the end of the member data`);
  return start;
}

/** A member that does not inflate cleanly: the archive is damaged. */
function damaged(zip: ZipArchive, m: ZipMember, why: string, e?: unknown): StudioError {
  return inputError(zip.file, `member ${excerpt(m.name, 64)} ${why}: the archive is damaged`, e);
}

/**
 * The first `length` bytes of a member (fewer when it is shorter), inflating
 * only as much as that takes: for reading an .npy header before deciding
 * whether the whole member is worth inflating. The compressed bytes are read
 * a little at a time (a kilobyte of deflate inflates to a megabyte at most).
 */
export function readPrefix(zip: ZipArchive, m: ZipMember, length: number): Uint8Array {
  const start = dataOffset(zip, m);
  const want = Math.min(length, m.size);
  if (m.method === 0) return readAt(zip.fd, want, start);
  for (let take = 1024; ; take *= 4) {
    const n = Math.min(take, m.compressedSize);
    let out: Buffer;
    try {
      // SYNC_FLUSH: a cut-off stream gives what it holds instead of an error.
      out = inflateRawSync(readAt(zip.fd, n, start), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (e) {
      throw damaged(zip, m, `does not inflate (${e instanceof Error ? e.message : String(e)})`, e);
    }
    if (out.length >= want || n === m.compressedSize) return out.subarray(0, want);
  }
}

function readAtAsync(fd: number, length: number, position: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.alloc(length);
    const step = (got: number): void => {
      if (got === length) return resolve(buf);
      read(fd, buf, got, length - got, position + got, (err, n) => {
        if (err) reject(err);
        else if (n === 0) resolve(buf.subarray(0, got));
        else step(got + n);
      });
    };
    step(0);
  });
}

/**
 * A whole member, held to its declared size: a deflated stream that would
 * inflate past it (a zip bomb lying about its size) stops inflating at that
 * size and is refused, as is one that falls short. The caller checks the
 * declared size against what it is willing to hold first. Read and inflated
 * off the event loop (zlib's thread pool).
 */
export async function readMember(zip: ZipArchive, m: ZipMember): Promise<Uint8Array> {
  const start = dataOffset(zip, m);
  const bytes = await readAtAsync(zip.fd, m.compressedSize, start);
  if (bytes.length < m.compressedSize) throw damaged(zip, m, 'is cut short');
  if (m.method === 0) return bytes;
  let out: Buffer;
  try {
    out = await inflateRawAsync(bytes, { maxOutputLength: Math.max(1, m.size) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw damaged(zip, m, `inflates to more than the ${m.size} bytes its entry declares`);
    throw damaged(zip, m, `does not inflate (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (out.length !== m.size) throw damaged(zip, m, `inflates to ${out.length} bytes, not the ${m.size} its entry declares`);
  return out;
}
