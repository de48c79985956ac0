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

export type ClientMessage =
  | { type: 'invoke'; id: string; command: string; payload: unknown }
  | { type: 'cancel'; id: string };

export interface WireError {
  message: string;
  /** 'input' (fix the request), 'runtime', 'cancelled', or 'internal' for a bug. */
  kind: string;
}

export type ServerMessage =
  | { type: 'hello'; version: string }
  | { type: 'event'; id: string; event: StudioEvent }
  | { type: 'result'; id: string; ok: true; result: unknown }
  | { type: 'result'; id: string; ok: false; error: WireError };

/** Request ids are short client-made strings; anything else is refused before it reaches a map. */
export function isRequestId(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= 64 && /^[A-Za-z0-9_.:-]+$/.test(x);
}

/** Validates an untrusted WebSocket frame; returns undefined for anything malformed. */
export function parseClientMessage(text: string): ClientMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  if (!isRequestId(o.id)) return undefined;
  if (o.type === 'cancel') return { type: 'cancel', id: o.id };
  if (o.type === 'invoke' && typeof o.command === 'string' && o.command.length <= 100) {
    return { type: 'invoke', id: o.id, command: o.command, payload: o.payload ?? {} };
  }
  return undefined;
}
