/**
 * How a run's figures are obtained (docs/policies.md, "How a figure is
 * obtained"). A policy that is fitted or calibrated on trace data must not be
 * scored on the samples it was fitted on unless the run says so:
 *
 *  - held-out: per seed, a seeded split of the trace into a calibration part
 *    and an evaluation part (its share F, `--holdout F`); fitted policies fit
 *    on the calibration part, and every policy of the run replays the same
 *    evaluation stream;
 *  - cross-trace: fitted policies fit on another trace of the same model and
 *    exits; every policy replays this whole trace;
 *  - in-sample: the whole trace is both; a fitted policy's figures are then
 *    hindsight.
 */
import { StudioError } from '../errors.js';
import type { Trace, TraceMeta } from '../trace/types.js';
import { shuffledOrder } from './rng.js';

export type EvaluationMode = 'held-out' | 'cross-trace' | 'in-sample';

/** What every run reports about how its figures were obtained. */
export interface Evaluation {
  mode: EvaluationMode;
  /**
   * Samples set aside for fitting: the calibration part (held-out), the other
   * trace's samples (cross-trace), the whole trace (in-sample). Only policies
   * that fit read them.
   */
  calibrationSamples: number;
  /** Samples each seed replays and scores, for every policy of the run. */
  evaluationSamples: number;
  /** Cross-trace: the stored trace the fitted policies fit on. */
  calibrationTrace?: number;
}

/** How the engine is asked to evaluate a run. */
export type EvaluationPlan =
  | { mode: 'in-sample' }
  /** holdout: the evaluation part's share of the trace, in (0, 1). */
  | { mode: 'held-out'; holdout: number }
  /** calibration: the other trace; traceId: its id, reported with the run. */
  | { mode: 'cross-trace'; calibration: Trace; traceId?: number };

/** The evaluation part's share of the trace when a held-out run does not say. */
export const DEFAULT_HOLDOUT = 0.5;

/** Sizes of a held-out split of n samples with evaluation share `holdout`; refuses a split that leaves a part empty. */
export function heldOutSizes(n: number, holdout: number): { calibration: number; evaluation: number } {
  if (!(holdout > 0 && holdout < 1)) throw new StudioError(`holdout is the evaluation part's share of the trace, a number between 0 and 1 (exclusive); got ${holdout}`, { kind: 'input', field: 'holdout' });
  const evaluation = Math.round(holdout * n);
  const calibration = n - evaluation;
  if (evaluation < 1 || calibration < 1) {
    throw new StudioError(`a held-out split of ${n} samples at holdout ${holdout} leaves the ${evaluation < 1 ? 'evaluation' : 'calibration'} part empty; choose another holdout, or evaluate in-sample`, { kind: 'input', field: 'holdout' });
  }
  return { calibration, evaluation };
}

export interface HeldOutSplit {
  /** Calibration samples, in trace order. */
  calibration: Uint32Array;
  /** Evaluation samples, in the order the seed streams them. */
  evaluation: Uint32Array;
}

/**
 * Seed `seed`'s split: the trace shuffled by the seed (the order an in-sample
 * run streams); its first (1 - holdout)·n samples are the calibration part,
 * the rest, in that order, the evaluation stream. The same seed splits the
 * same trace the same way for every policy and every run.
 */
export function heldOutSplit(n: number, holdout: number, seed: number): HeldOutSplit {
  const { calibration: c } = heldOutSizes(n, holdout);
  const order = shuffledOrder(n, seed);
  return { calibration: order.slice(0, c).sort(), evaluation: order.subarray(c) };
}

/** The evaluation a plan gives on a trace of n samples (calibrationTrace where the plan names one). */
export function evaluationOf(plan: EvaluationPlan, n: number): Evaluation {
  switch (plan.mode) {
    case 'in-sample':
      return { mode: 'in-sample', calibrationSamples: n, evaluationSamples: n };
    case 'held-out': {
      const s = heldOutSizes(n, plan.holdout);
      return { mode: 'held-out', calibrationSamples: s.calibration, evaluationSamples: s.evaluation };
    }
    case 'cross-trace':
      return { mode: 'cross-trace', calibrationSamples: plan.calibration.samples, evaluationSamples: n, ...(plan.traceId === undefined ? {} : { calibrationTrace: plan.traceId }) };
  }
}

/** A policy that fits or calibrates on trace data: the registry's 'fitted' kind, or one that reads calibration data with its parameters. */
export function fitsOnData(p: { module: { kind: string }; usesHindsight: boolean }): boolean {
  return p.module.kind === 'fitted' || p.usesHindsight;
}

/** The mode a run gets when it does not choose one: held-out whenever one of its policies fits on data, else in-sample. */
export function defaultEvaluation(policies: readonly { module: { kind: string }; usesHindsight: boolean }[]): { mode: 'held-out'; holdout: number } | { mode: 'in-sample' } {
  return policies.some(fitsOnData) ? { mode: 'held-out', holdout: DEFAULT_HOLDOUT } : { mode: 'in-sample' };
}

/**
 * Why trace `cal` cannot calibrate a run on trace `on`: it must be another
 * trace of the same model and exits (names in order, classes, and the model's
 * hash where both traces know it).
 */
export function calibrationTraceRefusal(on: TraceMeta, cal: TraceMeta): string | undefined {
  const what = `calibration trace ${cal.id}`;
  if (cal.id === on.id) return `${what} is the trace being evaluated; fitting and scoring on it is an in-sample evaluation`;
  const names = (t: TraceMeta): string => t.exits.map((e) => e.name).join(', ');
  if (names(cal) !== names(on)) return `${what} has exits ${names(cal)}; trace ${on.id} has ${names(on)}: calibrate on a trace of the same model and exits`;
  if (cal.classes !== on.classes) return `${what} has ${cal.classes} classes; trace ${on.id} has ${on.classes}: calibrate on a trace of the same model`;
  if (cal.modelSha256 && on.modelSha256 && cal.modelSha256 !== on.modelSha256) {
    return `${what} was recorded from another model (sha256 ${cal.modelSha256.slice(0, 12)}…, not ${on.modelSha256.slice(0, 12)}…): calibrate on a trace of the same model`;
  }
  return undefined;
}

/**
 * The calibration data a policy may read: `read` for a policy that fits on
 * data, for any other a value that throws on access, so that a policy which
 * declares it learns from its stream alone cannot read it by mistake.
 */
export function calibrationFor(name: string, fits: boolean, read: () => Trace): () => Trace {
  if (fits) return read;
  return () => {
    throw new StudioError(`policy ${name} read calibration data, but its module says it learns from its stream alone (usesHindsight false)`, { kind: 'internal' });
  };
}
