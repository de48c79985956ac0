/**
 * The Policy lab's state, kept across screens: the runs of the latest
 * policy.run (final, from its result) and the live series while it runs
 * (from its 'partial' events).
 */
import type { CostChoice } from './costs.js';
import type { FailedPolicy, LabRun, PolicyPartial, ResolvedCosts } from './types.js';

class LabState {
  /** Final runs of the latest policy.run, in the order the policies were asked for. */
  runs = $state.raw<LabRun[]>([]);
  /** Policies of the latest policy.run that did not run, and why. */
  failed = $state.raw<FailedPolicy[]>([]);
  /** The costs the latest runs used, as the engine resolved them. */
  costs = $state.raw<ResolvedCosts | null>(null);
  /** Each policy's latest partial result (series so far, summary) while a run goes on, by its place in the request. */
  live = $state.raw<Record<number, PolicyPartial>>({});
  running = $state(false);
  traceId = $state<number | null>(null);
  policies = $state.raw<string[]>([]);
  /** The lab's shared settings, so a flow that starts a run elsewhere (Home's sample) shows what it used. */
  seeds = $state(5);
  lambda = $state(1);
  /** Which costs the next run uses: the trace's own unless the user picks others (shown with their source). */
  costChoice = $state<CostChoice>('trace');
  costNumbers = $state('');

  reset(traceId: number, policies: string[]): void {
    this.traceId = traceId;
    this.policies = policies;
    this.runs = [];
    this.failed = [];
    this.costs = null;
    this.live = {};
  }

  /** Folds one policy's 'partial' event in: it replaces that policy's previous one. */
  partial(p: PolicyPartial): void {
    this.live = { ...this.live, [p.index]: p };
  }

  /** policy.run's result: the runs in the order asked for, and the policies that did not run. */
  finish(out: { runs: LabRun[]; failed?: FailedPolicy[]; costs?: ResolvedCosts }): void {
    this.runs = out.runs;
    this.failed = out.failed ?? [];
    this.costs = out.costs ?? null;
  }
}

export const lab = new LabState();
