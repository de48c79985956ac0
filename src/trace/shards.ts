/**
 * Shards of a dataset for a cluster job: shard I of N is a contiguous block of
 * samples in dataset order, so the shards, taken by index, concatenate to the
 * whole. Shard I of N over n samples holds [floor(I·n/N), floor((I+1)·n/N)).
 * The same formula is in examples/dask_record.py's help and in docs/scale.md.
 */

/** Which shard: index I in 0..N-1 (0-based, like a Kubernetes completion index) of N. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Where a shard lies in its dataset. */
export interface ShardPlace extends ShardSpec {
  /** Index of the shard's first sample in the whole dataset. */
  first: number;
  /** Samples in this shard. */
  samples: number;
  /** Samples in the whole dataset (after --limit). */
  total: number;
}

/** The place of shard `spec` over `total` samples; exact for any size (the product I·n can pass 2^53). */
export function shardPlace(spec: ShardSpec, total: number): ShardPlace {
  const at = (i: number): number => Number((BigInt(i) * BigInt(total)) / BigInt(spec.count));
  const first = at(spec.index);
  return { index: spec.index, count: spec.count, first, samples: at(spec.index + 1) - first, total };
}

/** "shard 2/4 (samples 1000–1499 of 2000)": samples numbered from 0, last one included. */
export function describeShard(p: ShardPlace): string {
  const range = p.samples > 0 ? `samples ${p.first}–${p.first + p.samples - 1}` : 'no samples';
  return `shard ${p.index}/${p.count} (${range} of ${p.total})`;
}
