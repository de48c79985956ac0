/** Per-exit costs given with an imported trace: checked, then normalized so the last exit costs 1. */
import { inputError } from '../errors.js';
import { normalizeCosts } from './features.js';
import type { CostSource } from './types.js';

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
