/**
 * Which per-exit costs a run trades against (the trace's own, MACs, measured
 * latency, equal steps, or the user's numbers), and the budget parameter that
 * is read in their units.
 */
import { z } from 'zod';
import { StudioError } from '../errors.js';
import { checkCosts, equalSteps, macsProvenance, measuredCosts, traceCosts, type ResolvedCosts } from '../trace/costs.js';
import type { Trace } from '../trace/types.js';

export type CostChoice = number[] | 'trace' | 'macs' | 'latency' | 'uniform';

/** What costs are resolved from: a trace, or just its header (TraceMeta). */
export type CostedTrace = Pick<Trace, 'exits' | 'costSource' | 'macsBasis'> & { costs: ArrayLike<number> };

/** The named cost choices a trace can serve: MACs and latency only when every exit has the number. */
export function costChoices(trace: CostedTrace): ('trace' | 'macs' | 'latency' | 'uniform')[] {
  return ['trace', ...(measuredCosts(trace.exits, 'macs') ? (['macs'] as const) : []), ...(measuredCosts(trace.exits, 'latency') ? (['latency'] as const) : []), 'uniform'];
}

/**
 * The costs a run uses for a cost choice: checked and normalized so the last
 * exit costs 1 (numbers in any unit go in, as with import-trace), with the
 * numbers they came from and their source.
 */
export function resolveCostChoice(trace: CostedTrace, choice: CostChoice | undefined): ResolvedCosts {
  const K = trace.exits.length;
  if (choice === undefined || choice === 'trace') return traceCosts(trace);
  if (Array.isArray(choice)) {
    try {
      return { costs: checkCosts(choice, K), costSource: 'user', rawCosts: [...choice] };
    } catch (e) {
      throw new StudioError(`costs ${choice.join(', ')}: ${e instanceof Error ? e.message : String(e)}`, { kind: 'input', cause: e });
    }
  }
  if (choice === 'uniform') return { costs: equalSteps(K), costSource: 'uniform' };
  const m = measuredCosts(trace.exits, choice);
  if (!m) {
    throw new StudioError(
      choice === 'macs'
        ? 'this trace has no MACs per exit (imported traces do not); give the costs as numbers, or latency'
        : 'this trace has no measured latency per exit; record it by running the model, or give the costs as numbers',
      { kind: 'input', field: 'costs' },
    );
  }
  return { costs: m.costs, costSource: choice, rawCosts: m.raw, ...(choice === 'macs' ? { macs: macsProvenance(trace.exits, trace.macsBasis) } : {}) };
}

/**
 * The budget a budgeted policy meets when none is given: halfway between
 * what exit 1 costs and what the last exit costs (1), to two decimals, and
 * never below exit 1 (no rule can spend less than that).
 */
export function defaultBudget(costs: ArrayLike<number>): number {
  const first = costs[0]!;
  const half = Math.round(((first + 1) / 2) * 100) / 100;
  return Math.min(1, Math.max(first, half));
}

/**
 * A budget parameter: mean cost per sample, in the costs' units (last exit = 1).
 * Shared by every budgeted policy. Left out, it follows the run's costs (defaultBudget).
 */
export const budgetParam = z
  .number()
  .gt(0)
  .lte(1)
  .optional()
  .meta({
    title: 'Budget',
    description: "Mean cost per sample to meet, in the costs' units (the last exit costs 1). Default: halfway between exit 1's cost and 1.",
    examples: [0.5],
  });

/** The budget a run uses: the one given, else the default for its costs. */
export function budgetFor(given: number | undefined, costs: ArrayLike<number>): number {
  return given ?? defaultBudget(costs);
}

/** A budget no rule can meet: below what exit 1 costs. */
export function budgetRefusal(budget: number | undefined, costs: ArrayLike<number>): string | undefined {
  const b = budgetFor(budget, costs);
  return b < costs[0]! ? `the budget ${b} is below the cost of exit 1 (${Number(costs[0]!.toPrecision(4))}), so no rule can meet it; give a budget between ${Number(costs[0]!.toPrecision(4))} and 1, or leave it out (default ${defaultBudget(costs)})` : undefined;
}
