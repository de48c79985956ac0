/**
 * The engine's Observation: a view of one sample limited to the exits computed
 * so far. The state lives behind an ES private field, so a policy cannot widen
 * its own view; every accessor checks the depth and throws a StudioError when
 * a policy peeks beyond what the deployed model would have computed.
 */
import { StudioError } from '../errors.js';
import type { Trace } from '../trace/types.js';
import type { Observation } from './types.js';

/** Rows per block of the stream that the cursor gathers into contiguous buffers. */
export const BLOCK_ROWS = 2048;

type Column = Int32Array | Float32Array;

/**
 * Mutable state the engine moves from sample to sample; the policy never holds it.
 *
 * The engine streams the trace in a shuffled order, so reading a sample's row
 * straight from the trace is a random access per round (cache misses, not
 * decisions, dominated a replay). Instead the engine hands the cursor a block
 * of the stream (`setBlock`), and a column is copied, the first time a policy
 * reads it in that block, into a contiguous buffer in stream order: one tight
 * gathering loop whose loads overlap, then sequential reads. Only the columns
 * a policy reads are gathered, and a block that is a run of consecutive
 * samples (the stream in memory order) reads the trace's own columns.
 *
 * The current columns are `pred`, `maxProb`, ...: the sample's row is `at`
 * (its row in the block, or its index in the trace for a run); a column is
 * current when its generation equals `gen`.
 */
export class ObservationCursor {
  /** Row of the current sample in the current columns. */
  at = 0;
  depth = 0;
  /** What `at` is for the block's first round: 0, or the first sample of a run. */
  off = 0;
  gen = 0;
  predGen = -1;
  maxProbGen = -1;
  entropyGen = -1;
  marginGen = -1;
  probsGen = -1;
  labelsGen = -1;
  pred: Int32Array;
  maxProb: Float32Array | undefined;
  entropy: Float32Array | undefined;
  margin: Float32Array | undefined;
  probs: Float32Array | undefined;
  labels: Int32Array | undefined;
  /** Samples of the current block, in stream order (a view of the order). */
  private rows: Uint32Array = new Uint32Array(0);
  private readonly buf: {
    pred: Int32Array;
    maxProb: Float32Array | undefined;
    entropy: Float32Array | undefined;
    margin: Float32Array | undefined;
    probs: Float32Array | undefined;
    labels: Int32Array | undefined;
  };
  private readonly K: number;
  private readonly C: number;

  constructor(
    readonly trace: Trace,
    readonly supervised: boolean,
  ) {
    const K = trace.exits.length;
    const C = trace.classes;
    this.K = K;
    this.C = C;
    const cap = Math.min(BLOCK_ROWS, Math.max(1, trace.samples));
    this.buf = {
      pred: new Int32Array(cap * K),
      maxProb: trace.maxProb && new Float32Array(cap * K),
      entropy: trace.entropy && new Float32Array(cap * K),
      margin: trace.margin && new Float32Array(cap * K),
      probs: trace.probs && new Float32Array(cap * K * C),
      labels: trace.labels && new Int32Array(cap),
    };
    this.pred = this.buf.pred;
    this.maxProb = this.buf.maxProb;
    this.entropy = this.buf.entropy;
    this.margin = this.buf.margin;
    this.probs = this.buf.probs;
    this.labels = this.buf.labels;
  }

  /** The next block of the stream: `rows` (at most BLOCK_ROWS samples, in stream order). */
  setBlock(rows: Uint32Array): void {
    this.rows = rows;
    const g = ++this.gen;
    const m = rows.length;
    const first = m > 0 ? rows[0]! : 0;
    let run = m > 0 && rows[m - 1] === first + m - 1;
    for (let i = 1; run && i < m; i++) run = rows[i] === first + i;
    const t = this.trace;
    const src = run ? t : this.buf;
    this.pred = src.pred;
    this.maxProb = src.maxProb;
    this.entropy = src.entropy;
    this.margin = src.margin;
    this.probs = src.probs;
    this.labels = src.labels;
    this.off = run ? first : 0;
    if (run) this.predGen = this.maxProbGen = this.entropyGen = this.marginGen = this.probsGen = this.labelsGen = g;
  }

  private gather(src: Column, dst: Column, width: number): void {
    const rows = this.rows;
    const m = rows.length;
    if (width === 1) {
      for (let i = 0; i < m; i++) dst[i] = src[rows[i]!]!;
    } else if (width === 4) {
      for (let i = 0; i < m; i++) {
        const o = rows[i]! * 4;
        const d = i * 4;
        dst[d] = src[o]!;
        dst[d + 1] = src[o + 1]!;
        dst[d + 2] = src[o + 2]!;
        dst[d + 3] = src[o + 3]!;
      }
    } else {
      for (let i = 0; i < m; i++) {
        const o = rows[i]! * width;
        const d = i * width;
        for (let j = 0; j < width; j++) dst[d + j] = src[o + j]!;
      }
    }
  }

  gatherPred(): void {
    this.gather(this.trace.pred, this.buf.pred, this.K);
    this.predGen = this.gen;
  }
  gatherMaxProb(): void {
    if (this.trace.maxProb) this.gather(this.trace.maxProb, this.buf.maxProb!, this.K);
    this.maxProbGen = this.gen;
  }
  gatherEntropy(): void {
    if (this.trace.entropy) this.gather(this.trace.entropy, this.buf.entropy!, this.K);
    this.entropyGen = this.gen;
  }
  gatherMargin(): void {
    if (this.trace.margin) this.gather(this.trace.margin, this.buf.margin!, this.K);
    this.marginGen = this.gen;
  }
  gatherProbs(): void {
    if (this.trace.probs) this.gather(this.trace.probs, this.buf.probs!, this.K * this.C);
    this.probsGen = this.gen;
  }
  gatherLabels(): void {
    if (this.trace.labels) this.gather(this.trace.labels, this.buf.labels!, 1);
    this.labelsGen = this.gen;
  }
}

function peek(what: string, exit: number, depth: number): StudioError {
  return new StudioError(
    `policy read ${what} of exit ${exit + 1}, but only exits 1..${depth} have been computed for this sample: ` +
      'a deployed model would not know it (continue to that exit first)',
    { kind: 'internal' },
  );
}

function missing(what: string): StudioError {
  return new StudioError(`policy read ${what}, but this trace has none (hard predictions only)`, { kind: 'internal' });
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
    if (c.predGen !== c.gen) c.gatherPred();
    return c.pred[c.at * this.#k + exit]!;
  }

  maxProb(exit: number): number {
    const c = this.#c;
    if (!(exit >= 0 && exit < c.depth)) throw peek('the max probability', exit, c.depth);
    if (c.maxProbGen !== c.gen) c.gatherMaxProb();
    const a = c.maxProb;
    if (!a) throw missing('max probabilities');
    return a[c.at * this.#k + exit]!;
  }

  entropy(exit: number): number {
    const c = this.#c;
    if (!(exit >= 0 && exit < c.depth)) throw peek('the entropy', exit, c.depth);
    if (c.entropyGen !== c.gen) c.gatherEntropy();
    const a = c.entropy;
    if (!a) throw missing('entropies');
    return a[c.at * this.#k + exit]!;
  }

  margin(exit: number): number {
    const c = this.#c;
    if (!(exit >= 0 && exit < c.depth)) throw peek('the margin', exit, c.depth);
    if (c.marginGen !== c.gen) c.gatherMargin();
    const a = c.margin;
    if (!a) throw missing('margins');
    return a[c.at * this.#k + exit]!;
  }

  prob(exit: number, cls: number): number {
    const c = this.#c;
    if (!(exit >= 0 && exit < c.depth)) throw peek('the probabilities', exit, c.depth);
    if (c.probsGen !== c.gen) c.gatherProbs();
    const a = c.probs;
    if (!a) throw missing('probability vectors');
    const C = this.classes;
    if (!(cls >= 0 && cls < C)) throw new StudioError(`policy read class ${cls}; classes are 0..${C - 1}`, { kind: 'internal' });
    return a[(c.at * this.#k + exit) * C + cls]!;
  }

  label(): number {
    const c = this.#c;
    if (!c.supervised) {
      throw new StudioError('policy read the label in an unsupervised run: labels feed metrics only', { kind: 'internal' });
    }
    if (c.labelsGen !== c.gen) c.gatherLabels();
    const l = c.labels;
    return l ? l[c.at]! : -1;
  }
}
