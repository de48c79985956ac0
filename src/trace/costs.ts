/**
 * Per-exit costs, wherever they come from: numbers a user gives (import-trace,
 * run, the Policy lab), MACs, measured latency, or equal steps when nothing
 * is known. One function checks and normalizes them all (the last exit costs
 * 1, the unit budgets and lambda are in), and one type says where the numbers
 * came from, so a figure that depends on costs can say which it used.
 */
import { inputError, StudioError } from '../errors.js';
import type { MacsBasis, MacsSource } from '../model/types.js';
import type { CostSource, TraceExit } from './types.js';

/** Costs as a trace or a run uses them, and where they came from. */
export interface ResolvedCosts {
  /** Cumulative, normalized so the last exit costs 1: what policies, budgets and metrics use. */
  costs: number[];
  costSource: CostSource;
  /** The numbers before normalizing, in their own unit (the user's numbers, MACs, ms per sample); absent for equal steps. */
  rawCosts?: number[];
  /** Equal steps because nothing gave costs (an import without costs, a model with neither MACs nor timings). */
  costsAssumed?: boolean;
  /** MAC-based costs: how each exit's count was obtained (null: not said, older traces), and at which input shapes. */
  macs?: { source: (MacsSource | null)[]; basis?: MacsBasis };
}

/**
 * Checks cumulative costs for K exits (finite, >= 0, non-decreasing with depth,
 * the last one positive) and normalizes them so the last exit costs 1. Any
 * unit goes in: layers, MACs, milliseconds. Throws a StudioError (bad input)
 * saying what is wrong; callers add where the numbers came from.
 */
export function checkCosts(given: readonly number[], K: number): number[] {
  if (given.length !== K) throw new StudioError(`the trace has ${K} exits; got ${given.length} costs`, { kind: 'input' });
  for (let k = 0; k < K; k++) {
    const c = given[k]!;
    if (!(Number.isFinite(c) && c >= 0)) throw new StudioError(`costs must be finite numbers >= 0; exit ${k + 1}'s is ${c}`, { kind: 'input' });
    if (k > 0 && c < given[k - 1]!) {
      throw new StudioError(`costs are cumulative, so they must not decrease with depth; exit ${k + 1} (${c}) < exit ${k} (${given[k - 1]})`, { kind: 'input' });
    }
  }
  const last = given[K - 1]!;
  if (!(last > 0)) throw new StudioError(`the last exit's cost must be positive; got ${last}`, { kind: 'input' });
  return given.map((c) => c / last);
}

/** Equal steps k/K: the costs when nothing says otherwise. */
export function equalSteps(K: number): number[] {
  return Array.from({ length: K }, (_, k) => (k + 1) / K);
}

/**
 * The user's cumulative costs for a file's exits, checked and normalized, each
 * exit keeping the number given for it; or equal steps (assumed) when none are given.
 */
export function importCosts(path: string, exits: readonly TraceExit[], given: readonly number[] | undefined): { exits: TraceExit[]; costs: Float64Array; costSource: CostSource } {
  const K = exits.length;
  if (!given) return { exits: [...exits], costs: Float64Array.from(equalSteps(K)), costSource: 'uniform' };
  if (given.length !== K) throw inputError(path, `has ${K} exit columns, but ${given.length} costs were given`);
  try {
    return { exits: exits.map((e, k) => ({ ...e, givenCost: given[k]! })), costs: Float64Array.from(checkCosts(given, K)), costSource: 'user' };
  } catch (e) {
    throw inputError(path, e instanceof Error ? e.message : String(e), e);
  }
}

/**
 * Costs from the exits' MACs or measured latency, cumulative and normalized,
 * or undefined when some exit lacks the number. Measured timings are noisy: a
 * deeper exit never costs less than a shallower one (it computes everything
 * the shallower one does).
 */
export function measuredCosts(exits: readonly TraceExit[], what: 'macs' | 'latency'): { costs: number[]; raw: number[] } | undefined {
  const raw = exits.map((e) => (what === 'macs' ? e.macs : e.latencyMs));
  if (raw.some((v) => v === undefined || !(v >= 0)) || !(raw[raw.length - 1]! > 0)) return undefined;
  const cum = (raw as number[]).slice();
  for (let k = 1; k < cum.length; k++) cum[k] = Math.max(cum[k]!, cum[k - 1]!);
  return { costs: checkCosts(cum, cum.length), raw: raw as number[] };
}

/** A recorded trace's costs: MACs when the graph gave them, else measured latency, else equal steps. */
export function defaultCosts(exits: TraceExit[]): { costs: number[]; costSource: CostSource } {
  const macs = measuredCosts(exits, 'macs');
  if (macs) return { costs: macs.costs, costSource: 'macs' };
  const lat = measuredCosts(exits, 'latency');
  if (lat) return { costs: lat.costs, costSource: 'latency' };
  return { costs: equalSteps(exits.length), costSource: 'uniform' };
}

/** How each exit's MAC count was obtained, and the basis, for costs computed from MACs. */
export function macsProvenance(exits: readonly TraceExit[], basis: MacsBasis | undefined): NonNullable<ResolvedCosts['macs']> {
  return { source: exits.map((e) => e.macsSource ?? null), ...(basis ? { basis } : {}) };
}

/** A stored trace's own costs, with the numbers they came from. */
export function traceCosts(t: { exits: readonly TraceExit[]; costs: ArrayLike<number>; costSource: CostSource; macsBasis?: MacsBasis | undefined }): ResolvedCosts {
  const out: ResolvedCosts = { costs: Array.from(t.costs), costSource: t.costSource };
  const raw =
    t.costSource === 'macs' ? t.exits.map((e) => e.macs) : t.costSource === 'latency' ? t.exits.map((e) => e.latencyMs) : t.costSource === 'user' ? t.exits.map((e) => e.givenCost) : [];
  if (raw.length && raw.every((v) => typeof v === 'number')) out.rawCosts = raw as number[];
  if (t.costSource === 'uniform') out.costsAssumed = true;
  if (t.costSource === 'macs') out.macs = macsProvenance(t.exits, t.macsBasis);
  return out;
}

/** Whether some exit's MAC count behind these costs is an estimate (a lower bound or an assumed input size). */
export function macsEstimated(c: Pick<ResolvedCosts, 'macs'>): boolean {
  return c.macs?.source.includes('estimate') ?? false;
}

/** One line saying which costs these are: "macs (exact): 0.1733, 0.3386, …, 1". */
export function describeCosts(c: ResolvedCosts, digits = 4): string {
  const fmt = (x: number): string => String(Number(x.toPrecision(digits)));
  const values = c.costs.map(fmt).join(', ');
  if (c.costsAssumed) return `equal steps, assumed (nothing gave costs): ${values}`;
  const how =
    c.costSource === 'macs'
      ? `MACs (${macsEstimated(c) ? 'some exits estimated' : c.macs?.source.every((s) => s === null) ? 'exactness not recorded' : 'exact'})`
      : c.costSource === 'latency'
        ? 'measured latency'
        : c.costSource === 'uniform'
          ? 'equal steps'
          : c.costSource === 'user'
            ? 'given'
            : c.costSource;
  const same = c.rawCosts?.every((x, k) => Math.abs(x - c.costs[k]!) < 1e-12) ?? true;
  const raw = c.rawCosts && !same ? `${c.rawCosts.map((x) => (Math.abs(x) >= 1e4 ? Math.round(x).toLocaleString('en-US') : fmt(x))).join(', ')} → ` : '';
  return `${how}: ${raw}${values}`;
}
