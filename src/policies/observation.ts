/**
 * The engine's Observation: a view of one sample limited to the exits computed
 * so far. The state lives behind an ES private field, so a policy cannot widen
 * its own view; every accessor checks the depth and throws a StudioError when
 * a policy peeks beyond what the deployed model would have computed.
 */
import { StudioError } from '../errors.js';
import type { Trace } from '../trace/types.js';
import type { Observation } from './types.js';

/** Mutable state the engine moves from sample to sample; the policy never holds it. */
export class ObservationCursor {
  sample = 0;
  depth = 0;
  constructor(
    readonly trace: Trace,
    readonly supervised: boolean,
  ) {}
}

function peek(what: string, exit: number, depth: number): StudioError {
  return new StudioError(
    `policy read ${what} of exit ${exit + 1}, but only exits 1..${depth} have been computed for this sample: ` +
      'a deployed model would not know it (continue to that exit first)',
    { kind: 'runtime' },
  );
}

function missing(what: string): StudioError {
  return new StudioError(`policy read ${what}, but this trace has none (hard predictions only)`, { kind: 'runtime' });
}

export class TraceObservation implements Observation {
  readonly #c: ObservationCursor;
  readonly #k: number;
  readonly exits: number;
  readonly classes: number;

  constructor(cursor: ObservationCursor) {
    this.#c = cursor;
    this.#k = cursor.trace.exits.length;
    this.exits = this.#k;
    this.classes = cursor.trace.classes;
  }

  get depth(): number {
    return this.#c.depth;
  }

  pred(exit: number): number {
    const c = this.#c;
    if (!(exit >= 0 && exit < c.depth)) throw peek('the prediction', exit, c.depth);
    return c.trace.pred[c.sample * this.#k + exit]!;
  }

  maxProb(exit: number): number {
    const c = this.#c;
    if (!(exit >= 0 && exit < c.depth)) throw peek('the max probability', exit, c.depth);
    const a = c.trace.maxProb;
    if (!a) throw missing('max probabilities');
    return a[c.sample * this.#k + exit]!;
  }

  entropy(exit: number): number {
    const c = this.#c;
    if (!(exit >= 0 && exit < c.depth)) throw peek('the entropy', exit, c.depth);
    const a = c.trace.entropy;
    if (!a) throw missing('entropies');
    return a[c.sample * this.#k + exit]!;
  }

  margin(exit: number): number {
    const c = this.#c;
    if (!(exit >= 0 && exit < c.depth)) throw peek('the margin', exit, c.depth);
    const a = c.trace.margin;
    if (!a) throw missing('margins');
    return a[c.sample * this.#k + exit]!;
  }

  prob(exit: number, cls: number): number {
    const c = this.#c;
    if (!(exit >= 0 && exit < c.depth)) throw peek('the probabilities', exit, c.depth);
    const a = c.trace.probs;
    if (!a) throw missing('probability vectors');
    const C = this.classes;
    if (!(cls >= 0 && cls < C)) throw new StudioError(`policy read class ${cls}; classes are 0..${C - 1}`, { kind: 'runtime' });
    return a[(c.sample * this.#k + exit) * C + cls]!;
  }

  label(): number {
    const c = this.#c;
    if (!c.supervised) {
      throw new StudioError('policy read the label in an unsupervised run: labels feed metrics only', { kind: 'runtime' });
    }
    const l = c.trace.labels;
    return l ? l[c.sample]! : -1;
  }
}
