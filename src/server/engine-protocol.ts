/**
 * The engine host's messages: serve mode's job protocol (protocol.ts) over a
 * process's message port instead of a WebSocket, plus the two things only a
 * host process needs: the parent asks it to shut down, and it says why it
 * could not start.
 *
 * The desktop app runs the engine in an Electron utilityProcess
 * (process.parentPort); tests run the same module under plain Node through
 * child_process.fork. Both carry structured clones, so messages are plain
 * objects checked here on arrival: the parent is trusted, but a malformed
 * message must be dropped, not crash the engine.
 */
import type { StudioEvent } from '../api/context.js';
import { errorKind } from '../errors.js';
import type { OpenedFile } from '../api/command.js';
import { FILE_KINDS } from '../formats/table.js';
import type { ClientMessage, ServerMessage, WireError } from './protocol.js';

/** Parent → engine. Ids are the parent's (scoped per window), so they may be longer than a page's. */
export type HostRequest = ClientMessage | { type: 'shutdown' };

/**
 * Engine → parent: serve's messages, and `failed` when the engine cannot load
 * at all (then it exits). A result also says which files the call opened (its
 * command's `opens`), which the desktop lists under Open Recent without
 * loading the command table itself.
 */
export type HostReply =
  | Exclude<ServerMessage, { type: 'result'; ok: true }>
  | { type: 'result'; id: string; ok: true; result: unknown; opened?: OpenedFile[] }
  | { type: 'failed'; message: string };

const MAX_ID = 200;

function record(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

function isId(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= MAX_ID;
}

/** A request from the parent, or undefined for anything malformed. */
export function parseHostRequest(x: unknown): HostRequest | undefined {
  const m = record(x);
  if (!m) return undefined;
  if (m.type === 'shutdown') return { type: 'shutdown' };
  if (!isId(m.id)) return undefined;
  if (m.type === 'cancel') return { type: 'cancel', id: m.id };
  if (m.type === 'invoke' && typeof m.command === 'string' && m.command.length > 0 && m.command.length <= 100) {
    return { type: 'invoke', id: m.id, command: m.command, payload: m.payload ?? {} };
  }
  return undefined;
}

function isWireError(x: unknown): x is Omit<WireError, 'kind'> & { kind: unknown } {
  const e = record(x);
  return e !== undefined && typeof e.message === 'string' && typeof e.kind === 'string';
}

/** A reply from the engine, or undefined for anything malformed. Event bodies are the engine's own and pass as they are. */
export function parseHostReply(x: unknown): HostReply | undefined {
  const m = record(x);
  if (!m) return undefined;
  if (m.type === 'hello' && typeof m.version === 'string') return { type: 'hello', version: m.version };
  if (m.type === 'failed' && typeof m.message === 'string') return { type: 'failed', message: m.message };
  if (!isId(m.id)) return undefined;
  if (m.type === 'event' && record(m.event) && typeof record(m.event)?.type === 'string') return { type: 'event', id: m.id, event: m.event as StudioEvent };
  if (m.type === 'result' && m.ok === true) {
    const opened = openedFiles(m.opened);
    return { type: 'result', id: m.id, ok: true, result: m.result ?? null, ...(opened.length ? { opened } : {}) };
  }
  // A kind this side does not know is the engine's fault, never the user's.
  if (m.type === 'result' && m.ok === false && isWireError(m.error)) return { type: 'result', id: m.id, ok: false, error: { ...m.error, kind: errorKind(m.error.kind) } };
  return undefined;
}

/** The files a result says were opened; anything malformed is left out (a list for a menu, never worth failing a result). */
function openedFiles(x: unknown): OpenedFile[] {
  if (!Array.isArray(x)) return [];
  return x.flatMap((o): OpenedFile[] => {
    const f = record(o);
    const ok = f && (FILE_KINDS as readonly unknown[]).includes(f.kind) && typeof f.path === 'string' && f.path.length > 0 && f.path.length <= 4096;
    return ok ? [{ kind: f.kind as OpenedFile['kind'], path: f.path as string }] : [];
  });
}
