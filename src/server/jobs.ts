/**
 * Runs commands for a transport (serve mode, the desktop bridge): one
 * AbortController per client request id so `cancel(id)` reaches the
 * command's signal, events tagged with the id, errors turned into messages a
 * user can read. Every call still goes through invoke(), which validates the
 * payload with the command's zod schema.
 *
 * Long commands (inference, imports, replays, bundles) run at most
 * `maxJobs` at once: each holds threads and memory, and ten inferences side
 * by side only share the cores ten ways. The rest wait in line, in order,
 * and say so ('queue' events with their place); quick commands never wait.
 */
import type { OpenedFile } from '../api/command.js';
import type { CommandContext, StudioEvent } from '../api/context.js';
import { invoke, isLongCommand } from '../api/commands.js';
import { isStudioError, StudioError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { WireError } from './protocol.js';

/** A job's answer; `opened`: the files it opened, where the host asks (the desktop's engine). */
export type JobOutcome = { ok: true; result: unknown; opened?: OpenedFile[] } | { ok: false; error: WireError };

export function toWireError(e: unknown): WireError {
  if (isStudioError(e)) return { message: e.message, kind: e.kind, ...(e.code ? { code: e.code } : {}), ...(e.field ? { field: e.field } : {}) };
  if (e instanceof Error && e.name === 'AbortError') return { message: 'the job was cancelled', kind: 'cancelled' };
  const message = e instanceof Error ? e.message : String(e);
  return { message: `unexpected failure: ${message}`, kind: 'internal' };
}

/** Long jobs at once: EXIT_STUDIO_MAX_JOBS, else 2 (a replay and an inference side by side). */
export function defaultMaxJobs(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.EXIT_STUDIO_MAX_JOBS);
  return Number.isInteger(n) && n >= 1 ? n : 2;
}

interface Waiting {
  id: string;
  start: () => void;
  emit: (event: StudioEvent) => void;
  job: string;
}

export class JobRunner {
  private readonly running = new Map<string, AbortController>();
  /** Long jobs holding a slot. */
  private longJobs = 0;
  /** Long jobs waiting for a slot, first come first served. */
  private readonly line: Waiting[] = [];

  constructor(
    private readonly store: () => Store,
    readonly maxJobs: number = defaultMaxJobs(),
  ) {}

  /** Ids of the requests still running (or waiting in line). */
  get active(): string[] {
    return [...this.running.keys()];
  }

  /** Ids of the long jobs waiting for a slot, in order. */
  get queued(): string[] {
    return this.line.map((w) => w.id);
  }

  /** Resolves once a long job may start (true), or false when it was cancelled while it waited. */
  private slot(id: string, job: string, abort: AbortController, emit: (event: StudioEvent) => void): Promise<boolean> {
    if (this.longJobs < this.maxJobs && this.line.length === 0) {
      this.longJobs++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const w: Waiting = {
        id,
        job,
        emit,
        start: () => {
          abort.signal.removeEventListener('abort', leave);
          this.longJobs++;
          emit({ type: 'queue', job, position: 0 });
          resolve(true);
        },
      };
      const leave = (): void => {
        this.line.splice(this.line.indexOf(w), 1);
        this.tellPositions();
        resolve(false);
      };
      abort.signal.addEventListener('abort', leave, { once: true });
      this.line.push(w);
      emit({ type: 'queue', job, position: this.line.length });
    });
  }

  private release(): void {
    this.longJobs--;
    const next = this.line.shift();
    if (!next) return;
    next.start();
    this.tellPositions();
  }

  private tellPositions(): void {
    this.line.forEach((w, i) => w.emit({ type: 'queue', job: w.job, position: i + 1 }));
  }

  async run(id: string, command: string, payload: unknown, emit: (event: StudioEvent) => void): Promise<JobOutcome> {
    if (this.running.has(id)) return { ok: false, error: { message: `request id "${id}" is already running`, kind: 'conflict' } };
    const abort = new AbortController();
    this.running.set(id, abort);
    const long = isLongCommand(command);
    if (long && !(await this.slot(id, command, abort, emit))) {
      this.running.delete(id);
      return { ok: false, error: { message: 'the job was cancelled', kind: 'cancelled' } };
    }
    const store = this.store;
    const ctx: CommandContext = {
      get store(): Store {
        return store();
      },
      emit: (event) => {
        if (!abort.signal.aborted) emit(event);
      },
      signal: abort.signal,
    };
    try {
      const result = await invoke(ctx, command, payload);
      if (abort.signal.aborted) throw new StudioError('the job was cancelled', { kind: 'cancelled' });
      return { ok: true, result: toJsonSafe(result) };
    } catch (e) {
      return { ok: false, error: abort.signal.aborted ? { message: 'the job was cancelled', kind: 'cancelled' } : toWireError(e) };
    } finally {
      this.running.delete(id);
      if (long) this.release();
    }
  }

  /** Aborts a running request; false when no such request runs. */
  cancel(id: string): boolean {
    const a = this.running.get(id);
    if (!a) return false;
    a.abort();
    return true;
  }

  cancelAll(): void {
    for (const a of this.running.values()) a.abort();
  }
}

/**
 * Results cross a JSON boundary: typed arrays become plain arrays and
 * non-finite numbers become null (JSON.stringify would do the latter anyway,
 * but silently turn a Float64Array into an object of indices).
 */
export function toJsonSafe(x: unknown): unknown {
  if (x === null || x === undefined) return x ?? null;
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  if (typeof x === 'bigint') return Number(x);
  if (typeof x !== 'object') return x;
  if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>, (v) => (Number.isFinite(v) ? v : null));
  if (Array.isArray(x)) return x.map(toJsonSafe);
  if (x instanceof Date) return x.toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) if (v !== undefined && typeof v !== 'function') out[k] = toJsonSafe(v);
  return out;
}
