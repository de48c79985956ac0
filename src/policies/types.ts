/**
 * The one interface every exit policy implements, and what the replay engine
 * hands it. Exit indices are 0-based in code (exit k = trace.exits[k]); specs
 * and reports shown to a user say "exit k+1".
 *
 * Two decision shapes meet in one round protocol:
 *  - up-front policies (UEE-UCB, fixed, random, best-fixed) choose an exit j in
 *    `begin` and answer `stop` with true: the engine computes exits 0..j;
 *  - sequential policies (DEE, thresholds, patience, EENet) return 0 from
 *    `begin` and decide at each computed exit in `stop`: false computes one
 *    more exit, true exits there.
 * Either way `end` sees every exit that was computed, and nothing beyond.
 */
import type { Trace } from '../trace/types.js';
import type { LearnedPolicy } from './rules/index.js';

/**
 * What a deployed model has computed for the current sample. Accessors throw
 * a StudioError for exits at or beyond `depth` (not computed yet), and
 * `label()` throws unless the run is supervised: the engine, not the policy's
 * good manners, keeps a replay honest.
 */
export interface Observation {
  /** Number of exits computed so far for this sample (exits 0..depth-1). */
  readonly depth: number;
  /** Number of exits of the model, K. */
  readonly exits: number;
  /** Number of classes, C. */
  readonly classes: number;
  pred(exit: number): number;
  maxProb(exit: number): number;
  entropy(exit: number): number;
  margin(exit: number): number;
  /** Probability of class c at exit `exit` (needs trace.probs). */
  prob(exit: number, c: number): number;
  /** The true label (supervised runs only; -1 when unknown). */
  label(): number;
}

export interface Policy {
  /** Stable name for reports, e.g. "uee-ucb" or "fixed:2". */
  readonly name: string;
  /**
   * Round `round` (1-based) starts; nothing is computed yet. Returns the exit
   * index to compute up to before the first `stop` call: an up-front policy's
   * choice, or 0 for a sequential policy.
   */
  begin(round: number): number;
  /**
   * Exits 0..obs.depth-1 are computed. true: exit at obs.depth-1; false:
   * compute the next exit. Never called once the last exit is computed.
   */
  stop(obs: Observation): boolean;
  /** The round ended at exit `exit`; obs reveals exits 0..exit. Learning happens here. */
  end(obs: Observation, exit: number): void;
  /** What the policy has learned, in a JSON form a deployment can apply. */
  learned(): LearnedPolicy;
  /**
   * From now on decide by what learned() returns and nothing else: no
   * exploration, no learning, no refits. A policy that neither explores nor
   * learns needs none. The export/replay parity tests hold a frozen policy to
   * the decisions of its exported rule, sample for sample.
   */
  freeze?(): void;
}

/** What a policy factory is given: the model's shape and the run's settings, never the stream's samples. */
export interface PolicyEnv {
  exits: number;
  classes: number;
  /** Per-exit cost already multiplied by lambda (what the policy trades against errors). */
  costs: Float64Array;
  lambda: number;
  seed: number;
  supervised: boolean;
  /** Number of rounds in the stream (a deployment's expected volume). */
  rounds: number;
  /**
   * The data a fitted policy fits or calibrates on before it decides (EENet
   * without warm-up, budget-calibrated thresholds, the best fixed exit): the
   * calibration part of a held-out split, another trace (cross-trace), or
   * the whole trace (in-sample: its figures are then hindsight). Only a
   * module whose usesHindsight is true reads it; for any other the engine
   * hands a value that throws when read.
   */
  readonly calibration: Trace;
  /** Cancels long work inside a policy (an EENet fit) when a run is cancelled. */
  signal?: AbortSignal;
}

export type PolicyFactory = (env: PolicyEnv) => Policy;

/** Confidence measures a threshold can be stated in. */
export type ConfidenceMeasure = Extract<LearnedPolicy, { kind: 'thresholds' }>['measure'];

export type { LearnedPolicy, EENetWeights } from './rules/index.js';
