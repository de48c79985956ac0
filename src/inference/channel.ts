/** The job's side of the worker conversation: messages in arrival order, as promises, failing all waiters at once. */
import type { Worker } from 'node:worker_threads';
import { StudioError } from '../errors.js';
import type { Batch } from '../data/types.js';
import type { PhaseProgress } from '../progress.js';
import type { FromWorker, ToWorker } from './protocol.js';

export class WorkerChannel {
  private readonly inbox: FromWorker[] = [];
  private readonly waiting: { resolve: (m: FromWorker) => void; reject: (e: unknown) => void }[] = [];
  private failure: unknown;
  /** Settles when the worker thread has ended, however it ended. */
  readonly exited: Promise<void>;

  /** @param onPhase hears the worker's phase messages as they come; they are not queued with the rest */
  constructor(
    private readonly worker: Worker,
    private readonly onPhase?: (p: PhaseProgress) => void,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'error') {
        const { message, kind, file, field, code } = m;
        return this.fail(new StudioError(message, { kind, ...(file ? { file } : {}), ...(field ? { field } : {}), ...(code ? { code } : {}) }));
      }
      if (m.type === 'phase') {
        const { type: _type, ...p } = m;
        return this.onPhase?.(p);
      }
      const w = this.waiting.shift();
      if (w) w.resolve(m);
      else this.inbox.push(m);
    });
    worker.on('error', (e) => this.fail(new StudioError(`inference worker failed: ${e.message}`, { kind: 'internal', cause: e })));
    worker.on('exit', (code) => this.fail(new StudioError(`inference worker exited early (code ${code})`, { kind: 'internal' })));
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m, m.type === 'batch' && m.feeds ? transferables(m.feeds) : []);
  }

  /** The next message of the given type, in order; anything else arriving first is a protocol error. */
  async next<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>> {
    const m = await this.receive();
    if (m.type !== type) throw new StudioError(`inference worker answered "${m.type}" where "${type}" was due`, { kind: 'internal' });
    return m as Extract<FromWorker, { type: T }>;
  }

  /** Rejects every current and future wait with `e` (the first failure wins). */
  fail(e: unknown): void {
    if (this.failure === undefined) this.failure = e;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  private receive(): Promise<FromWorker> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const m = this.inbox.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
}

/** Buffers that can move to the worker without a copy: only those a tensor owns whole. */
function transferables(batch: Batch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of Object.values(batch)) {
    const b = t.data.buffer;
    if (b instanceof ArrayBuffer && t.data.byteOffset === 0 && t.data.byteLength === b.byteLength && !out.includes(b)) out.push(b);
  }
  return out;
}
