/**
 * Serve mode: the built renderer and the command contract over HTTP and a
 * WebSocket, on the loopback interface only.
 *
 * Guarded by a random per-start token: the printed URL carries it
 * (`/?token=...`); the first page load trades it for an HttpOnly,
 * SameSite=Strict cookie so the page's own assets and its WebSocket carry it
 * too. Every request without the token is refused, and so is any request
 * whose Host is not the loopback address (DNS rebinding) or whose Origin is
 * another site (cross-origin). Static files come only from the renderer's
 * build folder.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ERROR_OUTCOME, errorKind } from '../errors.js';
import type { Store } from '../store/store.js';
import { appVersion } from '../version.js';
import { JobRunner } from './jobs.js';
import { isRequestId, readClientMessage, type ClientFrame, type ServerMessage } from './protocol.js';
import { pageCsp } from './csp.js';

export interface ServeOptions {
  /** 0 picks a free port. */
  port: number;
  /** The folder of the built renderer (index.html and assets/). */
  staticDir: string;
  store: () => Store;
  /** A fixed token for tests; a random one otherwise. */
  token?: string;
  /** Long jobs at once; the rest wait in line (default: defaultMaxJobs()). */
  maxJobs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  runner: JobRunner;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_BODY = 1 << 20;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/** The page's Content-Security-Policy, its sockets only back to this server. */
export function contentSecurityPolicy(port: number): string {
  return pageCsp([`ws://${HOST}:${port}`, `ws://localhost:${port}`]);
}

function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

/** Why a request is refused, or undefined when it may go on. Exported for tests. */
export function refusal(req: Pick<IncomingMessage, 'headers' | 'url'>, port: number, token: string): { status: number; message: string } | undefined {
  const host = req.headers.host;
  if (host !== `${HOST}:${port}` && host !== `localhost:${port}`) return { status: 421, message: 'wrong Host: serve mode answers only on the loopback address' };
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${HOST}:${port}` && origin !== `http://localhost:${port}`) {
    return { status: 403, message: 'cross-origin requests are refused' };
  }
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site') return { status: 403, message: 'cross-site requests are refused' };
  const url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
  const auth = req.headers.authorization;
  const bearer = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
  const given = url.searchParams.get('token') ?? bearer ?? cookieValue(req.headers.cookie, cookieName(port));
  if (!sameToken(given ?? undefined, token)) return { status: 401, message: 'missing or wrong token: open the URL that `exit-studio serve` printed' };
  return undefined;
}

/** Cookies are not scoped by port: the name carries it so two servers on one host do not clash. */
function cookieName(port: number): string {
  return `exit_studio_token_${port}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

/** A body over MAX_BODY: answered 413, never read whole. */
class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return fail(new BodyTooLarge());
    let size = 0;
    const parts: Buffer[] = [];
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= MAX_BODY) return void parts.push(c);
      parts.length = 0;
      req.off('data', onData);
      fail(new BodyTooLarge());
    };
    req.on('data', onData);
    req.on('end', () => ok(Buffer.concat(parts).toString('utf8')));
    req.on('error', fail);
  });
}

/** How much of a refused body is read and dropped so the client sees the 413, not a reset. */
const DRAIN_LIMIT = 16 * MAX_BODY;

/** 413 and a closed connection; the rest of the body is dropped as it comes, and past DRAIN_LIMIT the socket is cut. */
function refuseLargeBody(req: IncomingMessage, res: ServerResponse): void {
  let drained = 0;
  req.on('data', (c: Buffer) => {
    drained += c.length;
    if (drained > DRAIN_LIMIT) req.destroy();
  });
  req.resume();
  res.setHeader('connection', 'close');
  sendJson(res, 413, { ok: false, error: { message: `request body over ${MAX_BODY} bytes (1 MiB); send a smaller request`, kind: 'input' } });
}

/** A path under `root` for a URL path, or undefined when it would leave it. */
export function staticPath(root: string, urlPath: string): string | undefined {
  let p: string;
  try {
    p = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (p.includes('\0')) return undefined;
  if (p === '/' || p === '') p = '/index.html';
  const full = normalize(join(root, p));
  const base = resolve(root);
  if (full !== base && !full.startsWith(base + sep)) return undefined;
  return full;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const runner = new JobRunner(opts.store, opts.maxJobs);
  const sockets = new Set<WebSocket>();
  let connections = 0;
  let port = opts.port;
  const staticDir = resolve(opts.staticDir);

  const broadcast = (m: ServerMessage): void => {
    const text = JSON.stringify(m);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  };

  const serveStatic = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
    const file = staticPath(staticDir, url.pathname);
    if (!file || !existsSync(file) || !statSync(file).isFile()) return sendJson(res, 404, { error: 'not found' });
    const headers: Record<string, string> = {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
    };
    if (file.endsWith('.html')) {
      headers['content-security-policy'] = contentSecurityPolicy(port);
      // The URL's token becomes a cookie, so assets and the socket need no token in their URLs.
      headers['set-cookie'] = `${cookieName(port)}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return void res.end();
    // A file that vanishes mid-read (a rebuild) ends this response, not the server.
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'POST only' });
    // A JSON content type forces a CORS preflight in browsers, which this server never answers.
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return sendJson(res, 415, { error: 'send application/json' });
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(await readBody(req));
      if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch (e) {
      if (e instanceof BodyTooLarge) return refuseLargeBody(req, res);
      return sendJson(res, 400, { ok: false, error: { message: `bad request body: ${(e as Error).message.slice(0, 200)}`, kind: 'input' } });
    }
    if (url.pathname === '/api/cancel') {
      if (!isRequestId(body.requestId)) return sendJson(res, 400, { ok: false, error: { message: 'requestId is required', kind: 'input' } });
      return sendJson(res, 200, { ok: true, result: { cancelled: runner.cancel(body.requestId) } });
    }
    if (url.pathname === '/api/invoke') {
      if (typeof body.command !== 'string') return sendJson(res, 400, { ok: false, error: { message: 'command is required', kind: 'input' } });
      const id = isRequestId(body.requestId) ? body.requestId : `http-${randomBytes(6).toString('hex')}`;
      // A client that hangs up cancels its job.
      const onClose = (): void => void runner.cancel(id);
      res.on('close', onClose);
      const out = await runner.run(id, body.command, body.payload ?? {}, (event) => broadcast({ type: 'event', id, event }));
      res.off('close', onClose);
      return sendJson(res, out.ok ? 200 : ERROR_OUTCOME[errorKind(out.error.kind)].httpStatus, { requestId: id, ...out });
    }
    return sendJson(res, 404, { error: 'no such endpoint' });
  };

  const server: Server = createServer((req, res) => {
    const refused = refusal(req, port, token);
    if (refused) return sendJson(res, refused.status, { error: refused.message });
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
    if (url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: { message: String(e), kind: 'internal' } });
      });
      return;
    }
    serveStatic(req, res, url);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY });
  server.on('upgrade', (req, socket, head) => {
    const refused = refusal(req, port, token);
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
    if (refused || url.pathname !== '/ws') {
      socket.write(`HTTP/1.1 ${refused?.status ?? 404} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      // A bad frame (over maxPayload, invalid UTF-8, a protocol error) makes ws emit 'error' and close
      // the socket; without a listener that error would be thrown and end the whole server.
      ws.on('error', () => ws.terminate());
      // Request ids are the page's own; the runner's are scoped to this socket, so two
      // pages that happen to pick the same id never collide or cancel each other.
      const scope = `ws${++connections}:`;
      const mine = new Set<string>();
      const send = (m: ServerMessage): void => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
      };
      send({ type: 'hello', version: appVersion });
      ws.on('message', (data, isBinary) => {
        // Every frame gets an answer: a malformed one an error saying why (with its id when it had one).
        const read: ClientFrame = isBinary ? { ok: false, problem: 'binary frames are not read; send JSON text' } : readClientMessage(data.toString());
        if (!read.ok) {
          send({ type: 'error', ...(read.id !== undefined ? { id: read.id } : {}), error: { message: `malformed message: ${read.problem}`, kind: 'input' } });
          return;
        }
        const m = read.message;
        if (m.type === 'cancel') {
          if (mine.has(m.id)) runner.cancel(scope + m.id);
          return;
        }
        mine.add(m.id);
        void runner.run(scope + m.id, m.command, m.payload, (event) => send({ type: 'event', id: m.id, event })).then((out) => {
          mine.delete(m.id);
          send(out.ok ? { type: 'result', id: m.id, ok: true, result: out.result } : { type: 'result', id: m.id, ok: false, error: out.error });
        });
      });
      ws.on('close', () => {
        sockets.delete(ws);
        // A closed page cancels what it started.
        for (const id of mine) runner.cancel(scope + id);
      });
    });
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, HOST, () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${HOST}:${port}/?token=${token}`;

  return {
    url,
    port,
    token,
    runner,
    close: () =>
      new Promise<void>((ok) => {
        runner.cancelAll();
        for (const ws of sockets) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Where the built renderer lives beside the compiled engine. */
export function rendererDir(projectRoot: string): string {
  return join(projectRoot, 'dist', 'ui');
}
