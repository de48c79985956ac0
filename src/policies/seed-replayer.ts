/**
 * One seed of a policy run replayed, measured and encoded as the store keeps
 * it: what a replay worker thread does with each SeedTask (run-worker.ts),
 * and what the seed pool does on its own thread when it replays in process
 * (seed-pool.ts `replayOnThisThread`).
 */
import { encodeSeed } from '../store/seed-record.js';
import type { ReplayRecord } from './replay.js';
import { prepare, runSeed, type Prepared } from './run.js';
import type { SeedDone, SeedTask } from './worker-protocol.js';

/** Runs laid out lately, kept per replayer: a run's seeds mostly come to the same replayer in a row. */
const KEEP_PREPARED = 4;

export class SeedReplayer {
  private readonly prepared = new Map<string, Prepared>();
  /** One replay record, reused by every seed of the same trace length. */
  private buf: ReplayRecord | undefined;

  /** The seed replayed; `transfer` lists the buffers a thread may hand over rather than copy. */
  replay(m: Omit<SeedTask, 'type'>): { done: SeedDone; transfer: ArrayBuffer[] } {
    const p = this.layout(m);
    const { out, rec } = runSeed(m.trace, p, m.seed, this.buf);
    this.buf = rec;
    const stored = encodeSeed(out, p.grid);
    const { series, ...outcome } = out;
    const transfer = [stored.series.buffer as ArrayBuffer];
    for (const a of [series.cumRegret, series.avgCost, series.accuracy, series.agreement, ...series.exitShare]) transfer.push(a.buffer as ArrayBuffer);
    return { done: { type: 'done', task: m.task, outcome, series, stored }, transfer };
  }

  private layout(m: Omit<SeedTask, 'type'>): Prepared {
    let p = this.prepared.get(m.run);
    if (!p) {
      p = prepare(m.trace, m.spec, m.options);
      this.prepared.set(m.run, p);
      if (this.prepared.size > KEEP_PREPARED) this.prepared.delete(this.prepared.keys().next().value!);
    }
    return p;
  }
}
