/**
 * The session worker: owns the onnxruntime session and runs the batches the
 * job sends, off the calling thread, so the CLI's progress bar, the server and
 * the desktop window stay responsive while a batch computes.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { isStudioError } from '../errors.js';
import { measureCascadeLatency } from './exit-latency.js';
import { usableProvider } from './providers.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { outputAsFloat, toFeeds } from './tensors.js';

const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);

let session: ort.InferenceSession | undefined;
let fetches: string[] = [];
let ep = 'cpu';
let threads = 1;

// Messages are handled one at a time, in order: the job relies on outputs coming back in batch order.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: ToWorker) => {
  queue = queue.then(() => handle(m)).catch((e: unknown) => {
    post({
      type: 'error',
      message: (e as Error).message,
      kind: isStudioError(e) ? e.kind : 'internal',
      ...(isStudioError(e) && e.file ? { file: e.file } : {}),
    });
  });
});

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'start': {
      const warnings: string[] = [];
      const s = await createSession(m.modelPath, m.ep, m.threads, warnings);
      session = s.session;
      ep = s.ep;
      threads = m.threads;
      fetches = m.fetches;
      post({ type: 'ready', ep, warnings });
      return;
    }
    case 'batch': {
      const out = await session!.run(toFeeds(m.feeds), fetches);
      const first = Object.values(m.feeds)[0];
      post({ type: 'output', seq: m.seq, n: first ? first.dims[0]! : 0, scores: fetches.map((name) => outputAsFloat(out[name]!, name)) });
      return;
    }
    case 'latency': {
      const l = await measureCascadeLatency(m.info, toFeeds(m.feeds), { threads, ep });
      post({ type: 'latency', ...l });
      return;
    }
    case 'close':
      await session?.release();
      session = undefined;
      port.close();
      return;
  }
}

async function createSession(modelPath: string, requested: string, intra: number, warnings: string[]): Promise<{ session: ort.InferenceSession; ep: string }> {
  const ep = await usableProvider(requested, modelPath, warnings);
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: [ep],
    intraOpNumThreads: intra,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  return { session, ep };
}
