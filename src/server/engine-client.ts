/**
 * The desktop main process's side of the engine host (engine-host.ts): it
 * starts the engine process, relays each request and its events, and keeps
 * the window usable when the engine dies: the requests in flight fail with a
 * message that says so, and the next request starts a new engine. Which kind
 * of process runs the engine is the caller's choice (`spawn`): an Electron
 * utilityProcess in the app, child_process.fork in the tests.
 */
import type { StudioEvent } from '../api/context.js';
import type { ErrorKind } from '../errors.js';
import { parseHostReply, type HostRequest } from './engine-protocol.js';
import type { JobOutcome } from './jobs.js';

/** A started engine process, as the client sees it. */
export interface EngineProcess {
  post(message: HostRequest): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Once, when the process has ended (null when the platform gives no code). */
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

/** One window's view of the engine: its request ids are its own, and closing it cancels what it started. */
export interface EngineSession {
  run(id: string, command: string, payload: unknown, emit: (event: StudioEvent) => void): Promise<JobOutcome>;
  cancel(id: string): boolean;
  /** Cancels every request this session still has running. */
  close(): void;
}

interface Pending {
  emit: (event: StudioEvent) => void;
  done: (outcome: JobOutcome) => void;
}

interface Running {
  proc: EngineProcess;
  /** True once the engine said hello; until then requests wait in `queue` (a message sent before the child listens can be lost). */
  ready: boolean;
  queue: HostRequest[];
  pending: Map<string, Pending>;
  /** Why the engine could not start, when it said so before exiting. */
  failure?: string;
  exited: Promise<void>;
}

function failure(message: string, kind: ErrorKind): JobOutcome {
  return { ok: false, error: { message, kind } };
}

export class EngineClient {
  #current: Running | undefined;
  #closing = false;

  constructor(
    private readonly spawn: () => EngineProcess,
    private readonly options: { shutdownMs?: number } = {},
  ) {}

  /** Starts the engine now rather than at the first request: it takes a moment to load. */
  start(): void {
    if (!this.#closing) this.#engine();
  }

  run(id: string, command: string, payload: unknown, emit: (event: StudioEvent) => void): Promise<JobOutcome> {
    if (this.#closing) return Promise.resolve(failure('the studio is closing', 'cancelled'));
    let e: Running;
    try {
      e = this.#engine();
    } catch (err) {
      return Promise.resolve(failure(`the engine process could not start: ${err instanceof Error ? err.message : String(err)}`, 'internal'));
    }
    if (e.pending.has(id)) return Promise.resolve(failure(`request id "${id}" is already running`, 'conflict'));
    return new Promise((done) => {
      e.pending.set(id, { emit, done });
      this.#send(e, { type: 'invoke', id, command, payload });
    });
  }

  /** Asks the engine to cancel a request; false when no such request runs. */
  cancel(id: string): boolean {
    const e = this.#current;
    if (!e?.pending.has(id)) return false;
    this.#send(e, { type: 'cancel', id });
    return true;
  }

  /** Ids of the requests in flight. */
  get active(): string[] {
    return [...(this.#current?.pending.keys() ?? [])];
  }

  session(scope: string): EngineSession {
    const mine = new Set<string>();
    const full = (id: string): string => `${scope}:${id}`;
    return {
      run: (id, command, payload, emit) => {
        const key = full(id);
        if (mine.has(key)) return Promise.resolve(failure(`request id "${id}" is already running`, 'conflict'));
        mine.add(key);
        return this.run(key, command, payload, emit).finally(() => mine.delete(key));
      },
      cancel: (id) => this.cancel(full(id)),
      close: () => {
        for (const key of mine) this.cancel(key);
      },
    };
  }

  /**
   * Asks the engine to cancel its jobs, close the database and exit, and
   * waits for it; an engine that has not exited within shutdownMs is killed.
   * Requests made afterwards are refused.
   */
  async close(): Promise<void> {
    this.#closing = true;
    const e = this.#current;
    if (!e) return;
    if (e.ready) e.proc.post({ type: 'shutdown' });
    else e.proc.kill();
    const timer = setTimeout(() => e.proc.kill(), this.options.shutdownMs ?? 15_000);
    await e.exited;
    clearTimeout(timer);
  }

  #engine(): Running {
    if (this.#current) return this.#current;
    const proc = this.spawn();
    let ended!: () => void;
    const e: Running = { proc, ready: false, queue: [], pending: new Map(), exited: new Promise<void>((ok) => (ended = ok)) };
    proc.onMessage((raw) => this.#receive(e, raw));
    proc.onExit((code) => {
      if (this.#current === e) this.#current = undefined;
      // After close() the exit is the one asked for: a job whose answer did not leave before the process ended was cancelled, not lost to a fault.
      const outcome = this.#closing
        ? failure('the studio is closing; this request was cancelled', 'cancelled')
        : failure(`${e.failure ?? `the engine process stopped unexpectedly (exit code ${code ?? 'unknown'})`}; this request did not finish, and the next one starts a new engine`, 'internal');
      for (const p of e.pending.values()) p.done(outcome);
      e.pending.clear();
      ended();
    });
    this.#current = e;
    return e;
  }

  #receive(e: Running, raw: unknown): void {
    const m = parseHostReply(raw);
    if (!m) return;
    switch (m.type) {
      case 'hello':
        e.ready = true;
        for (const q of e.queue.splice(0)) e.proc.post(q);
        return;
      case 'failed':
        e.failure = m.message;
        return;
      case 'event':
        e.pending.get(m.id)?.emit(m.event);
        return;
      case 'result': {
        const p = e.pending.get(m.id);
        if (!p) return;
        e.pending.delete(m.id);
        p.done(m.ok ? { ok: true, result: m.result, ...(m.opened ? { opened: m.opened } : {}) } : { ok: false, error: m.error });
      }
    }
  }

  #send(e: Running, m: HostRequest): void {
    if (e.ready) e.proc.post(m);
    else e.queue.push(m);
  }
}
