/**
 * Turns batches of exit scores into trace features, chunk by chunk: predicted
 * class, max probability, normalized entropy and margin per sample and exit,
 * and the probability vectors when asked for.
 */
import { featuresOf, rowsAreProbabilities, softmaxInto, type Features } from '../trace/features.js';
import type { TraceChunk } from '../store/traces.js';

export type ScoreKind = 'logits' | 'probs';

interface Chunk {
  pred: Int32Array;
  maxProb: Float32Array;
  entropy: Float32Array;
  margin: Float32Array;
  probs?: Float32Array;
}

export class Featurizer {
  private chunk: Chunk;
  private filled = 0;
  private first = true;
  private readonly scratch: Float64Array;
  private readonly f: Features = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  private readonly K: number;
  private readonly C: number;

  /**
   * @param classes classes per exit, depth order
   * @param kinds what each exit outputs as declared; refined on the first batch
   * @param onChunk receives each full chunk (and the last partial one on flush)
   */
  constructor(
    private readonly classes: number[],
    readonly kinds: ScoreKind[],
    private readonly withProbs: boolean,
    private readonly chunkSamples: number,
    private readonly onChunk: (chunk: TraceChunk, samples: number) => void,
  ) {
    this.K = classes.length;
    this.C = Math.max(...classes);
    this.scratch = new Float64Array(this.C);
    this.chunk = this.newChunk();
  }

  /** Adds one batch: scores[k] is exit k's [n, C_k] block. */
  add(scores: ArrayLike<number>[], n: number): void {
    const { K, C, classes, kinds, scratch, f } = this;
    if (this.first) {
      this.first = false;
      // Outputs declared as logits whose rows already sum to 1 are probabilities (a Softmax the graph hides).
      for (let k = 0; k < K; k++) if (kinds[k] === 'logits' && rowsAreProbabilities(scores[k]!, n, classes[k]!)) kinds[k] = 'probs';
    }
    for (let i = 0; i < n; i++) {
      if (this.filled === this.chunkSamples) this.flush();
      const c = this.chunk;
      const row = this.filled * K;
      for (let k = 0; k < K; k++) {
        const ck = classes[k]!;
        const src = scores[k]!;
        const off = i * ck;
        if (kinds[k] === 'logits') softmaxInto(src, off, ck, scratch);
        else for (let j = 0; j < ck; j++) scratch[j] = src[off + j]!;
        featuresOf(scratch, ck, f);
        const at = row + k;
        c.pred[at] = f.pred;
        c.maxProb[at] = f.maxProb;
        c.entropy[at] = f.entropy;
        c.margin[at] = f.margin;
        if (c.probs) for (let j = 0; j < ck; j++) c.probs[at * C + j] = scratch[j]!;
      }
      this.filled++;
    }
  }

  /** Hands over what is buffered, if anything. */
  flush(): void {
    if (this.filled === 0) return;
    const n = this.filled * this.K;
    const c = this.chunk;
    const out: TraceChunk = {
      pred: c.pred.subarray(0, n),
      maxProb: c.maxProb.subarray(0, n),
      entropy: c.entropy.subarray(0, n),
      margin: c.margin.subarray(0, n),
    };
    if (c.probs) out.probs = c.probs.subarray(0, n * this.C);
    this.onChunk(out, this.filled);
    this.filled = 0;
  }

  private newChunk(): Chunk {
    const n = this.chunkSamples * this.K;
    const c: Chunk = { pred: new Int32Array(n), maxProb: new Float32Array(n), entropy: new Float32Array(n), margin: new Float32Array(n) };
    if (this.withProbs) c.probs = new Float32Array(n * this.C);
    return c;
  }
}
