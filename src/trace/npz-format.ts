/**
 * A trace as an .npz that numpy reads: pred [N, K] int32; max_prob, entropy,
 * margin [N, K] float32 when present; probs [N, K, C]; labels [N]; costs [K];
 * and exits.json (names, MACs, latency, cost source, and for a recorded file
 * what it was recorded from), which numpy's np.load hands back as raw bytes.
 */
import type { ImageOptions } from '../data/types.js';
import type { ShardPlace } from './shards.js';
import type { TraceExit } from './types.js';
import type { MacsBasis } from '../model/types.js';

export const NPZ_META = 'exits.json';

export interface NpzMeta {
  format: 'exit-studio/trace';
  version: 1;
  classes: number;
  costSource: string;
  exits: TraceExit[];
  /** The input shapes the exits' MACs were counted at, and how (recorded traces). */
  macsBasis?: MacsBasis;
  /** Present in files written by `infer --out`: what was recorded, so shards can be checked and merged. */
  recording?: NpzRecording;
}

/** The identity of a recorded trace file: which model, which data, which part of it, read how. */
export interface NpzRecording {
  model: { name: string; sha256: string };
  /** The whole dataset's identity (not the shard's): every shard of one job carries the same. */
  dataset: { name: string; sha256: string };
  /** Which block of the dataset this file holds; shard 0 of 1 when the job was not split. */
  shard: ShardPlace;
  /** Settings that change which samples are read, or their values: shards merge only when these agree. */
  settings: RecordingSettings;
}

export interface RecordingSettings {
  limit: number | null;
  labelColumn: string | null;
  image: ImageOptions | null;
}
