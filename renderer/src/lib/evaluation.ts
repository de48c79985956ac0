/**
 * How a run's figures were obtained (docs/policies.md, "How a figure is
 * obtained"), in the words the views show beside every figure, and the
 * samples two runs must share before Compare ranks them. Pure functions,
 * tested under Node.
 */
import type { Evaluation } from './types.js';

const count = (n: number): string => n.toLocaleString('en-US');

/** The short label a badge, a legend or a chart note shows. */
export function evaluationLabel(e: Evaluation | null | undefined, hindsight = false): string {
  if (!e) return 'evaluation unknown';
  switch (e.mode) {
    case 'held-out':
      return `held-out · ${count(e.evaluationSamples)} of ${count(e.evaluationSamples + e.calibrationSamples)} samples`;
    case 'cross-trace':
      return `cross-trace · fitted on trace #${e.calibrationTrace ?? '?'}`;
    case 'in-sample':
      return hindsight ? 'in-sample (hindsight)' : 'in-sample';
  }
}

/** One sentence saying what the label means. */
export function evaluationDetail(e: Evaluation | null | undefined, hindsight = false): string {
  if (!e) return 'This run does not say how its figures were obtained.';
  switch (e.mode) {
    case 'held-out':
      return `Each seed splits the trace: fitted policies fit on ${count(e.calibrationSamples)} samples, and every policy is scored on the other ${count(e.evaluationSamples)}.`;
    case 'cross-trace':
      return `Fitted policies fit on trace #${e.calibrationTrace ?? '?'} (${count(e.calibrationSamples)} samples); every policy is scored on all ${count(e.evaluationSamples)} samples of this trace.`;
    case 'in-sample':
      return hindsight
        ? `This policy was fitted on the very ${count(e.evaluationSamples)} samples it is scored on: its figures are hindsight, not what to expect on new data.`
        : `Every policy replays all ${count(e.evaluationSamples)} samples of the trace.`;
  }
}

/**
 * The samples a run was scored on, as a key: the whole trace (in-sample, cross-trace), or the
 * held-out parts its trace, share and seeds fix (as the engine's run.compare). Runs rank only on one key.
 */
export function evaluationSamples(r: { traceId: number; seeds?: readonly number[]; evaluation?: Evaluation | null }): string {
  const e = r.evaluation;
  if (!e) return JSON.stringify([r.traceId, 'unknown']);
  return JSON.stringify(e.mode === 'held-out' ? [r.traceId, 'held-out', e.evaluationSamples, r.seeds ?? []] : [r.traceId, 'all', e.evaluationSamples]);
}

/** What a policy.run payload's evaluation is, as the Policy lab's picker sets it; 'auto' leaves it to the engine's default. */
export type EvaluationChoice = { mode: 'auto' } | { mode: 'held-out'; holdout: number } | { mode: 'cross-trace'; traceId: number | null } | { mode: 'in-sample' };

/** The payload field for a choice; undefined for 'auto'. Throws a message a user can act on for an incomplete choice. */
export function evaluationPayload(c: EvaluationChoice): Record<string, unknown> | undefined {
  if (c.mode === 'auto') return undefined;
  if (c.mode === 'held-out') {
    if (!(c.holdout > 0 && c.holdout < 1)) throw new Error('The held-out share is the part of the trace kept aside to score on: a number between 0 and 1, e.g. 0.5.');
    return { mode: 'held-out', holdout: c.holdout };
  }
  if (c.mode === 'cross-trace') {
    if (c.traceId === null) throw new Error('Choose the trace to fit on (another trace of the same model and exits).');
    return { mode: 'cross-trace', traceId: c.traceId };
  }
  return { mode: 'in-sample' };
}

/** The picker's choice that evaluates as a stored run was (a run reopened in the Policy lab); a held-out share to two decimals. */
export function evaluationChoiceOf(e: Evaluation): EvaluationChoice {
  if (e.mode === 'in-sample') return { mode: 'in-sample' };
  if (e.mode === 'cross-trace') return { mode: 'cross-trace', traceId: e.calibrationTrace ?? null };
  const n = e.calibrationSamples + e.evaluationSamples;
  return { mode: 'held-out', holdout: n > 0 ? Math.round((e.evaluationSamples / n) * 100) / 100 : 0.5 };
}
