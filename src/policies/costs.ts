/** Which per-exit costs a run trades against: the trace's own, MACs, measured latency, equal steps, or the user's numbers. */
import { z } from 'zod';
import { StudioError } from '../errors.js';
import type { Trace } from '../trace/types.js';

export type CostChoice = number[] | 'trace' | 'macs' | 'latency' | 'uniform';

/** Resolves a cost choice to cumulative costs normalized so the last exit costs 1, and names their source. */
export function resolveCostChoice(trace: Trace, choice: CostChoice | undefined): { costs: number[]; source: string } {
  const K = trace.exits.length;
  if (choice === undefined || choice === 'trace') return { costs: Array.from(trace.costs), source: trace.costSource };
  if (Array.isArray(choice)) return { costs: choice, source: 'user' };
  if (choice === 'uniform') return { costs: Array.from({ length: K }, (_, k) => (k + 1) / K), source: 'uniform' };
  const raw = trace.exits.map((e) => (choice === 'macs' ? e.macs : e.latencyMs));
  if (raw.some((v) => v === undefined || !(v >= 0)) || !(raw[K - 1]! > 0)) {
    throw new StudioError(
      choice === 'macs'
        ? 'this trace has no MACs per exit (imported traces do not); give the costs as numbers, or latency'
        : 'this trace has no measured latency per exit; record it by running the model, or give the costs as numbers',
      { kind: 'input', field: 'costs' },
    );
  }
  // Cumulative by definition: a deeper exit computes everything a shallower one does.
  const cum = raw as number[];
  for (let k = 1; k < K; k++) cum[k] = Math.max(cum[k]!, cum[k - 1]!);
  return { costs: cum.map((v) => v / cum[K - 1]!), source: choice };
}

/** A budget parameter: mean cost per sample, in the costs' units (last exit = 1). Shared by every budgeted policy. */
export const budgetParam = z
  .number()
  .gt(0)
  .lte(1)
  .meta({ title: 'Budget', description: 'Mean cost per sample to meet, in the costs\' units (the last exit costs 1).', examples: [0.5] });

/** A budget no rule can meet: below what exit 1 costs. */
export function budgetRefusal(budget: number, costs: ArrayLike<number>): string | undefined {
  return budget < costs[0]! ? `the budget ${budget} is below the cost of exit 1 (${costs[0]}), so no rule can meet it` : undefined;
}
