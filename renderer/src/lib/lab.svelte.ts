/**
 * The Policy lab's state, kept across screens: the runs of the latest
 * policy.run (final, from its result) and the live series while it runs
 * (from its 'partial' events).
 */
import type { LabRun, PolicyPartial } from './types.js';

class LabState {
  /** Final runs of the latest policy.run, in the order the policies were asked for. */
  runs = $state.raw<LabRun[]>([]);
  /** Each policy's latest partial result (series so far, summary) while a run goes on. */
  live = $state.raw<Record<string, PolicyPartial>>({});
  running = $state(false);
  traceId = $state<number | null>(null);
  policies = $state.raw<string[]>([]);
  /** The lab's shared settings, so a flow that starts a run elsewhere (Home's sample) shows what it used. */
  seeds = $state(5);
  lambda = $state(1);

  reset(traceId: number, policies: string[]): void {
    this.traceId = traceId;
    this.policies = policies;
    this.runs = [];
    this.live = {};
  }

  /** Folds one policy's 'partial' event in: it replaces that policy's previous one. */
  partial(p: PolicyPartial): void {
    this.live = { ...this.live, [p.spec]: p };
  }
}

export const lab = new LabState();
