/**
 * One seed of a policy run as the store keeps it: its series as a binary blob
 * (series-codec.ts) and the rest (summary, what it learned, EENet's fits) as
 * exact JSON. Made where the seed is replayed (a worker thread), so the
 * thread that writes the database only writes.
 */
import type { SeedResult } from '../policies/run.js';
import { decodeExact, encodeExact } from './exact-json.js';
import { decodeSeries, encodeSeries } from './series-codec.js';

export interface StoredSeed {
  seed: number;
  /** encodeExact of SeedMeta. */
  meta: string;
  /** encodeSeries of the seed's series on the run's grid. */
  series: Uint8Array;
}

/**
 * What a seed row holds besides its series: its summary, what it learned
 * and EENet's fits. Once its run completes, only the first seed keeps what
 * it learned (the run's `learned`; the others' served to resume), as in runs
 * converted from an older database, which kept no more.
 */
export type SeedMeta = Partial<Pick<SeedResult, 'summary' | 'learned' | 'fits'>>;

export function encodeSeed(r: SeedResult, rounds: Uint32Array): StoredSeed {
  const meta: SeedMeta = { summary: r.summary, learned: r.learned };
  if (r.fits) meta.fits = r.fits;
  return { seed: r.seed, meta: encodeExact(meta), series: encodeSeries({ rounds, series: r.series }) };
}

export function decodeMeta(meta: string): SeedMeta {
  return decodeExact<SeedMeta>(meta);
}

/** A whole seed back (its grid too), or undefined when the row lacks its summary or what it learned (a converted older run). */
export function decodeSeed(s: StoredSeed): { result: SeedResult; rounds: Uint32Array } | undefined {
  const meta = decodeMeta(s.meta);
  if (!meta.summary || !meta.learned) return undefined;
  const { rounds, series } = decodeSeries(s.series);
  const result: SeedResult = { seed: s.seed, summary: meta.summary, series, learned: meta.learned };
  if (meta.fits) result.fits = meta.fits;
  return { result, rounds };
}
