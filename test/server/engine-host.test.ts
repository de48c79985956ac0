/**
 * The desktop app's engine host, under plain Node: the same entry module that
 * Electron's utilityProcess.fork() runs (dist/src/server/engine-process.js),
 * started with child_process.fork and structured-clone messages, as
 * utilityProcess's message port carries them. The client is the one the
 * desktop main process uses (EngineClient); only the process launcher differs.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StudioEvent } from '../../src/api/context.js';
import { projectRoot } from '../../src/paths.js';
import { EngineClient, type EngineProcess } from '../../src/server/engine-client.js';
import { engineEntry, forkEngine } from '../../src/server/engine-fork.js';
import { parseHostReply, parseHostRequest } from '../../src/server/engine-protocol.js';
import type { JobOutcome } from '../../src/server/jobs.js';
import { openStore } from '../../src/store/store.js';
import { buildMlpMultiExit, cleanupTempModels, writeTempModel } from '../helpers/onnx-builder.js';
import { syntheticTrace } from '../helpers/trace.js';

const ENTRY = engineEntry();

const dir = mkdtempSync(join(tmpdir(), 'es-engine-host-'));
const db = join(dir, 'studio.sqlite');
let traceId = 0;

before(() => {
  const store = openStore(db);
  traceId = store.traces.save(syntheticTrace(4000, 4, 5, { labels: true }), { name: 'host trace', source: 'import' });
  store.close();
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanupTempModels();
});

/** Every engine process the tests started, to check how each ended. */
const children: ChildProcess[] = [];

/** The launcher the tests use in place of utilityProcess.fork: the same module, a Node child with structured-clone IPC. */
function startEngine(entry = ENTRY): EngineProcess {
  const proc = forkEngine({ entry, env: { ...process.env, EXIT_STUDIO_DB: db } });
  children.push(proc.child);
  return proc;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((ok) => child.once('exit', (code) => ok(code)));
}

interface Collected {
  events: StudioEvent[];
  outcome: Promise<JobOutcome>;
}

function run(client: { run: EngineClient['run'] }, id: string, command: string, payload: unknown, onEvent?: (e: StudioEvent) => void): Collected {
  const events: StudioEvent[] = [];
  const outcome = client.run(id, command, payload, (e) => {
    events.push(e);
    onEvent?.(e);
  });
  return { events, outcome };
}

function error(o: JobOutcome): { message: string; kind: string } {
  assert.equal(o.ok, false, `expected a failure, got ${JSON.stringify(o).slice(0, 200)}`);
  if (o.ok) throw new Error('unreachable');
  return o.error;
}

describe('the engine host answers serve mode’s job protocol from its own process', () => {
  const client = new EngineClient(() => startEngine());
  after(() => client.close());

  test('a command runs in the engine process and its result comes back', async () => {
    const o = await client.run('list-1', 'trace.list', {}, () => {});
    assert.ok(o.ok, JSON.stringify(o));
    const traces = o.result as { id: number; name: string }[];
    assert.deepEqual(
      traces.map((t) => [t.id, t.name]),
      [[traceId, 'host trace']],
    );
    assert.equal(children.length, 1);
    assert.notEqual(children[0]!.pid, process.pid);
  });

  test('an answer says which files the call opened, by its command\'s facts (the desktop\'s Open Recent)', async () => {
    const model = writeTempModel(buildMlpMultiExit({ inputDim: 4, hidden: 5, classes: 3, exits: 2 }));
    const o = await client.run('inspect-1', 'model.inspect', { path: model }, () => {});
    assert.ok(o.ok, JSON.stringify(o).slice(0, 300));
    assert.deepEqual(o.opened, [{ kind: 'model', path: model }]);
    const list = await client.run('list-2', 'trace.list', {}, () => {});
    assert.ok(list.ok && list.opened === undefined, 'listing opens nothing');
    assert.deepEqual(
      parseHostReply({ type: 'result', id: 'a', ok: true, result: 1, opened: [{ kind: 'model', path: '/m.onnx' }, { kind: 'script', path: '/x' }, { kind: 'trace', path: '' }, 'junk'] }),
      { type: 'result', id: 'a', ok: true, result: 1, opened: [{ kind: 'model', path: '/m.onnx' }] },
      'what is not a file of a known kind is left out',
    );
  });

  test('a long job reports events tagged with its request, and cancel stops it', async () => {
    let cancelled = false;
    const job = run(client, 'replay-1', 'policy.run', { traceId, policies: ['uee-ucb'], seeds: 400, name: 'to cancel' }, () => {
      if (!cancelled) cancelled = client.cancel('replay-1');
    });
    const e = error(await job.outcome);
    assert.equal(e.kind, 'cancelled', e.message);
    assert.ok(cancelled, 'cancel found the request in flight');
    assert.ok(job.events.length > 0, 'events arrived before the result');
    assert.ok(job.events.every((x) => typeof x.type === 'string'));
    assert.equal(client.cancel('replay-1'), false, 'a finished request cannot be cancelled');
  });

  test('a finished replay returns its runs', async () => {
    const job = run(client, 'replay-2', 'policy.run', { traceId, policies: ['uee-ucb', 'last'], seeds: 3, name: 'finished' });
    const o = await job.outcome;
    assert.ok(o.ok, JSON.stringify(o));
    const runs = (o.result as { runs: { policy: string; seeds: number }[] }).runs;
    assert.deepEqual(
      runs.map((r) => [r.policy, r.seeds]),
      [
        ['uee-ucb', 3],
        ['last', 3],
      ],
    );
    assert.ok(job.events.some((x) => x.type === 'progress' || x.type === 'partial'));
  });

  test('bad input is refused with the command’s own message, and the engine goes on', async () => {
    const bad = error(await client.run('bad-1', 'policy.run', { traceId: 'seven' }, () => {}));
    assert.equal(bad.kind, 'input');
    assert.match(bad.message, /traceId/);
    const unknown = error(await client.run('bad-2', 'no.such.command', {}, () => {}));
    assert.match(unknown.message, /unknown command "no.such.command"/);
    assert.ok((await client.run('list-2', 'trace.list', {}, () => {})).ok);
  });

  test('one id twice at once is refused; two windows may use the same id', async () => {
    const a = client.session('w1');
    const b = client.session('w2');
    const first = run(a, 'same', 'policy.run', { traceId, policies: ['random'], seeds: 2, name: 'w1' });
    const twice = error(await a.run('same', 'trace.list', {}, () => {}));
    assert.match(twice.message, /already running/);
    const other = await b.run('same', 'trace.list', {}, () => {});
    assert.ok(other.ok, 'the other window’s request with the same id runs');
    assert.ok((await first.outcome).ok);
  });

  test('closing a window’s session cancels what it started, and nothing else', async () => {
    const a = client.session('w3');
    const b = client.session('w4');
    let closed = false;
    const mine = run(a, 'long', 'policy.run', { traceId, policies: ['uee-ucb'], seeds: 400, name: 'w3' }, () => {
      if (!closed) {
        closed = true;
        a.close();
      }
    });
    const theirs = run(b, 'short', 'policy.run', { traceId, policies: ['last'], seeds: 2, name: 'w4' });
    assert.equal(error(await mine.outcome).kind, 'cancelled');
    assert.ok((await theirs.outcome).ok);
  });
});

describe('the engine process ends cleanly, or says why it could not go on', () => {
  test('an engine that dies fails the requests in flight, and the next request starts a new engine', async () => {
    const client = new EngineClient(() => startEngine());
    const started = children.length;
    let killed = false;
    const job = run(client, 'doomed', 'policy.run', { traceId, policies: ['uee-ucb'], seeds: 400, name: 'killed' }, () => {
      if (!killed) {
        killed = true;
        children.at(-1)!.kill('SIGKILL');
      }
    });
    const e = error(await job.outcome);
    assert.equal(e.kind, 'internal');
    assert.match(e.message, /the engine process stopped unexpectedly \(exit code .*\); this request did not finish, and the next one starts a new engine/);
    const again = await client.run('after', 'trace.list', {}, () => {});
    assert.ok(again.ok, JSON.stringify(again));
    assert.equal(children.length, started + 2, 'a second engine process answered');
    await client.close();
  });

  test('close() cancels the jobs, closes the database (its WAL is folded back) and the process exits 0', async () => {
    const client = new EngineClient(() => startEngine());
    let closing: Promise<void> | undefined;
    const job = run(client, 'busy', 'policy.run', { traceId, policies: ['uee-ucb'], seeds: 400, name: 'at close' }, () => {
      closing ??= client.close();
    });
    const e = error(await job.outcome);
    assert.equal(e.kind, 'cancelled', e.message);
    await closing;
    assert.equal(await exitOf(children.at(-1)!), 0);
    assert.equal(existsSync(`${db}-wal`), false, 'the last connection closed cleanly');
    const refused = error(await client.run('late', 'trace.list', {}, () => {}));
    assert.match(refused.message, /closing/);
    const store = openStore(db);
    assert.ok(store.traces.list().some((t) => t.id === traceId), 'the database is intact');
    store.close();
  });

  test('an engine that cannot load says why, and its requests fail with that reason', async () => {
    // The entry module alone, without the engine beside it: its imports fail after it found its parent.
    const lonely = join(dir, 'lonely');
    mkdirSync(lonely, { recursive: true });
    copyFileSync(ENTRY, join(lonely, 'engine-process.js'));
    copyFileSync(join(projectRoot(), 'package.json'), join(lonely, 'package.json'));
    const client = new EngineClient(() => startEngine(join(lonely, 'engine-process.js')));
    const e = error(await client.run('x', 'trace.list', {}, () => {}));
    assert.match(e.message, /^the engine could not load \(.*engine-host\.js.*\); this request did not finish/);
    assert.equal(await exitOf(children.at(-1)!), 1);
    await client.close();
  });

  test('an engine whose parent goes away shuts down by itself', async () => {
    const { child } = forkEngine({ env: { ...process.env, EXIT_STUDIO_DB: db } });
    await new Promise<void>((ok) => child.once('message', () => ok()));
    child.disconnect();
    assert.equal(await exitOf(child), 0);
  });

  test('started on its own, without a parent, it says so and exits 2', () => {
    const r = spawnSync(process.execPath, [ENTRY], { env: { ...process.env, EXIT_STUDIO_DB: db }, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^engine-process: no parent to talk to/);
  });
});

describe('host messages are checked on arrival', () => {
  test('malformed requests are dropped', () => {
    for (const junk of [null, 7, 'invoke', [], {}, { type: 'invoke' }, { type: 'invoke', id: '', command: 'x' }, { type: 'invoke', id: 'a'.repeat(201), command: 'x' }, { type: 'invoke', id: 'a', command: '' }, { type: 'cancel' }, { type: 'launch', id: 'a' }]) {
      assert.equal(parseHostRequest(junk), undefined, JSON.stringify(junk));
    }
    assert.deepEqual(parseHostRequest({ type: 'invoke', id: 'w1:r1', command: 'trace.list' }), { type: 'invoke', id: 'w1:r1', command: 'trace.list', payload: {} });
    assert.deepEqual(parseHostRequest({ type: 'shutdown', extra: 1 }), { type: 'shutdown' });
  });

  test('malformed replies are dropped', () => {
    for (const junk of [null, { type: 'hello' }, { type: 'result', id: 'a', ok: false }, { type: 'result', id: 'a', ok: false, error: 'boom' }, { type: 'event', id: 'a', event: 3 }, { type: 'event', id: 'a' }, { type: 'failed' }]) {
      assert.equal(parseHostReply(junk), undefined, JSON.stringify(junk));
    }
    assert.deepEqual(parseHostReply({ type: 'result', id: 'a', ok: true }), { type: 'result', id: 'a', ok: true, result: null });
  });

  test('a malformed message reaching the engine is ignored and it keeps answering', async () => {
    const proc = startEngine();
    const child = children.at(-1)!;
    const replies: unknown[] = [];
    proc.onMessage((m) => replies.push(m));
    await new Promise<void>((ok) => child.once('message', () => ok()));
    child.send({ type: 'invoke', id: 42, command: 'trace.list' });
    child.send('not even an object');
    proc.post({ type: 'invoke', id: 'fine', command: 'trace.list', payload: {} });
    await new Promise<void>((ok) => child.on('message', (m: { type?: string }) => m.type === 'result' && ok()));
    const results = replies.filter((m) => (m as { type?: string }).type === 'result');
    assert.deepEqual(
      results.map((m) => (m as { id: string }).id),
      ['fine'],
    );
    proc.post({ type: 'shutdown' });
    assert.equal(await exitOf(child), 0);
  });
});
