/**
 * Worker-thread entry for replays: multi-seed runs and EENet fits take
 * seconds, and must not stall the server or the desktop window meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isStudioError } from '../errors.js';
import { runPolicy } from './run.js';
import type { ReplayMessage, ReplayStart } from './worker-protocol.js';

const port = parentPort!;
const post = (m: ReplayMessage): void => port.postMessage(m);
const start = workerData as ReplayStart;

runPolicy(start.trace, start.spec, {
  ...start.options,
  onProgress: (p) => post({ type: 'progress', ...p }),
  onPartial: (result) => post({ type: 'partial', result }),
  onSeed: (result) => post({ type: 'seed', result }),
})
  .then((result) => post({ type: 'done', result }))
  .catch((e: unknown) => post({ type: 'error', message: (e as Error).message, kind: isStudioError(e) ? e.kind : 'internal' }));
