/**
 * Serve mode's transport: one WebSocket back to the page's own origin. The
 * server authenticated the page with a cookie when it served index.html, so
 * the socket needs nothing in its URL. Each invoke carries a request id; the
 * server tags that request's events with it and answers with one result.
 */
import { HostError, requestId, type Host, type Job } from './host.js';
import type { StudioEvent } from './types.js';

type ServerMessage =
  | { type: 'hello'; version: string }
  | { type: 'event'; id: string; event: StudioEvent }
  | { type: 'result'; id: string; ok: true; result: unknown }
  | { type: 'result'; id: string; ok: false; error: { message: string; kind: string; code?: string; field?: string } }
  | { type: 'error'; id?: string; error: { message: string; kind: string } };

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onEvent: ((e: StudioEvent) => void) | undefined;
}

export class WebSocketHost implements Host {
  readonly kind = 'browser' as const;
  private socket: WebSocket | undefined;
  private opening: Promise<WebSocket> | undefined;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly url: string = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`) {}

  private connect(): Promise<WebSocket> {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    if (this.opening) return this.opening;
    this.opening = new Promise<WebSocket>((ok, fail) => {
      const ws = new WebSocket(this.url);
      ws.onopen = () => {
        this.socket = ws;
        this.opening = undefined;
        ok(ws);
      };
      ws.onerror = () => {
        this.opening = undefined;
        fail(new HostError('cannot reach the studio server: is `exit-studio serve` still running? Reload the page with the URL it printed.', 'internal'));
      };
      ws.onclose = () => {
        if (this.socket === ws) this.socket = undefined;
        for (const [id, p] of this.pending) {
          p.reject(new HostError('the connection to the studio server closed; the job was stopped', 'internal'));
          this.pending.delete(id);
        }
      };
      ws.onmessage = (m) => this.receive(String(m.data));
    });
    return this.opening;
  }

  private receive(text: string): void {
    let m: ServerMessage;
    try {
      m = JSON.parse(text) as ServerMessage;
    } catch {
      return;
    }
    if (m.type === 'hello') return;
    // A frame the server could not read names its request id when it had one.
    if (m.type === 'error') {
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (p && m.id !== undefined) {
        this.pending.delete(m.id);
        p.reject(new HostError(m.error.message, m.error.kind));
      }
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'event') {
      p.onEvent?.(m.event);
      return;
    }
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new HostError(m.error.message, m.error.kind, m.error.code, m.error.field));
  }

  invoke<T = unknown>(command: string, payload: unknown = {}, onEvent?: (event: StudioEvent) => void): Job<T> {
    const id = requestId();
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent });
      this.connect().then(
        (ws) => ws.send(JSON.stringify({ type: 'invoke', id, command, payload })),
        (e: Error) => {
          this.pending.delete(id);
          reject(e);
        },
      );
    });
    return {
      id,
      result,
      cancel: () => {
        if (this.socket && this.pending.has(id)) this.socket.send(JSON.stringify({ type: 'cancel', id }));
      },
    };
  }
}
