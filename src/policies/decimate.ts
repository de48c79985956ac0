/**
 * Decimation for charts: a run keeps every sample in its summary, but a
 * million-point series is useless to a chart and heavy to store.
 *
 * Running means and cumulative sums are smooth at the scale of a chart, so
 * multi-seed series are sampled on one common grid of rounds (the same x for
 * every seed is what a mean and a confidence band need). An even grid alone
 * would lose the start, where a policy learns fastest and its curves bend
 * most (over a million rounds, the first point would sit at round 500), so
 * half the points are spaced geometrically from round 1. For a single jagged
 * series, `lttb` (Largest-Triangle-Three-Buckets, Steinarsson 2013) keeps its
 * visual shape instead.
 */

/**
 * About `points` 1-based round counts over 1..n, always ending at n: every
 * round when n <= points, otherwise half spread evenly and half geometrically
 * (dense early), merged and deduplicated, in increasing order.
 */
export function gridRounds(n: number, points = 2000): Uint32Array {
  if (n <= 0) return new Uint32Array(0);
  const p = Math.max(2, Math.min(points, n));
  if (p >= n) return Uint32Array.from({ length: n }, (_, i) => i + 1);
  const even = Math.ceil(p / 2);
  const geometric = p - even;
  const marks = new Set<number>();
  for (let i = 1; i <= even; i++) marks.add(Math.max(1, Math.round((i * n) / even)));
  // Geometric from 1 to n: round(n^(i/(m-1))); the first few collapse onto 1, 2, 3, ... (deduplicated).
  for (let i = 0; i < geometric; i++) marks.add(Math.round(Math.pow(n, geometric > 1 ? i / (geometric - 1) : 1)));
  return Uint32Array.from([...marks].sort((a, b) => a - b));
}

/** LTTB down to `threshold` points; returns indices into the input (first and last always kept). */
export function lttb(ys: ArrayLike<number>, threshold: number, xs?: ArrayLike<number>): Uint32Array {
  const n = ys.length;
  if (threshold >= n || threshold < 3) return Uint32Array.from({ length: n }, (_, i) => i);
  const x = (i: number): number => (xs ? xs[i]! : i);
  const out = new Uint32Array(threshold);
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  out[0] = 0;
  for (let i = 0; i < threshold - 2; i++) {
    // Average of the next bucket: the third corner of the triangle.
    const nextStart = Math.floor((i + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let avgX = 0;
    let avgY = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      avgX += x(j);
      avgY += ys[j]!;
    }
    const len = Math.max(1, nextEnd - nextStart);
    avgX /= len;
    avgY /= len;
    const start = Math.floor(i * every) + 1;
    const end = Math.floor((i + 1) * every) + 1;
    const ax = x(a);
    const ay = ys[a]!;
    let maxArea = -1;
    let pick = start;
    for (let j = start; j < end; j++) {
      const area = Math.abs((ax - avgX) * (ys[j]! - ay) - (ax - x(j)) * (avgY - ay));
      if (area > maxArea) {
        maxArea = area;
        pick = j;
      }
    }
    out[i + 1] = a = pick;
  }
  out[threshold - 1] = n - 1;
  return out;
}
