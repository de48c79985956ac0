/**
 * Costs as the views say them: where they came from (MACs counted exactly or
 * estimated, measured latency, equal steps assumed, the user's numbers), their
 * values, and which cost choice reproduces a run's costs. Pure, tested under Node.
 */
import type { CostChoiceName, ResolvedCosts, TraceMeta } from './types.js';

/** A cost choice in the Policy lab: a named one, or the user's numbers. */
export type CostChoice = CostChoiceName | 'numbers';

export const CHOICE_TEXT: Record<CostChoice, string> = {
  trace: "The trace's own",
  macs: 'MACs',
  latency: 'Measured latency',
  uniform: 'Equal steps',
  numbers: 'Your numbers',
};

/** Where costs came from, in a few words: "MACs (exact)", "equal steps (assumed)". */
export function costsSource(c: Pick<ResolvedCosts, 'costSource' | 'costsAssumed' | 'macs'>): string {
  if (c.costsAssumed) return 'equal steps (assumed: none given)';
  switch (c.costSource) {
    case 'macs': {
      const s = c.macs?.source ?? [];
      if (s.includes('estimate')) return 'MACs (some estimated)';
      if (s.length && s.every((x) => x !== null)) return s.includes('probed') ? 'MACs (exact, partly from one run)' : 'MACs (exact)';
      return 'MACs';
    }
    case 'latency':
      return 'measured latency';
    case 'uniform':
      return 'equal steps';
    case 'user':
      return 'your numbers';
    default:
      return c.costSource;
  }
}

const short = (x: number): string => String(Math.round(x * 1000) / 1000);

/** The normalized values: "0.173 · 0.339 · 0.504 · 1". */
export function costsValues(c: Pick<ResolvedCosts, 'costs'>): string {
  return c.costs.map(short).join(' · ');
}

/** One line per exit, for a tooltip: "exit_1: 0.1733 (1,108,736 MACs, exact)". */
export function costsDetail(c: ResolvedCosts, exitNames: readonly string[] = []): string {
  const unit = c.costSource === 'macs' ? ' MACs' : c.costSource === 'latency' ? ' ms' : '';
  const how = { static: 'exact', probed: 'exact, from one run', estimate: 'estimate' } as const;
  return c.costs
    .map((v, k) => {
      const raw = c.rawCosts?.[k];
      const src = c.macs?.source[k];
      const extra = [raw !== undefined && raw !== v ? `${raw.toLocaleString('en-US')}${unit}` : '', src ? how[src] : ''].filter(Boolean).join(', ');
      return `${exitNames[k] ?? `exit ${k + 1}`}: ${Math.round(v * 10000) / 10000}${extra ? ` (${extra})` : ''}`;
    })
    .join('\n');
}

/** A key that two sets of costs share only when they are the same numbers (to 1e-9). */
export function costsKey(c: Pick<ResolvedCosts, 'costs'>): string {
  return c.costs.map((x) => Math.round(x * 1e9)).join(',');
}

/**
 * The cost choice that gives a stored run's costs again on its trace: the trace's
 * own, a named source, or the numbers it was given (a saved run reopened in the lab).
 */
export function choiceOf(run: ResolvedCosts, trace: Pick<TraceMeta, 'costs' | 'costSource'>): { choice: CostChoice; numbers: string } {
  if (run.costSource === trace.costSource && costsKey(run) === costsKey(trace)) return { choice: 'trace', numbers: '' };
  if (run.costSource === 'macs' || run.costSource === 'latency' || run.costSource === 'uniform') return { choice: run.costSource, numbers: '' };
  return { choice: 'numbers', numbers: (run.rawCosts ?? run.costs).map((x) => String(x)).join(', ') };
}
