/**
 * The early-exit runner: stage 1 on the whole batch, the policy on its exit, and the next stage
 * only for the samples that go on. Exiting samples leave the batch: every boundary tensor keeps
 * just the rows of the samples that continue (along the batch axis verifySplit found), so a
 * later stage costs in proportion to the samples still in it.
 */
import * as ort from 'onnxruntime-node';
import { StudioError } from '../errors.js';
import { outputAsFloat } from '../inference/tensors.js';
import { prepareStages, type PreparedStage } from '../model/split-optimize.js';
import { createStageSessions, gatherRows, RowBuffers, stageFeeds, stageFetches, type RowAllocator, type SessionSettings } from '../model/split-run.js';
import type { LearnedPolicy } from '../policies/types.js';
import type { Features } from '../trace/features.js';
import { makeDecider, predOf, viewOf, type Decider, type ExitSpec, type ExitView } from './decide.js';

/** A stage as the runner takes it: its model (in memory or a file), and the batch axis of everything it hands on. */
export type RunnerStage = PreparedStage;

export interface RunnerSpec {
  stages: RunnerStage[];
  exits: ExitSpec[];
  policy: LearnedPolicy;
}

export interface BatchResult {
  /** Per sample: predicted class at the exit taken. */
  pred: Int32Array;
  /** Per sample: 0-based exit taken. */
  exit: Int32Array;
  /**
   * Per sample: milliseconds spent on it, its share of every stage run it was part of
   * (a stage run's time divided by the samples in it), so the shares add up to the batch's time.
   */
  ms: Float64Array;
  /** Samples that went through each stage. */
  stageSamples: number[];
  /** Wall time of each stage run (the stage, its exit's decisions and the hand-over), ms; 0 when it did not run. */
  stageMs: number[];
  /** Wall time of the whole batch, ms. */
  totalMs: number;
}

export class EarlyExitRunner {
  private readonly decider: Decider;
  private readonly view: ExitView;
  private readonly scratch: Float64Array;
  private readonly f: Features = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  /** Kept buffers for the rows that go on; used by one run at a time (a concurrent run allocates). */
  private readonly rowBuffers = new RowBuffers();
  private running = false;

  private constructor(
    private readonly spec: RunnerSpec,
    private readonly sessions: ort.InferenceSession[],
    /** 'optimized': stages re-cut from onnxruntime's optimized graph for this machine (split-optimize.ts). */
    readonly layout: 'optimized' | 'portable',
    /** Why the portable stages run, when they do. */
    readonly note: string | undefined,
  ) {
    if (spec.stages.length !== spec.exits.length) {
      throw new StudioError(`runner: ${spec.stages.length} stages for ${spec.exits.length} exits`, { kind: 'input' });
    }
    this.decider = makeDecider(spec.policy, spec.exits);
    const C = Math.max(...spec.exits.map((e) => e.classes));
    this.view = { probs: new Float32Array(C), pred: 0, maxProb: 0, entropy: 0 };
    this.scratch = new Float64Array(C);
  }

  static async create(spec: RunnerSpec, settings: SessionSettings = {}): Promise<EarlyExitRunner> {
    // The policy is checked before any session is made: a bad policy fails fast.
    makeDecider(spec.policy, spec.exits);
    if (spec.stages.length !== spec.exits.length) {
      throw new StudioError(`runner: ${spec.stages.length} stages for ${spec.exits.length} exits`, { kind: 'input' });
    }
    const prepared = await prepareStages(spec.stages, settings);
    const sessions = await createStageSessions(prepared.stages, settings);
    return new EarlyExitRunner({ ...spec, stages: prepared.stages }, sessions, prepared.layout, prepared.note);
  }

  /** Runs one batch (graph inputs with the batch on axis 0) under the policy. */
  async run(feeds: Record<string, ort.Tensor>): Promise<BatchResult> {
    const own = !this.running;
    this.running = true;
    try {
      return await this.runBatch(feeds, own ? (name) => this.rowBuffers.for(name) : () => undefined);
    } finally {
      if (own) this.running = false;
    }
  }

  private async runBatch(feeds: Record<string, ort.Tensor>, buffers: (name: string) => RowAllocator | undefined): Promise<BatchResult> {
    const first = Object.values(feeds)[0];
    const n = first && first.dims.length ? Number(first.dims[0]) : 0;
    const K = this.spec.stages.length;
    const pred = new Int32Array(n);
    const exit = new Int32Array(n);
    const ms = new Float64Array(n);
    const stageSamples: number[] = new Array<number>(K).fill(0);
    const stageMs: number[] = new Array<number>(K).fill(0);
    const start = performance.now();
    this.decider.reset(n);
    let active = new Int32Array(n);
    for (let i = 0; i < n; i++) active[i] = i;
    let carried: Record<string, ort.Tensor> = {};
    for (let k = 0; k < K && active.length > 0; k++) {
      const t0 = performance.now();
      const stage = this.spec.stages[k]!;
      const spec = this.spec.exits[k]!;
      const m = active.length;
      stageSamples[k] = m;
      const inputs: Record<string, ort.Tensor> = {};
      for (const name of stage.modelInputs) {
        const t = feeds[name];
        if (!t) throw new StudioError(`runner: no data for model input '${name}'`, { kind: 'input' });
        inputs[name] = m === n ? t : gatherRows(t, 0, active, buffers(`input:${name}`));
      }
      const out = await this.sessions[k]!.run(stageFeeds(stage, inputs, carried), stageFetches(stage));
      const scores = outputAsFloat(out[stage.exit]!, stage.exit);
      if (scores.length !== m * spec.classes) {
        throw new StudioError(`runner: exit '${stage.exit}' gave ${scores.length} scores for ${m} samples of ${spec.classes} classes`, { kind: 'internal' });
      }
      const keep: number[] = [];
      const last = k === K - 1;
      const plan = last ? 'always' : (this.decider.plan?.(k) ?? 'view');
      if (plan === 'never') {
        for (let r = 0; r < m; r++) keep.push(r);
      } else if (plan === 'always') {
        for (let r = 0; r < m; r++) {
          const s = active[r]!;
          pred[s] = predOf(scores, r, spec, this.scratch);
          exit[s] = k;
        }
      } else {
        for (let r = 0; r < m; r++) {
          const s = active[r]!;
          viewOf(scores, r, spec, this.view, this.scratch, this.f);
          if (this.decider.stop(k, s, this.view)) {
            pred[s] = this.view.pred;
            exit[s] = k;
          } else keep.push(r);
        }
      }
      const before = active;
      if (keep.length && !last) {
        const next: Record<string, ort.Tensor> = {};
        for (const b of stage.carriedOut) next[b.name] = gatherRows(out[b.name]!, b.batchAxis, keep, buffers(`carried:${b.name}`));
        carried = next;
        // A plain loop: Int32Array.from with a map function costs ~15 µs per stage on 64 rows.
        active = new Int32Array(keep.length);
        for (let i = 0; i < keep.length; i++) active[i] = before[keep[i]!]!;
      } else active = new Int32Array(0);
      stageMs[k] = performance.now() - t0;
      const share = stageMs[k]! / m;
      for (let r = 0; r < m; r++) ms[before[r]!]! += share;
    }
    return { pred, exit, ms, stageSamples, stageMs, totalMs: performance.now() - start };
  }

  async release(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.release()));
  }
}
