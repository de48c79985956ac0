/**
 * Share filling: per-exit thresholds on a score that give each exit a share
 * of the samples. Exit k, from the first up, takes the samples left with the
 * highest score at k, as many as its share; its threshold is the lowest score
 * it took (ties at the threshold go too, as they would deployed, where a
 * sample exits at the first k whose score reaches threshold k). The last exit
 * takes the rest (threshold 0). EENet fills with its assignment shares and
 * scores, the geometric budget with geometric shares and max probabilities.
 */

/** Above any score in [0, 1]: nobody exits there. */
export const NEVER = 2;

/**
 * Thresholds for `score` (n*K, sample-major, in [0, 1]) giving exit k about
 * counts[k] samples (rounded; exits 1..K-1 only, the last takes the rest).
 */
export function fillShares(score: ArrayLike<number>, counts: ArrayLike<number>, n: number, K: number): Float64Array {
  const th = new Float64Array(K);
  const left = new Uint8Array(n).fill(1);
  let remaining = n;
  const buf = new Float64Array(n);
  for (let k = 0; k < K - 1; k++) {
    const m = Math.min(remaining, Math.round(counts[k]!));
    if (m === 0) {
      th[k] = NEVER;
      continue;
    }
    let len = 0;
    for (let s = 0; s < n; s++) if (left[s]) buf[len++] = score[s * K + k]!;
    const sorted = buf.subarray(0, len).sort();
    const t = sorted[len - m]!;
    th[k] = t;
    for (let s = 0; s < n; s++) {
      if (left[s] && score[s * K + k]! >= t) {
        left[s] = 0;
        remaining--;
      }
    }
  }
  th[K - 1] = 0;
  return th;
}
