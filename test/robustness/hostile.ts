/**
 * Hostile files for the robustness corpus, built on the fly in a temp folder
 * (the repository holds none of them): over-long lines, named pipes and
 * sockets named like data, zip archives that lie about their members, a
 * deflate stream that inflates to a gibibyte from a megabyte.
 */
import { execFileSync } from 'node:child_process';
import { linkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { encodeNpy } from '../../src/data/npy.js';

/**
 * A file of `bytes` bytes of "1," with no line break, written once and then
 * hard-linked under each further name: one big file serves every reader.
 */
export function longLine(bytes: number, paths: string[]): void {
  const [first, ...rest] = paths;
  writeFileSync(first!, Buffer.alloc(bytes, '1,'));
  for (const p of rest) linkSync(first!, p);
}

/** A named pipe (FIFO): opening it for reading blocks until a writer comes, unless the reader takes care. */
export function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/** A Unix socket file at `path`, listening until closed. */
export async function socketFile(path: string): Promise<Server> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(path, ok));
  return server;
}

/**
 * A raw deflate stream that inflates to `prefix` followed by `zeros` zero
 * bytes: one fully flushed block of 16 MiB of zeros, repeated (each block
 * stands alone, so the copies chain), then an empty final block. A
 * gibibyte costs 16 KiB per 16 MiB and a few milliseconds to make.
 */
export function deflatedZeros(prefix: Uint8Array, zeros: number): Buffer {
  const block = 16 << 20;
  if (zeros % block !== 0) throw new Error(`zeros must be a multiple of ${block}`);
  const full = { finishFlush: zlibConstants.Z_FULL_FLUSH };
  const head = deflateRawSync(prefix, full);
  const body = deflateRawSync(Buffer.alloc(block), full);
  const parts = [head];
  for (let n = 0; n < zeros / block; n++) parts.push(body);
  parts.push(Buffer.from([0x03, 0x00]));
  return Buffer.concat(parts);
}

export interface RawMember {
  name: string;
  /** The bytes stored in the archive (already deflated when `deflated`). */
  data: Uint8Array;
  deflated?: boolean;
  /** The uncompressed size the entry declares; the truth for a stored member by default. */
  declaredSize?: number;
  /** Where the entry says the member's local header is (default: where it is). */
  localOffset?: number;
}

/** A zip written by hand, so that it can lie: declared sizes and offsets are whatever the member says. */
export function rawZip(members: RawMember[], claimedCount?: number): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name);
    const method = m.deflated ? 8 : 0;
    const declared = m.declaredSize ?? m.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(m.data.length, 18);
    local.writeUInt32LE(declared, 22);
    local.writeUInt16LE(name.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(method, 10);
    entry.writeUInt32LE(m.data.length, 20);
    entry.writeUInt32LE(declared, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(m.localOffset ?? offset, 42);
    locals.push(local, name, Buffer.from(m.data));
    central.push(entry, name);
    offset += 30 + name.length + m.data.length;
  }
  const dir = Buffer.concat(central);
  const count = claimedCount ?? members.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, 0xffff), 8);
  end.writeUInt16LE(Math.min(count, 0xffff), 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  if (count <= 0xffff) return Buffer.concat([...locals, dir, end]);
  // More members than 16 bits count: a zip64 end record and its locator carry the count.
  const end64 = Buffer.alloc(56);
  end64.writeUInt32LE(0x06064b50, 0);
  end64.writeBigUInt64LE(44n, 4);
  end64.writeUInt16LE(45, 12);
  end64.writeUInt16LE(45, 14);
  end64.writeBigUInt64LE(BigInt(count), 24);
  end64.writeBigUInt64LE(BigInt(count), 32);
  end64.writeBigUInt64LE(BigInt(dir.length), 40);
  end64.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + dir.length), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([...locals, dir, end64, locator, end]);
}

/** An archive of `count` empty stored members with long names: a central directory of megabytes. */
export function manyMembers(count: number): Buffer {
  return rawZip(Array.from({ length: count }, (_, i) => ({ name: `member_with_a_rather_long_name_${i}.npy`, data: new Uint8Array(0) })));
}

/** An .npz member: the .npy bytes of a float32 array of `shape` filled with `value`. */
export function npyMember(shape: number[], value: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return encodeNpy('float', shape, new Float32Array(n).fill(value));
}
