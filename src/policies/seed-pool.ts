/**
 * The pool of replay worker threads every policy run of the process shares:
 * a seed of one policy is one task, so a 20-seed run uses every core, and a
 * 32-policy run, or several runs at once, never start more threads than the
 * machine has cores (nor hold more than a worker's replay buffers each).
 * Runs take turns, one seed each, so side-by-side policies progress together.
 *
 * Workers start on demand, are not kept alive for the process's sake while
 * idle (a CLI exits when its work is done), and end after a while unused.
 * Cancelling a run drops its queued seeds and ends the workers busy with it
 * (a seed is synchronous work a thread cannot be asked to abandon).
 *
 * In a process whose thread only waits on its work (a CLI command), a quick
 * run that one thread is worth replays on that thread instead, one seed per
 * turn of the event loop (replayOnThisThread): starting a worker would cost
 * more than the replay saves.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CancelledError, isStudioError, StudioError } from '../errors.js';
import { SeedReplayer } from './seed-replayer.js';
import type { SeedDone, SeedTask, WorkerMessage } from './worker-protocol.js';

/** More threads than this buys little for replays and costs a replay buffer each. */
const MAX_WORKERS = 8;
/** An idle worker ends after this long. */
const IDLE_MS = 30_000;
/**
 * Seed-rounds (seeds × samples) one more worker must have to replay before it
 * is worth starting: a fresh thread loads the engine and JIT-compiles the
 * replay again (about 0.3–0.4 s of CPU), which is what a warm worker takes for
 * a few million rounds. Below this a second thread makes a run slower, not
 * faster (UEE-UCB on 50,000 samples × 20 seeds, 1M rounds: one worker 1.3 s
 * against two 2.0–2.5 s for the whole process on a loaded 2-core machine).
 */
export const ROUNDS_PER_WORKER = 4_000_000;

/** How many of the pool's workers `rounds` seed-rounds are worth (at least one). */
export function workersFor(rounds: number, size: number): number {
  return Math.max(1, Math.min(size, Math.ceil(rounds / ROUNDS_PER_WORKER)));
}

/** Worker threads for replays: one per core (at most MAX_WORKERS), or EXIT_STUDIO_REPLAY_WORKERS. */
export function replayWorkers(env: NodeJS.ProcessEnv = process.env): number {
  const asked = Number(env.EXIT_STUDIO_REPLAY_WORKERS);
  if (Number.isInteger(asked) && asked >= 1) return Math.min(asked, 64);
  return Math.max(1, Math.min(availableParallelism(), MAX_WORKERS));
}

/** A run's seeds as handed to the pool. */
export interface PoolRun {
  /** Unique while the run lasts. */
  id: string;
  task: Omit<SeedTask, 'type' | 'task' | 'run' | 'seed'>;
  seeds: number[];
  /** Rounds one seed replays (its stream's length), to size the pool by the work waiting; unknown: every worker is worth starting. */
  roundsPerSeed?: number;
  /**
   * Its seeds are quick to replay (no fit on data per seed), so a pool that
   * replays in process may run them on its own thread (replayOnThisThread).
   */
  quick?: boolean;
  /** Each seed as it completes (in completion order, not seed order). */
  onSeed: (done: SeedDone) => void;
  signal?: AbortSignal;
}

interface Slot {
  worker: Worker;
  /** The run and seed it replays now. */
  busy?: { run: Active; task: number };
  idleTimer?: NodeJS.Timeout;
}

interface Active {
  run: PoolRun;
  queue: number[];
  running: number;
  settle: (error?: Error) => void;
  settled: boolean;
  /** Replayed on the pool's own thread rather than in workers (decided when the run starts). */
  here: boolean;
}

export class SeedPool {
  private readonly slots = new Set<Slot>();
  private readonly active: Active[] = [];
  private turn = 0;
  private nextTask = 1;

  /** One seed at a time on this thread is scheduled (see replayHere). */
  private hereScheduled = false;
  private replayer: SeedReplayer | undefined;

  /**
   * @param inProcess replay runs that one thread is worth on the calling
   *   thread instead of a worker (see replayOnThisThread).
   */
  constructor(
    readonly size: number = replayWorkers(),
    public inProcess = false,
  ) {}

  /** Worker threads alive now (busy or idle). */
  get workers(): number {
    return this.slots.size;
  }

  /** Replays every seed of `run` (onSeed for each); resolves once all are done, rejects on the first failure or a cancel. */
  run(run: PoolRun): Promise<void> {
    return new Promise((resolve, reject) => {
      if (run.signal?.aborted) return reject(new CancelledError('the replay'));
      // A quick run that one thread is worth replays here when the pool may: no worker to start and warm up.
      const here = this.inProcess && run.quick === true && run.roundsPerSeed !== undefined && workersFor(run.seeds.length * run.roundsPerSeed, this.size) === 1;
      const a: Active = { run, queue: run.seeds.slice(), running: 0, settled: false, settle: () => undefined, here };
      const onAbort = (): void => a.settle(new CancelledError('the replay'));
      a.settle = (error) => {
        if (a.settled) return;
        a.settled = true;
        run.signal?.removeEventListener('abort', onAbort);
        const at = this.active.indexOf(a);
        if (at >= 0) this.active.splice(at, 1);
        a.queue.length = 0;
        // Its seeds still in a worker are abandoned: end those workers (new ones start as needed).
        for (const slot of this.slots) if (slot.busy?.run === a) this.retire(slot);
        if (error) reject(error);
        else resolve();
        this.dispatch();
      };
      if (a.queue.length === 0) return resolve();
      run.signal?.addEventListener('abort', onAbort);
      this.active.push(a);
      this.dispatch();
    });
  }

  /**
   * Starts `workers` workers (at most the pool's size) before the seeds are
   * handed over, so that the threads load their code while the caller is
   * still reading the trace.
   */
  warm(workers: number): void {
    // One thread's worth of work replays on this thread when the pool may do that.
    if (this.inProcess && workers <= 1) return;
    const want = Math.min(workers, this.size);
    while (this.slots.size < want) this.idle(this.spawn());
  }

  /** Ends every worker (their runs fail): for tests and a clean shutdown. */
  async close(): Promise<void> {
    for (const a of this.active.slice()) a.settle(new CancelledError('the replay'));
    await Promise.all([...this.slots].map((s) => this.retire(s)));
  }

  /** The workers the seeds waiting, and those being replayed, are worth together: a new thread only when it pays for its start. */
  private worth(): number {
    let rounds = 0;
    for (const a of this.active) {
      if (a.here) continue;
      if (a.run.roundsPerSeed === undefined) return this.size;
      rounds += (a.queue.length + a.running) * a.run.roundsPerSeed;
    }
    return workersFor(rounds, this.size);
  }

  /** The next run with a queued seed that replays where asked (here or in workers), taking turns. */
  private nextRun(here: boolean): Active | undefined {
    for (let i = 0; i < this.active.length; i++) {
      const a = this.active[(this.turn + i) % this.active.length]!;
      if (a.queue.length > 0 && a.here === here) {
        this.turn = (this.turn + i + 1) % this.active.length;
        return a;
      }
    }
    return undefined;
  }

  private dispatch(): void {
    if (this.active.some((a) => a.here && a.queue.length > 0)) this.replayHere();
    for (;;) {
      if (!this.active.some((a) => !a.here && a.queue.length > 0)) return;
      const slot = [...this.slots].find((s) => !s.busy) ?? (this.slots.size < this.worth() ? this.spawn() : undefined);
      if (!slot) return;
      const a = this.nextRun(false)!;
      const seed = a.queue.shift()!;
      const task = this.nextTask++;
      a.running++;
      slot.busy = { run: a, task };
      clearTimeout(slot.idleTimer);
      slot.worker.ref();
      const msg: SeedTask = { type: 'seed', task, run: a.run.id, seed, ...a.run.task };
      slot.worker.postMessage(msg);
    }
  }

  /**
   * The next seed of a run that replays here, on this thread, at the next turn
   * of the event loop: one seed per turn, so signals, cancels and progress are
   * seen between seeds (each is quick: see PoolRun.quick).
   */
  private replayHere(): void {
    if (this.hereScheduled) return;
    this.hereScheduled = true;
    setImmediate(() => {
      this.hereScheduled = false;
      const a = this.nextRun(true);
      if (!a) return;
      const seed = a.queue.shift()!;
      let done: SeedDone;
      try {
        done = (this.replayer ??= new SeedReplayer()).replay({ task: this.nextTask++, run: a.run.id, seed, ...a.run.task }).done;
      } catch (e) {
        a.settle(isStudioError(e) ? e : new StudioError((e as Error).message, { kind: 'internal', cause: e }));
        return;
      }
      this.deliver(a, done);
    });
  }

  /** A seed replayed: to its run, which settles once its last seed is in. */
  private deliver(a: Active, done: SeedDone): void {
    try {
      a.run.onSeed(done);
    } catch (e) {
      a.settle(e as Error);
      return;
    }
    if (a.queue.length === 0 && a.running === 0) a.settle();
    else this.dispatch();
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./run-worker.js', import.meta.url));
    const slot: Slot = { worker };
    this.slots.add(slot);
    worker.on('message', (m: WorkerMessage) => this.answer(slot, m));
    worker.on('error', (e) => this.lost(slot, new StudioError(`replay worker failed: ${e.message}`, { kind: 'internal', cause: e })));
    worker.on('exit', (code) => this.lost(slot, new StudioError(`replay worker exited early (code ${code})`, { kind: 'internal' })));
    return slot;
  }

  private answer(slot: Slot, m: WorkerMessage): void {
    const busy = slot.busy;
    if (!busy || busy.task !== m.task) return;
    slot.busy = undefined;
    this.idle(slot);
    const a = busy.run;
    a.running--;
    if (m.type === 'error') {
      a.settle(new StudioError(m.message, { kind: m.kind }));
      return;
    }
    this.deliver(a, m);
  }

  /** A worker died: its run fails, the pool goes on without it. */
  private lost(slot: Slot, error: StudioError): void {
    if (!this.slots.delete(slot)) return;
    clearTimeout(slot.idleTimer);
    slot.busy?.run.settle(error);
    this.dispatch();
  }

  private idle(slot: Slot): void {
    // An idle worker does not keep the process alive, and ends once long unused.
    slot.worker.unref();
    slot.idleTimer = setTimeout(() => void this.retire(slot), IDLE_MS);
    slot.idleTimer.unref();
  }

  private retire(slot: Slot): Promise<number> {
    this.slots.delete(slot);
    clearTimeout(slot.idleTimer);
    slot.busy = undefined;
    return slot.worker.terminate();
  }
}

let shared: SeedPool | undefined;
let replayHere = false;

/** The process's pool (made on first use). */
export function seedPool(): SeedPool {
  return (shared ??= new SeedPool(replayWorkers(), replayHere));
}

/**
 * Lets this process's pool replay a quick run that one thread is worth on
 * the calling thread rather than in a worker. For a process whose thread has
 * nothing else to do while a run replays (a CLI command): a worker would load
 * the engine and compile the replay again before its first seed, about a
 * quarter of a 0.6 s `run`. Not for serve or the desktop's engine host, whose
 * thread must keep answering while a run replays.
 */
export function replayOnThisThread(): void {
  replayHere = true;
  if (shared) shared.inProcess = true;
}
