/**
 * Measured cost of each exit when the model runs as stages: the stage runs are timed one by one
 * on the same batch, and exit k costs stages 1..k. Each stage's time holds what the runner does
 * there besides running it: the softmax and features of its exit for every sample (what a policy
 * looks at) and copying the carried tensors' rows for the samples that go on (here all of them,
 * into kept buffers as the runner does). This is what a deployment pays, transfers between stages
 * included, so it is the cost model to tune against (`--costs latency`). The stages are prepared
 * as the runner prepares them (prepareStages: re-cut from the optimized graph on the CPU), so the
 * costs are those of the stages a deployment runs.
 *
 * A profile is a set of timed passes, summarized per exit by the median and the interquartile
 * range: one pass on a busy machine can be off by a factor, and the spread says how far to trust
 * the figures.
 */
import type * as ort from 'onnxruntime-node';
import { StudioError } from '../errors.js';
import { outputAsFloat } from '../inference/tensors.js';
import { prepareStages, type PreparedStage } from '../model/split-optimize.js';
import { copyRows, createStageSessions, RowBuffers, stageFeeds, stageFetches, type SessionSettings, type StageIO, type StageSource } from '../model/split-run.js';
import { summarizePasses, type PassSummary } from '../model/timing.js';
import { featuresOf, softmaxInto, type Features } from '../trace/features.js';

export interface StageLatencyOptions extends SessionSettings {
  /** Timed passes after one warm-up pass (default 5). */
  repeats?: number;
}

export interface StageLatency extends PassSummary {
  /**
   * ms per sample each stage adds: the step between the cumulative medians, so that exit k's
   * cost is exactly stages 1..k (a median of sums is not the sum of the stages' own medians).
   */
  perStage: number[];
  /** ms per sample up to and including each stage: the cost of exit k (the same as `ms`). */
  cumulative: number[];
  /** Which stages were timed (see prepareStages). */
  layout: 'optimized' | 'portable';
}

function batchOf(feeds: Record<string, ort.Tensor>): number {
  const first = Object.values(feeds)[0];
  const batch = first && first.dims.length ? Number(first.dims[0]) : 0;
  if (!(batch > 0)) throw new StudioError('stage latency: the feeds hold an empty batch', { kind: 'internal' });
  return batch;
}

/** One pass through every stage: each stage's time (ms, the whole batch) and its exit's output. */
export interface TimedPass {
  ms: number[];
  exits: ort.Tensor[];
}

/** Times the stages of a deployment pass by pass; measureStageLatency, inference and the bench use it. */
export class StageTimer {
  private readonly buffers = new RowBuffers();
  private readonly f: Features = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  private scratch = new Float64Array(0);

  private constructor(
    private readonly stages: PreparedStage[],
    private readonly sessions: ort.InferenceSession[],
    readonly layout: 'optimized' | 'portable',
    /** Why the portable stages run, when they do. */
    readonly note: string | undefined,
  ) {}

  static async create(stages: (StageIO & StageSource)[], settings: SessionSettings = {}): Promise<StageTimer> {
    // The batch axes come with the prepared stages; portable stages without them copy along axis 0 (the cost is the same).
    const prepared = await prepareStages(
      stages.map((s) => ({ ...s, carriedOut: s.carriedOut.map((b) => ({ name: b.name, batchAxis: 'batchAxis' in b ? (b.batchAxis as number | null) : 0 })) })),
      settings,
    );
    return new StageTimer(prepared.stages, await createStageSessions(prepared.stages, settings), prepared.layout, prepared.note);
  }

  /** ms of each stage (with its exit's features and the hand-over) on the batch `feeds`. */
  async time(feeds: Record<string, ort.Tensor>): Promise<number[]> {
    return (await this.pass(feeds)).ms;
  }

  /** One timed pass, keeping every exit's output (inference records them). */
  async pass(feeds: Record<string, ort.Tensor>): Promise<TimedPass> {
    const batch = batchOf(feeds);
    const all = Int32Array.from({ length: batch }, (_, i) => i);
    const ms: number[] = [];
    const exits: ort.Tensor[] = [];
    let carried: Record<string, ort.Tensor> = {};
    for (let k = 0; k < this.stages.length; k++) {
      const stage = this.stages[k]!;
      const f = stageFeeds(stage, feeds, carried);
      const t0 = performance.now();
      const out = await this.sessions[k]!.run(f, stageFetches(stage));
      const scores = outputAsFloat(out[stage.exit]!, stage.exit);
      const C = Math.max(1, Math.floor(scores.length / batch));
      if (this.scratch.length < C) this.scratch = new Float64Array(C);
      for (let r = 0; r < batch; r++) {
        softmaxInto(scores, r * C, C, this.scratch);
        featuresOf(this.scratch, C, this.f);
      }
      const next: Record<string, ort.Tensor> = {};
      for (const b of stage.carriedOut) {
        next[b.name] = b.batchAxis === null ? out[b.name]! : copyRows(out[b.name]!, b.batchAxis, all, this.buffers.for(b.name));
      }
      ms.push(performance.now() - t0);
      exits.push(out[stage.exit]!);
      carried = next;
    }
    return { ms, exits };
  }

  async release(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.release()));
  }
}

/** Per-stage and cumulative ms per sample of `stages` on the batch `feeds` (every graph input), with their spread. */
export async function measureStageLatency(
  stages: (StageIO & StageSource)[],
  feeds: Record<string, ort.Tensor>,
  opts: StageLatencyOptions = {},
): Promise<StageLatency> {
  const batch = batchOf(feeds);
  const repeats = Math.max(1, opts.repeats ?? 5);
  const timer = await StageTimer.create(stages, opts);
  try {
    const passes: number[][] = [];
    await timer.time(feeds); // warm-up
    for (let pass = 0; pass < repeats; pass++) passes.push(await timer.time(feeds));
    const summary = summarizePasses(passes, batch);
    const perStage = summary.ms.map((m, k) => m - (k > 0 ? summary.ms[k - 1]! : 0));
    return { ...summary, perStage, cumulative: summary.ms, layout: timer.layout };
  } finally {
    await timer.release();
  }
}
