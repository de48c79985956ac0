/**
 * The wire protocol of serve mode, shared by the server and its tests. The
 * renderer keeps its own copy of these shapes (renderer/src/lib/host.ts): it
 * is built separately and must not import engine code.
 *
 * Over the WebSocket a client sends `invoke` and `cancel`; the server answers
 * every invoke with exactly one `result`, and before it any number of `event`
 * messages tagged with the same request id. POST /api/invoke does the same
 * over HTTP for scripts (its events go to every open WebSocket of the page).
 */
import type { StudioEvent } from '../api/context.js';
import type { ErrorKind } from '../errors.js';

export type ClientMessage =
  | { type: 'invoke'; id: string; command: string; payload: unknown }
  | { type: 'cancel'; id: string };

export interface WireError {
  message: string;
  /** Why it failed (src/errors.ts ERROR_KINDS): input, not-found, conflict, cancelled or internal. */
  kind: ErrorKind;
  /** 'exists': an output is already there; the same request with force: true replaces it (ask first). */
  code?: string;
  /** The payload field the problem is in, for the page to name as it calls it. */
  field?: string;
}

export type ServerMessage =
  | { type: 'hello'; version: string }
  | { type: 'event'; id: string; event: StudioEvent }
  | { type: 'result'; id: string; ok: true; result: unknown }
  | { type: 'result'; id: string; ok: false; error: WireError }
  /** A frame the server could not read; `id` when the frame carried a usable one. */
  | { type: 'error'; id?: string; error: WireError };

/** Request ids are short client-made strings; anything else is refused before it reaches a map. */
export function isRequestId(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= 64 && /^[A-Za-z0-9_.:-]+$/.test(x);
}

/** A frame read: the message, or why it is not one (with its request id when it had a usable one). */
export type ClientFrame = { ok: true; message: ClientMessage } | { ok: false; problem: string; id?: string };

/** Validates an untrusted WebSocket frame, saying what is wrong with a malformed one. */
export function readClientMessage(text: string): ClientFrame {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the frame is not JSON' };
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return { ok: false, problem: 'the frame is not a JSON object' };
  const o = m as Record<string, unknown>;
  if (!isRequestId(o.id)) return { ok: false, problem: 'the frame has no usable "id" (1 to 64 characters of A-Z a-z 0-9 _ . : -)' };
  if (o.type === 'cancel') return { ok: true, message: { type: 'cancel', id: o.id } };
  if (o.type !== 'invoke') return { ok: false, problem: 'the frame\'s "type" is neither "invoke" nor "cancel"', id: o.id };
  if (typeof o.command !== 'string' || o.command.length === 0 || o.command.length > 100) {
    return { ok: false, problem: 'the frame has no usable "command" (a name of at most 100 characters)', id: o.id };
  }
  return { ok: true, message: { type: 'invoke', id: o.id, command: o.command, payload: o.payload ?? {} } };
}

/** Validates an untrusted WebSocket frame; returns undefined for anything malformed. */
export function parseClientMessage(text: string): ClientMessage | undefined {
  const r = readClientMessage(text);
  return r.ok ? r.message : undefined;
}
