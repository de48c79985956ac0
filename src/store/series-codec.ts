/**
 * One seed's series as a compact binary blob, losslessly: what goes in comes
 * back bit for bit (NaN, -0 and the grid included).
 *
 * A policy run's series are mostly ratios of counters sampled on the grid
 * (exit shares, agreement, accuracy: count / rounds), and a count grows by
 * at most the grid step between two points. Such a series is stored as the
 * counts' differences in a variable-length integer, a byte or two per point,
 * and comes back as the very same double (count / rounds is one IEEE
 * division, here as when it was made). The others (cumulative regret, mean
 * cost) the engine rounds to float32 as it makes them (metrics.ts): they are
 * stored as 4 bytes, and any series that is neither as 8. The whole is then
 * deflated, with zlib's checksum, so a damaged blob is refused, not misread.
 *
 * Series are named by their place in the SeedSeries object ("cumRegret",
 * "exitShare.2"), so a series added to SeedSeries is stored without a change
 * here.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import type { SeedSeries } from '../policies/metrics.js';

const FORMAT = 1;

/** How one series is stored. */
const enum Kind {
  /** count / rounds[p], counts as zigzag varint differences. */
  Ratio = 0,
  /** float32 bits, each XORed with the previous point's (slowly moving values share their high bits). */
  F32 = 1,
  /** float64 bits, XORed likewise. */
  F64 = 2,
}

/** A seed's series and the grid of 1-based rounds they are sampled at. */
export interface GridSeries {
  rounds: Uint32Array;
  series: SeedSeries;
}

class Writer {
  private buf = new Uint8Array(1 << 12);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  /** An unsigned integer up to 2^53, 7 bits a byte. */
  varint(n: number): void {
    this.room(8);
    while (n >= 128) {
      this.buf[this.length++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.length++] = n;
  }

  /** A signed integer, zigzagged so that small magnitudes take one byte. */
  zigzag(n: number): void {
    this.varint(n >= 0 ? 2 * n : -2 * n - 1);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  done(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

class Reader {
  at = 0;
  constructor(private readonly buf: Uint8Array) {}

  byte(): number {
    if (this.at >= this.buf.length) throw new RangeError('series blob ends early');
    return this.buf[this.at++]!;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 127) * scale;
      if (b < 128) return n;
      scale *= 128;
      if (scale > 2 ** 56) throw new RangeError('series blob holds an oversized integer');
    }
  }

  zigzag(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  bytes(n: number): Uint8Array {
    if (this.at + n > this.buf.length) throw new RangeError('series blob ends early');
    const out = this.buf.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }

  get ended(): boolean {
    return this.at === this.buf.length;
  }
}

/** The series of a SeedSeries in a fixed order, each with its name. */
function flatten(series: SeedSeries): [string, Float64Array][] {
  const out: [string, Float64Array][] = [];
  for (const [name, v] of Object.entries(series) as [string, unknown][]) {
    if (v instanceof Float64Array) out.push([name, v]);
    else if (Array.isArray(v)) v.forEach((a: unknown, k) => {
      if (!(a instanceof Float64Array)) throw new TypeError(`series ${name}.${k} is not a Float64Array`);
      out.push([`${name}.${k}`, a]);
    });
    else throw new TypeError(`series ${name} is neither a Float64Array nor a list of them`);
  }
  return out;
}

function unflatten(named: [string, Float64Array][]): SeedSeries {
  const out: Record<string, Float64Array | Float64Array[]> = {};
  for (const [name, v] of named) {
    const dot = name.indexOf('.');
    if (dot < 0) {
      out[name] = v;
      continue;
    }
    const key = name.slice(0, dot);
    const list = (out[key] ??= []) as Float64Array[];
    list[Number(name.slice(dot + 1))] = v;
  }
  return out as unknown as SeedSeries;
}

/** The counts behind a ratio series, or undefined when some point is not exactly count / rounds. */
function ratioCounts(v: Float64Array, rounds: Uint32Array): Float64Array | undefined {
  const counts = new Float64Array(v.length);
  for (let p = 0; p < v.length; p++) {
    const r = rounds[p]!;
    const c = Math.round(v[p]! * r);
    if (!Number.isSafeInteger(c) || !Object.is(c / r, v[p])) return undefined;
    counts[p] = c;
  }
  return counts;
}

function isFloat32(v: Float64Array): boolean {
  for (let p = 0; p < v.length; p++) {
    const x = v[p]!;
    if (!Object.is(Math.fround(x), x) && !Number.isNaN(x)) return false;
  }
  return true;
}

/** Bits of each point XORed with the previous point's: a slowly moving series becomes mostly zero bytes. */
function xorBits(words: Uint32Array, stride: number): void {
  for (let i = words.length - 1; i >= stride; i--) words[i] = words[i]! ^ words[i - stride]!;
}

function unXorBits(words: Uint32Array, stride: number): void {
  for (let i = stride; i < words.length; i++) words[i] = words[i]! ^ words[i - stride]!;
}

/** The blob of one seed's series; every series must have one point per grid round. */
export function encodeSeries({ rounds, series }: GridSeries): Uint8Array {
  const P = rounds.length;
  const named = flatten(series);
  const w = new Writer();
  w.varint(P);
  let prev = 0;
  for (let p = 0; p < P; p++) {
    w.zigzag(rounds[p]! - prev);
    prev = rounds[p]!;
  }
  const names = new TextEncoder().encode(JSON.stringify(named.map(([n]) => n)));
  w.varint(names.length);
  w.bytes(names);
  for (const [name, v] of named) {
    if (v.length !== P) throw new RangeError(`series ${name} has ${v.length} points; the grid has ${P}`);
    const counts = ratioCounts(v, rounds);
    if (counts) {
      w.byte(Kind.Ratio);
      let last = 0;
      for (let p = 0; p < P; p++) {
        w.zigzag(counts[p]! - last);
        last = counts[p]!;
      }
    } else if (isFloat32(v)) {
      w.byte(Kind.F32);
      const f = Float32Array.from(v);
      xorBits(new Uint32Array(f.buffer), 1);
      w.bytes(new Uint8Array(f.buffer));
    } else {
      w.byte(Kind.F64);
      const f = Float64Array.from(v);
      xorBits(new Uint32Array(f.buffer), 2);
      w.bytes(new Uint8Array(f.buffer));
    }
  }
  const body = deflateSync(w.done());
  const out = new Uint8Array(1 + body.length);
  out[0] = FORMAT;
  out.set(body, 1);
  return out;
}

/** A seed's series back from its blob; throws a RangeError on a damaged or foreign blob. */
export function decodeSeries(blob: Uint8Array): GridSeries {
  if (blob.length < 2 || blob[0] !== FORMAT) throw new RangeError(`not a series blob of format ${FORMAT}`);
  let raw: Uint8Array;
  try {
    raw = inflateSync(blob.subarray(1));
  } catch (e) {
    throw new RangeError(`damaged series blob (${(e as Error).message})`);
  }
  // A plain Uint8Array view: Buffer's slice() would share memory where the reader needs copies it can align.
  const r = new Reader(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  const P = r.varint();
  const rounds = new Uint32Array(P);
  let prev = 0;
  for (let p = 0; p < P; p++) rounds[p] = prev += r.zigzag();
  const names = JSON.parse(new TextDecoder().decode(r.bytes(r.varint()))) as unknown;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new RangeError('series blob names are damaged');
  const named: [string, Float64Array][] = [];
  for (const name of names as string[]) {
    const kind = r.byte();
    const v = new Float64Array(P);
    if (kind === Kind.Ratio) {
      let c = 0;
      for (let p = 0; p < P; p++) v[p] = (c += r.zigzag()) / rounds[p]!;
    } else if (kind === Kind.F32) {
      const bits = new Uint32Array(r.bytes(4 * P).buffer);
      unXorBits(bits, 1);
      v.set(new Float32Array(bits.buffer));
    } else if (kind === Kind.F64) {
      const bits = new Uint32Array(r.bytes(8 * P).buffer);
      unXorBits(bits, 2);
      v.set(new Float64Array(bits.buffer));
    } else {
      throw new RangeError(`series blob holds an unknown kind ${kind}`);
    }
    named.push([name, v]);
  }
  if (!r.ended) throw new RangeError('series blob has trailing bytes');
  return { rounds, series: unflatten(named) };
}
