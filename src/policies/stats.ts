/** Mean and 95 % Student-t interval across seeds. */

// Two-sided 97.5 % quantiles of Student's t for df = 1..30.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t_{0.975, df}: table up to 30, Cornish-Fisher expansion beyond (error < 1e-4 there). */
export function tQuantile975(df: number): number {
  if (df < 1) return NaN;
  if (df <= 30) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface Stat {
  mean: number;
  /** Half-width of the 95 % t-interval across seeds (0 with one seed). */
  ci95: number;
  perSeed: number[];
}

export function statOf(values: readonly number[]): Stat {
  const n = values.length;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = n > 0 ? sum / n : NaN;
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  const ci95 = n > 1 ? tQuantile975(n - 1) * Math.sqrt(ss / (n - 1) / n) : 0;
  return { mean, ci95, perSeed: values.slice() };
}
