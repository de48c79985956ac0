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
 * cost) the engine rounds to float32 as it makes them (metrics.ts). Most of
 * them are, up to rounding, a fixed mix of those counts (mean cost is the
 * exit counts times the exits' costs, over the rounds): such a series is
 * stored as the mix's coefficients and, per point, the bits where its float32
 * differs from the mix's (mostly none); otherwise as its float32 bits, each
 * XORed with the previous point's. A series that is neither takes 8 bytes a
 * point. The whole is then deflated, with zlib's checksum, so a damaged blob
 * is refused, not misread.
 *
 * Series are named by their place in the SeedSeries object ("cumRegret",
 * "exitShare.2"), so a series added to SeedSeries is stored without a change
 * here.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import type { SeedSeries } from '../policies/metrics.js';
import { LinearFit } from './series-fit.js';

const FORMAT = 1;

/** How one series is stored. */
const enum Kind {
  /** count / rounds[p], counts as zigzag varint differences. */
  Ratio = 0,
  /** float32 bits, each XORed with the previous point's (slowly moving values share their high bits). */
  F32 = 1,
  /** float64 bits, XORed likewise. */
  F64 = 2,
  /**
   * float32 bits XORed with those of a prediction: sum_j c[j] * x[j][p], over
   * the counts of the ratio series stored before it and the round (divided by
   * the round when `perRound`), with the coefficients c stored.
   */
  Fitted = 3,
}

/** Most regressors a prediction takes (a model with many exits stores its float series plainly). */
const MAX_REGRESSORS = 17;

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

/** The prediction of a Fitted series, as float32 bits: the same operations, in the same order, when encoding and decoding. */
function predictedBits(coef: Float64Array, regressors: readonly Float64Array[], rounds: Uint32Array, perRound: boolean): Uint32Array {
  const P = rounds.length;
  const out = new Float32Array(P);
  for (let p = 0; p < P; p++) {
    let z = 0;
    for (let j = 0; j < coef.length; j++) z += coef[j]! * regressors[j]![p]!;
    out[p] = perRound ? z / rounds[p]! : z;
  }
  return new Uint32Array(out.buffer);
}

/** Significant bits left after XOR: what deflate cannot squeeze out, roughly. */
function residualBits(words: Uint32Array): number {
  let bits = 0;
  for (let i = 0; i < words.length; i++) bits += 32 - Math.clz32(words[i]!);
  return bits;
}

/** A float32 series' cheapest form: plain (XORed with the previous point) or against its best fit on the regressors. */
function float32Form(v: Float64Array, regressors: readonly Float64Array[], fit: () => LinearFit, rounds: Uint32Array): { kind: Kind.F32 } | { kind: Kind.Fitted; perRound: boolean; coef: Float64Array; words: Uint32Array } {
  const bits = new Uint32Array(Float32Array.from(v).buffer);
  const plain = bits.slice();
  xorBits(plain, 1);
  let best: { kind: Kind.F32 } | { kind: Kind.Fitted; perRound: boolean; coef: Float64Array; words: Uint32Array } = { kind: Kind.F32 };
  let bestBits = residualBits(plain);
  if (regressors.length > MAX_REGRESSORS || v.some((x) => !Number.isFinite(x))) return best;
  for (const perRound of [false, true]) {
    const coef = fit().coefficients(perRound ? v.map((x, p) => x * rounds[p]!) : v);
    if (coef.some((c) => !Number.isFinite(c))) continue;
    const words = predictedBits(coef, regressors, rounds, perRound);
    for (let p = 0; p < words.length; p++) words[p] = words[p]! ^ bits[p]!;
    const b = residualBits(words);
    if (b < bestBits) {
      bestBits = b;
      best = { kind: Kind.Fitted, perRound, coef, words };
    }
  }
  return best;
}

/** The blob of one seed's series; every series must have one point per grid round. */
export function encodeSeries({ rounds, series }: GridSeries): Uint8Array {
  const P = rounds.length;
  for (const [name, v] of flatten(series)) if (v.length !== P) throw new RangeError(`series ${name} has ${v.length} points; the grid has ${P}`);
  // Ratio series first: their counts are what the others are predicted from.
  const sorted = flatten(series)
    .map(([name, v]) => ({ name, v, counts: ratioCounts(v, rounds) }))
    .sort((a, b) => Number(!a.counts) - Number(!b.counts));
  const w = new Writer();
  w.varint(P);
  let prev = 0;
  for (let p = 0; p < P; p++) {
    w.zigzag(rounds[p]! - prev);
    prev = rounds[p]!;
  }
  const names = new TextEncoder().encode(JSON.stringify(sorted.map((x) => x.name)));
  w.varint(names.length);
  w.bytes(names);
  const regressors: Float64Array[] = [Float64Array.from(rounds)];
  // Every float series is fitted on the same regressors (all ratio series come first): one Gram matrix for them all.
  let fit: LinearFit | undefined;
  const fitted = (): LinearFit => (fit ??= new LinearFit(regressors));
  for (const { v, counts } of sorted) {
    if (counts) {
      w.byte(Kind.Ratio);
      let last = 0;
      for (let p = 0; p < P; p++) {
        w.zigzag(counts[p]! - last);
        last = counts[p]!;
      }
      regressors.push(counts);
    } else if (isFloat32(v)) {
      const form = float32Form(v, regressors, fitted, rounds);
      if (form.kind === Kind.Fitted) {
        w.byte(Kind.Fitted);
        w.byte(form.perRound ? 1 : 0);
        w.varint(form.coef.length);
        w.bytes(new Uint8Array(form.coef.buffer));
        w.bytes(new Uint8Array(form.words.buffer));
      } else {
        w.byte(Kind.F32);
        const f = Float32Array.from(v);
        xorBits(new Uint32Array(f.buffer), 1);
        w.bytes(new Uint8Array(f.buffer));
      }
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
  const regressors: Float64Array[] = [Float64Array.from(rounds)];
  for (const name of names as string[]) {
    const kind = r.byte();
    const v = new Float64Array(P);
    if (kind === Kind.Ratio) {
      const counts = new Float64Array(P);
      let c = 0;
      for (let p = 0; p < P; p++) v[p] = (counts[p] = c += r.zigzag()) / rounds[p]!;
      regressors.push(counts);
    } else if (kind === Kind.Fitted) {
      const perRound = r.byte() === 1;
      const m = r.varint();
      if (m !== regressors.length) throw new RangeError(`series blob predicts ${name} from ${m} series; ${regressors.length} precede it`);
      const coef = new Float64Array(r.bytes(8 * m).buffer);
      const bits = predictedBits(coef, regressors, rounds, perRound);
      const stored = new Uint32Array(r.bytes(4 * P).buffer);
      for (let p = 0; p < P; p++) bits[p] = bits[p]! ^ stored[p]!;
      v.set(new Float32Array(bits.buffer));
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
