/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) so that a
 * replay is bit-identical for a given seed on every machine: Math.random
 * cannot be seeded, and a stream order must be reproducible to compare runs.
 */

/** splitmix32: spreads a 32-bit seed into well-mixed state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // Seeds may exceed 32 bits (e.g. 2**40): fold the high part in so distinct seeds stay distinct.
    const hi = Math.floor(seed / 4294967296) | 0;
    const st = { s: (seed | 0) ^ Math.imul(hi, 0x27d4eb2d) };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // xoshiro's one forbidden state
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits (two draws), so thresholds compare fairly. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), n <= 2**32, unbiased (rejection sampling). */
  nextInt(n: number): number {
    let x = this.nextU32();
    // The rejection limit 2^32 - (2^32 mod n) exceeds 2^32 - n, so a draw below that needs no division to check.
    if (x >= 4294967296 - n) {
      const limit = 4294967296 - (4294967296 % n);
      while (x >= limit) x = this.nextU32();
    }
    return x % n;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The order in which seed `seed` streams n samples: a Fisher-Yates shuffle of 0..n-1. */
export function shuffledOrder(n: number, seed: number, out?: Uint32Array): Uint32Array {
  const order = out && out.length === n ? out : new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}
