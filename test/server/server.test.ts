/** Serve mode's guards and protocol: token, Host and Origin checks, static files only from the renderer folder, jobs over the WebSocket. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { toJsonSafe } from '../../src/server/jobs.js';
import { parseClientMessage } from '../../src/server/protocol.js';
import { startServer, staticPath, type RunningServer } from '../../src/server/server.js';
import { openStore, type Store } from '../../src/store/store.js';
import { syntheticTrace } from '../helpers/trace.js';

const TOKEN = 'test-token-123';

/** A raw request, so tests can send Host and Origin headers fetch() would not let them set. */
function raw(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', fail);
    if (body) req.write(body);
    req.end();
  });
}

function socket(port: number, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    ws.once('open', () => ok(ws));
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`refused with ${res.statusCode}`)));
  });
}

/** Sends an invoke and collects its events until the result; onEvent sees each event as it comes. */
function invoke(ws: WebSocket, id: string, command: string, payload: unknown, onEvent?: (event: { type: string }) => void): Promise<{ events: unknown[]; result: Record<string, unknown> }> {
  return new Promise((ok) => {
    const events: unknown[] = [];
    const onMessage = (data: Buffer): void => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      if (m.id !== id) return;
      if (m.type === 'event') {
        events.push(m.event);
        onEvent?.(m.event as { type: string });
      }
      if (m.type === 'result') {
        ws.off('message', onMessage);
        ok({ events, result: m });
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ type: 'invoke', id, command, payload }));
  });
}

describe('serve mode', () => {
  let dir: string;
  let store: Store;
  let server: RunningServer;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'exit-studio-serve-'));
    const ui = join(dir, 'ui');
    mkdirSync(join(ui, 'assets'), { recursive: true });
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>studio</title>');
    writeFileSync(join(ui, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'secret');
    store = openStore(join(dir, 'studio.sqlite'));
    server = await startServer({ port: 0, staticDir: ui, store: () => store, token: TOKEN });
    port = server.port;
  });

  after(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('listens on the loopback address and prints a URL with the token', () => {
    assert.match(server.url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/\\?token=${TOKEN}$`));
  });

  test('a random token per start when none is given', async () => {
    const s = await startServer({ port: 0, staticDir: join(dir, 'ui'), store: () => store });
    try {
      assert.ok(s.token.length >= 24);
      assert.notEqual(s.token, TOKEN);
    } finally {
      await s.close();
    }
  });

  test('no token, no page; a wrong token neither', async () => {
    assert.equal((await raw(port, '/')).status, 401);
    assert.equal((await raw(port, '/?token=nope')).status, 401);
    assert.equal((await raw(port, '/assets/app.js')).status, 401);
  });

  test('the token in the URL serves the page with a strict CSP and trades the token for a cookie', async () => {
    const r = await raw(port, `/?token=${TOKEN}`);
    assert.equal(r.status, 200);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    const cookie = String(r.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const pair = cookie.split(';')[0]!;
    const asset = await raw(port, '/assets/app.js', { cookie: pair });
    assert.equal(asset.status, 200);
    assert.match(String(asset.headers['content-type']), /javascript/);
  });

  test('another Host is refused (DNS rebinding)', async () => {
    assert.equal((await raw(port, `/?token=${TOKEN}`, { host: `evil.example:${port}` })).status, 421);
  });

  test('cross-origin requests are refused', async () => {
    assert.equal((await raw(port, `/?token=${TOKEN}`, { origin: 'https://evil.example' })).status, 403);
    assert.equal((await raw(port, `/?token=${TOKEN}`, { 'sec-fetch-site': 'cross-site' })).status, 403);
    const api = await raw(port, '/api/invoke', { authorization: `Bearer ${TOKEN}`, origin: 'http://localhost:1', 'content-type': 'application/json' }, 'POST', '{"command":"trace.list"}');
    assert.equal(api.status, 403);
  });

  test('static files only from the renderer folder', async () => {
    assert.equal((await raw(port, `/../secret.txt?token=${TOKEN}`)).status, 404);
    assert.equal((await raw(port, `/%2e%2e/secret.txt?token=${TOKEN}`)).status, 404);
    assert.equal((await raw(port, `/assets/missing.js?token=${TOKEN}`)).status, 404);
    assert.equal(staticPath('/srv/ui', '/../etc/passwd'), undefined);
    assert.equal(staticPath('/srv/ui', '/%2e%2e/x'), undefined);
    assert.equal(staticPath('/srv/ui', '/'), '/srv/ui/index.html');
  });

  test('POST /api/invoke runs a command; each kind of error has its status', async () => {
    const h = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const ok = await raw(port, '/api/invoke', h, 'POST', JSON.stringify({ command: 'trace.list', payload: {} }));
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body).result, []);
    const bad = await raw(port, '/api/invoke', h, 'POST', JSON.stringify({ command: 'trace.show', payload: { id: 'x' } }));
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error.message, /invalid payload/);
    assert.equal(JSON.parse(bad.body).error.kind, 'input');
    const unknown = await raw(port, '/api/invoke', h, 'POST', JSON.stringify({ command: 'fs.readFile', payload: {} }));
    assert.equal(unknown.status, 404);
    assert.deepEqual([JSON.parse(unknown.body).error.kind, JSON.parse(unknown.body).error.message], ['not-found', 'unknown command "fs.readFile"']);
    const missing = await raw(port, '/api/invoke', h, 'POST', JSON.stringify({ command: 'trace.show', payload: { id: 999_999 } }));
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body).error, { message: 'no trace with id 999999', kind: 'not-found' }, 'no CLI command in the message');
    const id = store.traces.save(syntheticTrace(20, 3, 4), { name: 'to export', source: 'import' });
    const out = join(dir, 'exported.tsv');
    writeFileSync(out, 'an earlier file');
    const taken = await raw(port, '/api/invoke', h, 'POST', JSON.stringify({ command: 'trace.export', payload: { id, out } }));
    assert.equal(taken.status, 409);
    assert.deepEqual(JSON.parse(taken.body).error, { message: `${out}: already exists`, kind: 'conflict', code: 'exists', field: 'force' }, 'no CLI flag in the message');
    store.traces.delete(id);
    const text = await raw(port, '/api/invoke', { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' }, 'POST', '{}');
    assert.equal(text.status, 415, 'a simple (no-preflight) content type is refused');
  });

  test('the WebSocket needs the token and the right origin', async () => {
    await assert.rejects(socket(port, {}), /401/);
    await assert.rejects(socket(port, { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' }), /403/);
    const ws = await socket(port, { authorization: `Bearer ${TOKEN}`, origin: `http://127.0.0.1:${port}` });
    ws.close();
  });

  test('jobs over the WebSocket: results tagged with the request id, input errors named', async () => {
    const ws = await socket(port, { cookie: `exit_studio_token_${port}=${TOKEN}` });
    try {
      const list = await invoke(ws, 'a1', 'trace.list', {});
      assert.deepEqual(list.result, { type: 'result', id: 'a1', ok: true, result: [] });
      const bad = await invoke(ws, 'a2', 'trace.show', { id: -1 });
      assert.equal(bad.result.ok, false);
      assert.equal((bad.result.error as { kind: string }).kind, 'input');
      const missing = await invoke(ws, 'a3', 'trace.show', { id: 999 });
      assert.match((missing.result.error as { message: string }).message, /no trace with id 999/);
    } finally {
      ws.close();
    }
  });

  test('two pages may use the same request id at once; neither can cancel the other', async () => {
    const cookie = { cookie: `exit_studio_token_${port}=${TOKEN}` };
    const [a, b] = await Promise.all([socket(port, cookie), socket(port, cookie)]);
    try {
      const { samplePaths } = await import('../../src/paths.js');
      const s = samplePaths();
      // Both run the whole sample set one image at a time: seconds, so both are running when b cancels.
      const infer = { model: s.model, data: s.data, batch: 1, threads: 1, force: true };
      let aDone = false;
      let started = 0;
      let cancelledWhileARan = false;
      // Page b cancels "its" request id once both jobs have reported progress, while a runs one of the same name.
      const onFirst = (): void => {
        if (++started !== 2) return;
        cancelledWhileARan = !aDone;
        b.send(JSON.stringify({ type: 'cancel', id: 'same' }));
      };
      const once = (f: () => void): ((e: { type: string }) => void) => {
        let seen = false;
        return (e) => {
          if (e.type === 'progress' && !seen) {
            seen = true;
            f();
          }
        };
      };
      const ra = invoke(a, 'same', 'trace.infer', infer, once(onFirst)).then((r) => {
        aDone = true;
        return r;
      });
      const rb = invoke(b, 'same', 'trace.infer', infer, once(onFirst));
      const outB = await rb;
      assert.equal(outB.result.ok, false, 'b\'s job was cancelled');
      assert.equal((outB.result.error as { kind: string }).kind, 'cancelled', JSON.stringify(outB.result));
      assert.ok(cancelledWhileARan && !aDone, 'a was still running when b was cancelled');
      // a is untouched: cancel it from its own page now, so the test does not wait for the whole set.
      a.send(JSON.stringify({ type: 'cancel', id: 'same' }));
      const outA = await ra;
      assert.equal((outA.result.error as { kind: string } | undefined)?.kind, 'cancelled', 'a stops only when its own page cancels it');
      const events = outA.events.filter((e) => (e as { type: string }).type === 'progress').length;
      assert.ok(events >= 2, `a went on after b was cancelled (${events} progress events)`);
      assert.deepEqual(server.runner.active, []);
    } finally {
      a.close();
      b.close();
    }
  });

  test('cancel aborts a running job through its signal', async () => {
    const ws = await socket(port, { cookie: `exit_studio_token_${port}=${TOKEN}` });
    try {
      const { samplePaths } = await import('../../src/paths.js');
      const s = samplePaths();
      // The whole sample set, one image at a time: seconds of work. Cancel on its first progress event.
      let sent = false;
      const r = await invoke(ws, 'job1', 'trace.infer', { model: s.model, data: s.data, batch: 1, threads: 1, force: true }, (e) => {
        if (e.type === 'progress' && !sent) {
          sent = true;
          ws.send(JSON.stringify({ type: 'cancel', id: 'job1' }));
        }
      });
      assert.ok(sent, 'the job reported progress before its result');
      assert.equal(r.result.ok, false, 'cancelled, not finished');
      assert.equal((r.result.error as { kind: string }).kind, 'cancelled', JSON.stringify(r.result));
      assert.deepEqual(server.runner.active, []);
    } finally {
      ws.close();
    }
  });

  test("policy.run over HTTP: EENet's hidden, lr and beta reach it; a value out of range is the caller's error, at its field", async () => {
    const { samplePaths } = await import('../../src/paths.js');
    const s = samplePaths();
    const h = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const post = async (command: string, payload: unknown) => {
      const r = await raw(port, '/api/invoke', h, 'POST', JSON.stringify({ command, payload }));
      return { status: r.status, body: JSON.parse(r.body) as { result: Record<string, unknown>; error: { message: string } } };
    };
    const inf = await post('trace.infer', { model: s.model, data: s.data, probs: true, limit: 200, threads: 1, force: true });
    assert.equal(inf.status, 200, JSON.stringify(inf.body));
    const traceId = inf.body.result.traceId;
    const ok = await post('policy.run', { traceId, seeds: 1, policies: [{ policy: 'eenet:0.5', params: { hidden: 3, lr: 0.02, beta: 2, epochs: 2 } }] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const run = (ok.body.result.runs as { learned: { model: { hidden: number } } }[])[0]!;
    assert.equal(run.learned.model.hidden, 3);
    const bad = await post('policy.run', { traceId, seeds: 1, policies: ['uee-ucb', { policy: 'eenet:0.5', params: { beta: -1 } }] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /policies\.1: policy "eenet:0\.5": beta must be a number in \(0, 100\]; got -1/);
  });
});

describe('wire helpers', () => {
  test('client messages are validated', () => {
    assert.deepEqual(parseClientMessage('{"type":"invoke","id":"x1","command":"trace.list"}'), { type: 'invoke', id: 'x1', command: 'trace.list', payload: {} });
    assert.deepEqual(parseClientMessage('{"type":"cancel","id":"x1"}'), { type: 'cancel', id: 'x1' });
    for (const bad of ['', 'null', '[]', '{"type":"invoke","command":"x"}', '{"type":"invoke","id":"a b","command":"x"}', '{"type":"other","id":"x"}']) {
      assert.equal(parseClientMessage(bad), undefined, bad);
    }
  });

  test('results become JSON-safe: typed arrays to arrays, NaN to null', () => {
    assert.deepEqual(toJsonSafe({ a: new Float64Array([1, NaN]), b: [Infinity, 2], c: undefined, d: new Date(0) }), { a: [1, null], b: [null, 2], d: '1970-01-01T00:00:00.000Z' });
  });
});
