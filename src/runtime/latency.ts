/**
 * Measured cost of each exit when the model runs as stages: the stage runs are timed one by one
 * on the same batch, and exit k costs stages 1..k. This is what a deployment pays, transfers
 * between stages included, so it is the cost model to tune against (`--costs latency`). The stages
 * are prepared as the runner prepares them (prepareStages: re-cut from the optimized graph on the
 * CPU), so the costs are those of the stages a deployment runs.
 */
import type * as ort from 'onnxruntime-node';
import { StudioError } from '../errors.js';
import { prepareStages } from '../model/split-optimize.js';
import { createStageSessions, StageSession, stageFeeds, type SessionSettings, type StageIO } from '../model/split-run.js';

export interface StageLatencyOptions extends SessionSettings {
  /** Timed passes after one warm-up pass; the median of each stage counts (default 5). */
  repeats?: number;
}

export interface StageLatency {
  /** ms per sample of each stage alone. */
  perStage: number[];
  /** ms per sample up to and including each stage: the cost of exit k. */
  cumulative: number[];
  /** Which stages were timed (see prepareStages). */
  layout: 'optimized' | 'portable';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Per-stage and cumulative ms per sample of `stages` on the batch `feeds` (every graph input). */
export async function measureStageLatency(
  stages: (StageIO & { bytes: Uint8Array })[],
  feeds: Record<string, ort.Tensor>,
  opts: StageLatencyOptions = {},
): Promise<StageLatency> {
  const first = Object.values(feeds)[0];
  const batch = first && first.dims.length ? Number(first.dims[0]) : 0;
  if (!(batch > 0)) throw new StudioError('stage latency: the feeds hold an empty batch');
  const repeats = Math.max(1, opts.repeats ?? 5);
  const prepared = await prepareStages(
    stages.map((s) => ({ ...s, carriedOut: s.carriedOut.map((b) => ({ name: b.name, batchAxis: 0 })) })),
    opts,
  );
  const run = prepared.stages;
  const sessions = (await createStageSessions(run, opts)).map((s, k) => new StageSession(s, run[k]!));
  try {
    const times: number[][] = run.map(() => []);
    for (let pass = 0; pass <= repeats; pass++) {
      let carried: Record<string, ort.Tensor> = {};
      for (let k = 0; k < run.length; k++) {
        const stage = run[k]!;
        const f = stageFeeds(stage, feeds, carried);
        const t0 = performance.now();
        const out = await sessions[k]!.run(f, batch);
        const t = performance.now() - t0;
        if (pass > 0) times[k]!.push(t); // pass 0 warms up
        carried = {};
        for (const b of stage.carriedOut) carried[b.name] = out[b.name]!;
      }
    }
    const perStage = times.map((t) => median(t) / batch);
    const cumulative: number[] = [];
    perStage.reduce((acc, t) => {
      cumulative.push(acc + t);
      return acc + t;
    }, 0);
    return { perStage, cumulative, layout: prepared.layout };
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}
