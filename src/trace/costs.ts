/**
 * Per-exit costs: those a recorded trace gets from its exits (MACs, else
 * measured latency), and those given with an imported trace, checked; both
 * normalized so the last exit costs 1.
 */
import { inputError } from '../errors.js';
import { normalizeCosts } from './features.js';
import type { CostSource, TraceExit } from './types.js';

/** The user's cumulative costs for a file's K exits, or equal steps (k/K) when none are given. */
export function importCosts(path: string, K: number, given: readonly number[] | undefined): { costs: Float64Array; costSource: CostSource } {
  if (!given) return { costs: Float64Array.from({ length: K }, (_, k) => (k + 1) / K), costSource: 'uniform' };
  if (given.length !== K) throw inputError(path, `has ${K} exit columns, but ${given.length} costs were given`);
  for (let k = 0; k < K; k++) {
    const c = given[k]!;
    if (!(Number.isFinite(c) && c >= 0) || (k > 0 && c < given[k - 1]!)) {
      throw inputError(path, `costs must be finite, >= 0 and non-decreasing by depth; got ${given.join(', ')}`);
    }
  }
  try {
    return { costs: normalizeCosts(given), costSource: 'user' };
  } catch (e) {
    throw inputError(path, e instanceof Error ? e.message : String(e), e);
  }
}

/** MACs when the graph gave them, else measured latency, else equal steps. */
export function defaultCosts(exits: TraceExit[]): { costs: number[]; costSource: CostSource } {
  const macs = exits.map((e) => e.macs ?? 0);
  if (macs[macs.length - 1]! > 0 && macs.every((m, i) => i === 0 || m >= macs[i - 1]!)) {
    return { costs: Array.from(normalizeCosts(macs)), costSource: 'macs' };
  }
  const lat = exits.map((e) => e.latencyMs ?? 0);
  if (lat[lat.length - 1]! > 0) {
    // Measured timings are noisy: keep them cumulative (non-decreasing).
    for (let i = 1; i < lat.length; i++) lat[i] = Math.max(lat[i]!, lat[i - 1]!);
    return { costs: Array.from(normalizeCosts(lat)), costSource: 'latency' };
  }
  return { costs: exits.map((_, i) => (i + 1) / exits.length), costSource: 'uniform' };
}
