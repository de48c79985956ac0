/**
 * Worker-thread entry of the seed pool: replays one seed of a policy run at a
 * time, measures it, and encodes it as the store keeps it (seed-replayer.ts),
 * so the thread that serves the UI (or the CLI's) only writes rows. Multi-seed
 * runs and EENet fits take seconds, and must not stall the server or the
 * desktop window.
 */
import { parentPort } from 'node:worker_threads';
import { isStudioError } from '../errors.js';
import { SeedReplayer } from './seed-replayer.js';
import type { SeedTask, WorkerMessage } from './worker-protocol.js';

const port = parentPort!;
const replayer = new SeedReplayer();

port.on('message', (m: SeedTask) => {
  let reply: WorkerMessage;
  let transfer: ArrayBuffer[] = [];
  try {
    // The blob and the series move to the pool's thread rather than being copied.
    ({ done: reply, transfer } = replayer.replay(m));
  } catch (e) {
    reply = { type: 'error', task: m.task, message: (e as Error).message, kind: isStudioError(e) ? e.kind : 'internal' };
  }
  port.postMessage(reply, transfer);
});
