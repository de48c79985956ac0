/**
 * Runs commands for a transport (serve mode, the desktop bridge): one
 * AbortController per client request id so `cancel(id)` reaches the
 * command's signal, events tagged with the id, errors turned into messages a
 * user can read. Every call still goes through invoke(), which validates the
 * payload with the command's zod schema.
 */
import type { OpenedFile } from '../api/command.js';
import type { CommandContext, StudioEvent } from '../api/context.js';
import { invoke } from '../api/commands.js';
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

export class JobRunner {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly store: () => Store) {}

  /** Ids of the requests still running. */
  get active(): string[] {
    return [...this.running.keys()];
  }

  async run(id: string, command: string, payload: unknown, emit: (event: StudioEvent) => void): Promise<JobOutcome> {
    if (this.running.has(id)) return { ok: false, error: { message: `request id "${id}" is already running`, kind: 'conflict' } };
    const abort = new AbortController();
    this.running.set(id, abort);
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
