/**
 * Worker-thread entry of the seed pool: replays one seed of a policy run at a
 * time, measures it, and encodes it as the store keeps it, so the thread that
 * serves the UI (or the CLI's) only writes rows. Multi-seed runs and EENet
 * fits take seconds, and must not stall the server or the desktop window.
 */
import { parentPort } from 'node:worker_threads';
import { isStudioError } from '../errors.js';
import { encodeSeed } from '../store/seed-record.js';
import type { ReplayRecord } from './replay.js';
import { prepare, runSeed, type Prepared } from './run.js';
import type { SeedTask, WorkerMessage } from './worker-protocol.js';

const port = parentPort!;

/** Runs laid out lately, by run id: a run's seeds mostly come to the same few workers in a row. */
const prepared = new Map<string, Prepared>();
const KEEP_PREPARED = 4;
/** One replay record per worker, reused by every seed of the same trace length. */
let buf: ReplayRecord | undefined;

function layout(m: SeedTask): Prepared {
  let p = prepared.get(m.run);
  if (!p) {
    p = prepare(m.trace, m.spec, m.options);
    prepared.set(m.run, p);
    if (prepared.size > KEEP_PREPARED) prepared.delete(prepared.keys().next().value!);
  }
  return p;
}

port.on('message', (m: SeedTask) => {
  let reply: WorkerMessage;
  const transfer: ArrayBuffer[] = [];
  try {
    const p = layout(m);
    const { out, rec } = runSeed(m.trace, p, m.seed, buf);
    buf = rec;
    const stored = encodeSeed(out, p.grid);
    const { series, ...outcome } = out;
    reply = { type: 'done', task: m.task, outcome, series, stored };
    // The blob and the series move to the pool's thread rather than being copied.
    transfer.push(stored.series.buffer as ArrayBuffer);
    for (const a of [series.cumRegret, series.avgCost, series.accuracy, series.agreement, ...series.exitShare]) transfer.push(a.buffer as ArrayBuffer);
  } catch (e) {
    reply = { type: 'error', task: m.task, message: (e as Error).message, kind: isStudioError(e) ? e.kind : 'internal' };
  }
  port.postMessage(reply, transfer);
});
