/**
 * The Policy lab's state, kept across screens: the runs of the latest
 * policy.run (final, from its result) and the live series while it runs
 * (from its 'partial' events).
 */
import { normalizeSeries } from './series.js';
import type { RunSeries, RunSummary } from './types.js';

export interface LabRun {
  runId?: number;
  policy: string;
  seeds?: number[];
  summary?: RunSummary | null;
  learned?: Record<string, unknown> | null;
  series?: RunSeries | null;
  /** EENet's fits with their per-epoch history (from run.show). */
  fits?: unknown;
}

class LabState {
  /** Final runs of the latest policy.run, in the order the policies were asked for. */
  runs = $state.raw<LabRun[]>([]);
  /** Live series by policy while a run goes on. */
  live = $state.raw<Record<string, RunSeries>>({});
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

  /** Folds one 'partial' event in; returns false when it carried nothing drawable. */
  partial(data: unknown): boolean {
    if (typeof data !== 'object' || data === null) return false;
    const o = data as Record<string, unknown>;
    // One policy per event ({policy, series}) or several ({runs: [{policy, series}]}).
    const items = Array.isArray(o.runs) ? (o.runs as unknown[]) : Array.isArray(o.policies) ? (o.policies as unknown[]) : [o];
    let changed = false;
    const next = { ...this.live };
    items.forEach((it, i) => {
      if (typeof it !== 'object' || it === null) return;
      const r = it as Record<string, unknown>;
      const policy = typeof r.policy === 'string' ? r.policy : typeof r.spec === 'string' ? r.spec : (this.policies[i] ?? `policy ${i + 1}`);
      const s = normalizeSeries(r.series ?? r);
      if (s) {
        next[policy] = s;
        changed = true;
      }
    });
    if (changed) this.live = next;
    return changed;
  }
}

export const lab = new LabState();
