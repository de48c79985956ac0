/**
 * The session worker as a job holds it: started as soon as the job knows the model's exits, so
 * it cuts the model and makes its sessions on one core while the job hashes the model and the
 * data on the other; asked to close exactly once, whatever happened.
 */
import { Worker } from 'node:worker_threads';
import { CancelledError } from '../errors.js';
import type { OnPhase } from '../progress.js';
import { WorkerChannel } from './channel.js';
import type { ToWorker } from './protocol.js';

/** How long a closing worker may take to finish what onnxruntime is running before it is stopped hard. */
const CLOSE_GRACE_MS = 60_000;

export class SessionWorker {
  readonly ch: WorkerChannel;
  private closed: Promise<void> | undefined;

  private constructor(private readonly worker: Worker, onPhase: OnPhase | undefined) {
    this.ch = new WorkerChannel(worker, onPhase);
  }

  /** A new worker, already sent its start message. */
  static start(start: Extract<ToWorker, { type: 'start' }>, onPhase?: OnPhase): SessionWorker {
    const w = new SessionWorker(new Worker(new URL('./worker.js', import.meta.url)), onPhase);
    w.ch.send(start);
    return w;
  }

  /** Fails every wait on the worker with a CancelledError once `signal` aborts; returns the unsubscribe. */
  watch(signal: AbortSignal | undefined): () => void {
    if (!signal) return () => {};
    const onAbort = (): void => this.ch.fail(new CancelledError('inference'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort);
    return () => signal.removeEventListener('abort', onAbort);
  }

  /**
   * Ends the worker by asking it to close: it finishes what onnxruntime is running (a batch, a
   * session being made), releases its sessions and exits. Terminating a thread inside a native
   * onnxruntime call can abort the whole process, so termination is only the last resort for a
   * worker that does not answer.
   */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    try {
      this.ch.send({ type: 'close' });
    } catch {
      // The worker is already gone.
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), CLOSE_GRACE_MS)));
    const outcome = await Promise.race([this.ch.exited.then(() => 'exited' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') await this.worker.terminate();
  }
}
