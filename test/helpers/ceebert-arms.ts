/** CeeBERT's best arm in hindsight, from the definition of its reward: what a test holds the bandit to. */
import { CEEBERT_GRID } from '../../src/policies/ceebert.js';
import type { Trace } from '../../src/trace/types.js';

/** Mean reward (p_j - p_1) - lambda (C_j - C_1) of each threshold of the grid over the whole trace. */
export function armMeans(t: Trace, lambda: number, grid: readonly number[] = CEEBERT_GRID): number[] {
  const K = t.exits.length;
  const mp = t.maxProb!;
  return grid.map((a) => {
    let sum = 0;
    for (let s = 0; s < t.samples; s++) {
      let j = 0;
      while (j < K - 1 && !(mp[s * K + j]! >= a)) j++;
      sum += mp[s * K + j]! - mp[s * K]! - lambda * (t.costs[j]! - t.costs[0]!);
    }
    return sum / t.samples;
  });
}

/** The threshold with the highest mean reward (ties: the lowest). */
export function bestArmInHindsight(t: Trace, lambda: number, grid: readonly number[] = CEEBERT_GRID): number {
  const m = armMeans(t, lambda, grid);
  return grid[m.indexOf(Math.max(...m))]!;
}
