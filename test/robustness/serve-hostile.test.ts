/**
 * `exit-studio serve`, the real process, while an inference runs in it and
 * hostile requests arrive: previews of a 64 MiB line, of a folder holding a
 * named pipe called a.png and of a zip bomb; imports and models that lie;
 * NaN data; an oversized body and a binary frame. Every request gets its
 * answer, the server keeps answering other requests (a page, a listing)
 * while they run, the inference finishes whole, the process lives on, and no
 * fault reached the last-resort handler: each was a failure of its own
 * request.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { MAX_DATA_LINE } from '../../src/data/lines.js';
import { projectRoot, samplePaths } from '../../src/paths.js';
import { tiledNpy, wsInvoke } from './helpers.js';
import { deflatedZeros, fifo, longLine, manyMembers, npyMember, rawZip } from './hostile.js';

const dir = mkdtempSync(join(tmpdir(), 'es-serve-hostile-'));
const sample = samplePaths();
let child: ChildProcess;
let stderr = '';
let port = 0;
let token = '';
let ws: WebSocket;

/** Every message the socket received, in order. */
const received: Record<string, unknown>[] = [];

let seq = 0;
const invoke = (command: string, payload: unknown): Promise<Record<string, unknown>> => wsInvoke(ws, `q${++seq}`, command, payload);

function http(path: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', fail);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The server answers a listing over the socket and a page over HTTP. */
async function answers(): Promise<void> {
  const list = await invoke('trace.list', {});
  assert.equal(list.ok, true, JSON.stringify(list));
  const page = await http('/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<html|<!doctype/i);
}

before(async () => {
  const out = await new Promise<{ url: string; port: number }>((ok, fail) => {
    child = spawn(process.execPath, [join(projectRoot(), 'bin', 'exit-studio.js'), 'serve', '--port', '0', '--json', '--db', join(dir, 'studio.sqlite')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      try {
        ok(JSON.parse(text) as { url: string; port: number });
      } catch {
        // not all of it yet
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('exit', (code) => fail(new Error(`serve exited (${code}): ${stderr}`)));
  });
  port = out.port;
  token = new URL(out.url).searchParams.get('token')!;
  ws = await new Promise<WebSocket>((ok, fail) => {
    const s = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${token}` } });
    s.once('open', () => ok(s));
    s.once('error', fail);
  });
  ws.on('message', (d: Buffer) => received.push(JSON.parse(d.toString()) as Record<string, unknown>));
});

after(() => {
  ws?.terminate();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('serve answers every hostile request, keeps serving while they run, and a running inference finishes whole', { timeout: 240_000 }, async () => {
  const at = (name: string): string => join(dir, name);
  const data = at('tiled.npy');
  await tiledNpy(data, 30_000);
  longLine(MAX_DATA_LINE + 2, [at('long.csv'), at('long-trace.tsv')]);
  mkdirSync(at('pipe-images'));
  fifo(at('pipe-images/a.png'));
  const small = npyMember([8, 1, 28, 28], 0);
  writeFileSync(at('bomb.npz'), rawZip([{ name: 'image.npy', data: deflatedZeros(small, 1 << 30), deflated: true, declaredSize: small.length }]));
  writeFileSync(at('many.npz'), manyMembers(100_000));
  writeFileSync(at('zeros.onnx'), '');
  truncateSync(at('zeros.onnx'), Math.floor(1.9 * 2 ** 30));
  writeFileSync(at('nan.npy'), npyMember([8, 1, 28, 28], NaN));

  // An inference that runs for seconds, under way before anything hostile arrives.
  const inferId = 'the-inference';
  const inference = new Promise<Record<string, unknown>>((ok) => {
    const onMessage = (d: Buffer): void => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      if (m.id === inferId && m.type === 'result') ok(m);
    };
    ws.on('message', onMessage);
  });
  ws.send(JSON.stringify({ type: 'invoke', id: inferId, command: 'trace.infer', payload: { model: sample.model, data, batch: 8, name: 'while hostile' } }));
  for (let i = 0; !received.some((m) => m.id === inferId && m.type === 'event'); i++) {
    assert.ok(i < 2400, 'the inference never reported progress');
    await new Promise((r) => setTimeout(r, 50));
  }

  let inferenceDone = false;
  void inference.then(() => (inferenceDone = true));
  // A 64 MiB line takes a moment to read; a listing sent after it is answered before it.
  const order: string[] = [];
  const longPreview = invoke('data.preview', { path: at('long.csv'), model: sample.model }).then((m) => (order.push('preview'), m));
  const listing = invoke('trace.list', {}).then((m) => (order.push('list'), m));
  const [preview, list] = await Promise.all([longPreview, listing]);
  assert.equal(list.ok, true);
  assert.deepEqual(order, ['list', 'preview'], 'the listing waited for the long line');
  assert.match(JSON.stringify((preview.result as { problems: string[] }).problems), /line 1 is longer than 64 MiB/);
  assert.ok(!inferenceDone, 'the inference was still running when the long line was refused');
  await answers();

  const previews: [string, RegExp][] = [
    [at('pipe-images'), /named pipe/],
    [at('bomb.npz'), /inflates to more than/],
    [at('nan.npy'), /NaN is not a finite number/],
  ];
  for (const [path, says] of previews) {
    const r = await invoke('data.preview', { path, model: sample.model });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.match(JSON.stringify((r.result as { problems: string[] }).problems), says, path);
    await answers();
  }
  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['trace.import', { path: at('long-trace.tsv') }, /line 1 is longer than 1 MiB/],
    ['trace.import', { path: at('many.npz') }, /claims 100000 members/],
    ['model.inspect', { path: at('zeros.onnx') }, /not an ONNX model/],
    ['trace.infer', { model: sample.model, data: at('nan.npy') }, /NaN is not a finite number/],
    ['trace.infer', { model: sample.model, data: at('pipe-images') }, /named pipe/],
  ];
  for (const [command, payload, says] of refused) {
    const r = await invoke(command, payload);
    assert.equal(r.ok, false, JSON.stringify(r));
    const error = r.error as { message: string; kind: string };
    assert.equal(error.kind, 'input', error.message);
    assert.match(error.message, says);
    await answers();
  }
  const big = await http('/api/invoke', 'POST', JSON.stringify({ command: 'trace.list', payload: { x: 'y'.repeat(2 << 20) } }));
  assert.equal(big.status, 413);
  ws.send(Buffer.from([0xff, 0xfe, 0x00]), { binary: true });
  await answers();
  assert.ok(received.some((m) => m.type === 'error' && /binary frames/.test(JSON.stringify(m.error))), 'the binary frame was answered');

  const done = await inference;
  assert.equal(done.ok, true, JSON.stringify(done).slice(0, 500));
  assert.equal((done.result as { samples: number }).samples, 30_000);
  const stored = await invoke('trace.list', {});
  assert.deepEqual((stored.result as { name: string; samples: number }[]).map((t) => [t.name, t.samples]), [['while hostile', 30_000]]);
  assert.equal(child.exitCode, null, 'the server is still running');
  assert.ok(!/contained|Napi|terminate called/.test(stderr), `a fault escaped its request:\n${stderr}`);
});
