/**
 * Fuzzing serve mode's transport: the same hostile payloads as the bridge
 * fuzz, through POST /api/invoke and the WebSocket with the token; plus
 * malformed bodies and frames, huge messages within the 1 MiB bound and
 * past it, a wrong or missing token, and cross-origin requests. Each is
 * refused cleanly (a malformed frame and an oversized body with an answer),
 * the database is unchanged, and the server still answers a valid
 * trace.list afterwards.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { ERROR_OUTCOME, errorKind } from '../../src/errors.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { openStore, type Store } from '../../src/store/store.js';
import { syntheticTrace } from '../helpers/trace.js';
import { COMMAND_NAMES, payloadFor, prototypeClean, READ_ONLY, schemaAccepts, type Fuzzed } from './arbitraries.js';
import { fingerprint, wsInvoke } from './helpers.js';

const SEED = 424242;
const RUNS_PER_COMMAND = 12;
const TOKEN = 'fuzz-token-0123456789';

interface Reply {
  status: number;
  body: string;
}

/** A raw HTTP request with full control of headers (Host, Origin, Authorization). */
function raw(port: number, path: string, headers: Record<string, string>, method = 'POST', body?: string): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', fail);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const authed = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

function openSocket(port: number, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<WebSocket> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    ws.once('open', () => ok(ws));
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`refused with ${res.statusCode}`)));
  });
}

function assertCleanError(error: unknown, what: string): void {
  const e = error as { message?: unknown; kind?: unknown };
  assert.equal(ERROR_OUTCOME[errorKind(e.kind)].exitCode, 2, `${what}: refused as the request's fault (input, not-found, conflict), not ${String(e.kind)}: ${String(e.message)}`);
  assert.equal(typeof e.message, 'string');
  assert.ok(!/\n\s+at /.test(e.message as string), `${what}: no stack trace`);
}

describe('serve mode under fuzzed requests', () => {
  let dir: string;
  let store: Store;
  let server: RunningServer;
  let port: number;
  let ws: WebSocket;
  let baseline: string;
  let seq = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'es-fuzz-serve-'));
    const ui = join(dir, 'ui');
    mkdirSync(ui, { recursive: true });
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>studio</title>');
    store = openStore(join(dir, 'studio.sqlite'));
    store.traces.save(syntheticTrace(20, 3, 3, { labels: true }), { name: 'kept', source: 'import' });
    server = await startServer({ port: 0, staticDir: ui, store: () => store, token: TOKEN });
    port = server.port;
    ws = await openSocket(port);
    baseline = fingerprint(store);
  });

  after(async () => {
    ws.terminate();
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The server still answers a valid trace.list over both transports, and nothing was stored. */
  async function stillServes(): Promise<void> {
    const r = await raw(port, '/api/invoke', authed, 'POST', JSON.stringify({ command: 'trace.list', payload: {} }));
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as { result: unknown[] }).result.length, 1);
    const m = await wsInvoke(ws, `ok${seq++}`, 'trace.list', {});
    assert.equal(m.ok, true, JSON.stringify(m));
    assert.equal(fingerprint(store), baseline, 'the database is unchanged');
  }

  for (const name of COMMAND_NAMES) {
    test(`${name}: fuzzed payloads over HTTP and the WebSocket are refused cleanly`, async () => {
      await fc.assert(
        fc.asyncProperty(payloadFor(name), async ({ kind, payload }: Fuzzed) => {
          const valid = schemaAccepts(name, payload);
          fc.pre(!(kind === 'fuzz' && valid && !READ_ONLY.has(name)));
          const expectOk = valid && READ_ONLY.has(name);

          const http = await raw(port, '/api/invoke', authed, 'POST', JSON.stringify({ command: name, payload, requestId: `h${seq++}` }));
          const body = JSON.parse(http.body) as { ok: boolean; error?: unknown };
          if (expectOk) assert.equal(http.status, 200, http.body);
          else {
            assert.equal(body.ok, false);
            assert.equal(http.status, ERROR_OUTCOME[errorKind((body.error as { kind?: unknown }).kind)].httpStatus, http.body);
            assertCleanError(body.error, `HTTP ${name} ${kind}`);
          }

          const m = await wsInvoke(ws, `w${seq++}`, name, payload);
          if (expectOk) assert.equal(m.ok, true, JSON.stringify(m));
          else {
            assert.equal(m.ok, false);
            assertCleanError(m.error, `WS ${name} ${kind}`);
          }
          assert.equal(fingerprint(store), baseline, 'the database is unchanged');
          assert.ok(prototypeClean(), 'Object.prototype is untouched');
        }),
        { seed: SEED, numRuns: RUNS_PER_COMMAND, endOnFailure: true },
      );
    });
  }

  test('malformed HTTP bodies are refused with 4xx and an input error', async () => {
    const bodies: [string, Record<string, string>, number][] = [
      ['not json at all', authed, 400],
      ['{"command": "trace.list", ', authed, 400],
      ['null', authed, 400],
      ['42', authed, 400],
      ['"trace.list"', authed, 400],
      ['{"command": 7}', authed, 400],
      ['{"command": ["trace.list"]}', authed, 400],
      ['{"payload": {}}', authed, 400],
      ['{"command": "no.such.command"}', authed, 404],
      ['{"command": "trace.list", "payload": {"__proto__": {"polluted": 1}}}', authed, 400],
      [JSON.stringify({ command: 'model.inspect', payload: { path: 'x'.repeat(900_000) } }), authed, 400],
      ['{"command": "trace.list"}', { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' }, 415],
    ];
    for (const [body, headers, status] of bodies) {
      const r = await raw(port, '/api/invoke', headers, 'POST', body);
      assert.equal(r.status, status, `${body.slice(0, 60)} → ${r.status} ${r.body.slice(0, 200)}`);
      const parsed = JSON.parse(r.body) as { error?: unknown };
      assert.ok(parsed.error !== undefined, r.body.slice(0, 200));
      if (status === 400 || status === 404) assertCleanError(parsed.error, body.slice(0, 40));
    }
    const get = await raw(port, '/api/invoke', { authorization: `Bearer ${TOKEN}` }, 'GET');
    assert.equal(get.status, 405);
    assert.ok(prototypeClean());
    await stillServes();
  });

  test('fuzzed HTTP bodies never crash the server', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))), async (body) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = undefined;
        }
        const o = parsed as Record<string, unknown> | undefined;
        // Only bodies that would legitimately run a read-only command may succeed.
        const r = await raw(port, '/api/invoke', authed, 'POST', body);
        if (r.status === 200) {
          assert.ok(o && typeof o.command === 'string' && READ_ONLY.has(o.command), `${body} was accepted`);
        } else {
          assert.equal(r.status, 400, `${body} → ${r.status} ${r.body}`);
          assertCleanError((JSON.parse(r.body) as { error: unknown }).error, body.slice(0, 40));
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
    await stillServes();
  });

  test('malformed WebSocket frames are each answered with an error, and the socket keeps working', async () => {
    const frames: (string | Buffer)[] = [
      'not json',
      '{"type": "invoke"',
      'null',
      '[]',
      '123',
      JSON.stringify({ type: 'invoke', id: 5, command: 'trace.list' }),
      JSON.stringify({ type: 'invoke', id: 'bad id', command: 'trace.list' }),
      JSON.stringify({ type: 'invoke', id: 'x'.repeat(65), command: 'trace.list' }),
      JSON.stringify({ type: 'invoke', id: 'c1', command: 42 }),
      JSON.stringify({ type: 'invoke', id: 'c2', command: 'x'.repeat(101) }),
      JSON.stringify({ type: 'explode', id: 'c3' }),
      JSON.stringify({ __proto__: { type: 'invoke' }, id: 'c4', command: 'trace.list' }),
      Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    ];
    // Well-formed frames: a cancel of nothing running (no answer) and an invoke whose payload is refused.
    const wellFormed = [
      JSON.stringify({ type: 'cancel', id: 'not-mine' }),
      JSON.stringify({ type: 'invoke', id: 'c5', command: 'trace.list', payload: 'y'.repeat(800_000) }),
    ];
    const got: Record<string, unknown>[] = [];
    const onMessage = (d: Buffer): void => void got.push(JSON.parse(d.toString()) as Record<string, unknown>);
    ws.on('message', onMessage);
    for (const f of [...frames, ...wellFormed]) ws.send(f);
    let fuzzed = 0;
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (f) => {
        fuzzed++;
        ws.send(f);
      }),
      { seed: SEED, numRuns: 100 },
    );
    // The socket still answers in order after all that.
    const m = await wsInvoke(ws, 'after-frames', 'trace.list', {});
    assert.equal(m.ok, true);
    ws.off('message', onMessage);
    const answered = got.filter((x) => x.id !== 'after-frames');
    const errors = answered.filter((x) => x.type === 'error');
    assert.equal(errors.length, frames.length + fuzzed, 'one error per malformed frame');
    for (const e of errors) {
      assertCleanError(e.error, 'malformed frame');
      assert.match((e.error as { message: string }).message, /^malformed message: /);
    }
    // Frames with a usable id name it, so a client can fail that request.
    assert.deepEqual(errors.filter((e) => e.id !== undefined).map((e) => e.id), ['c1', 'c2', 'c3', 'c4']);
    const results = answered.filter((x) => x.type === 'result');
    assert.deepEqual(results.map((r) => [r.id, r.ok]), [['c5', false]]);
    assertCleanError(results[0]!.error, 'oversized payload frame');
    await stillServes();
  });

  test('an HTTP body over 1 MiB is answered 413, and the server keeps answering', async () => {
    const big = JSON.stringify({ command: 'trace.list', payload: { x: 'z'.repeat((1 << 20) + 10) } });
    const r = await raw(port, '/api/invoke', authed, 'POST', big);
    assert.equal(r.status, 413, r.body.slice(0, 200));
    assertCleanError((JSON.parse(r.body) as { error: unknown }).error, '413');
    // Without a Content-Length (chunked), the bound is found while reading.
    const chunked = await raw(port, '/api/invoke', { ...authed, 'transfer-encoding': 'chunked' }, 'POST', big);
    assert.equal(chunked.status, 413);
    await stillServes();
  });

  test('a frame over the 1 MiB bound closes only that socket', async () => {
    const big = await openSocket(port);
    const closed = new Promise<number>((ok) => big.once('close', (code) => ok(code)));
    big.send('z'.repeat((1 << 20) + 10));
    assert.equal(await closed, 1009);
    await stillServes();
  });

  test('wrong or missing tokens and cross-origin requests are refused', async () => {
    const body = JSON.stringify({ command: 'trace.list', payload: {} });
    const json = { 'content-type': 'application/json' };
    const cases: [Record<string, string>, number][] = [
      [json, 401],
      [{ ...json, authorization: 'Bearer wrong-token' }, 401],
      [{ ...json, authorization: `Bearer ${TOKEN}x` }, 401],
      [{ ...json, authorization: TOKEN }, 401],
      [{ ...json, cookie: `exit_studio_token_${port}=nope` }, 401],
      [{ ...authed, origin: 'https://evil.example' }, 403],
      [{ ...authed, origin: 'null' }, 403],
      [{ ...authed, 'sec-fetch-site': 'cross-site' }, 403],
      [{ ...authed, host: 'evil.example' }, 421],
    ];
    for (const [headers, status] of cases) {
      const r = await raw(port, '/api/invoke', headers, 'POST', body);
      assert.equal(r.status, status, `${JSON.stringify(headers)} → ${r.status}`);
      assert.ok(!r.body.includes(TOKEN), 'the token is never echoed');
    }
    const wrongQuery = await raw(port, `/api/invoke?token=${'a'.repeat(TOKEN.length)}`, json, 'POST', body);
    assert.equal(wrongQuery.status, 401);
    for (const headers of [{}, { authorization: 'Bearer nope' } as Record<string, string>, { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' }]) {
      await assert.rejects(openSocket(port, headers), /refused with 40[13]/);
    }
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 60 }).filter((t) => t !== TOKEN && /^[\x21-\x7e]+$/.test(t)), async (t) => {
        const r = await raw(port, '/api/invoke', { ...json, authorization: `Bearer ${t}` }, 'POST', body);
        assert.equal(r.status, 401);
      }),
      { seed: SEED, numRuns: 50 },
    );
    await stillServes();
  });

  test('after everything, nothing runs and the database is sound', async () => {
    await stillServes();
    assert.deepEqual(server.runner.active, []);
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.ok(prototypeClean());
  });
});
