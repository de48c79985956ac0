/**
 * A trace as an .npz that numpy reads: pred [N, K] int32; max_prob, entropy,
 * margin [N, K] float32 when present; probs [N, K, C]; labels [N]; costs [K];
 * and exits.json (names, MACs, latency, cost source), which numpy's np.load
 * hands back as raw bytes.
 */
export const NPZ_META = 'exits.json';

export interface NpzMeta {
  format: 'exit-studio/trace';
  version: 1;
  classes: number;
  costSource: string;
  exits: { name: string; macs?: number; latencyMs?: number }[];
}
