/**
 * Jobs and processes: a live writer is never taken for a dead one, even by a
 * process that cannot see its pid (another PID namespace, as a container
 * sharing the database is); a trace whose chunks were taken is never stored
 * as complete; SIGTERM stops a job as cleanly as Ctrl-C; a closed pipe ends a
 * command quietly; two identical inferences started at once run once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { projectRoot, samplePaths } from '../../src/paths.js';
import { ownersDir } from '../../src/store/liveness.js';
import { openStore } from '../../src/store/store.js';
import { syntheticTrace } from '../helpers/trace.js';
import { tiledNpy } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'es-liveness-'));
const db = join(dir, 'studio.sqlite');
const sample = samplePaths();
const bin = join(projectRoot(), 'bin', 'exit-studio.js');
const children: ChildProcess[] = [];
const data = join(dir, 'tiled.npy');

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

before(() => tiledNpy(data, 40_000));

function start(args: string[]): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [bin, ...args, '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.on('exit', (code, signal) => ok({ code, signal })));
  return { child, exited, out: () => out, err: () => err };
}

function peek<T>(sql: string, ...params: unknown[]): T | undefined {
  if (!existsSync(db)) return undefined;
  const ro = new Database(db, { readonly: true, fileMustExist: true });
  try {
    ro.pragma('busy_timeout = 5000');
    return ro.prepare(sql).get(...params) as T | undefined;
  } catch {
    return undefined;
  } finally {
    ro.close();
  }
}

async function waitFor<T>(what: string, job: ReturnType<typeof start>, probe: () => T | undefined): Promise<T> {
  for (let i = 0; ; i++) {
    const v = probe();
    if (v !== undefined) return v;
    if (job.child.exitCode !== null) assert.fail(`the job ended before ${what}: ${job.err()}`);
    if (i > 2400) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A running inference with a stored chunk, and its trace id. */
async function runningInference(name: string): Promise<{ job: ReturnType<typeof start>; id: number }> {
  const job = start(['infer', sample.model, data, '--batch', '4', '--name', name, '--force', '--json']);
  const id = await waitFor('a running trace with a stored chunk', job, () =>
    peek<{ id: number }>(`SELECT t.id FROM traces t WHERE t.status = 'running' AND t.name = ? AND EXISTS (SELECT 1 FROM trace_chunks c WHERE c.trace_id = t.id)`, name)?.id,
  );
  return { job, id };
}

const chunks = (id: number): number => peek<{ n: number }>('SELECT count(*) AS n FROM trace_chunks WHERE trace_id = ?', id)?.n ?? 0;

/** Whether this machine lets an unprivileged test make a PID namespace (root in most CI containers does). */
function canUnshare(): boolean {
  return spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
}

test('a process in another PID namespace leaves a live inference alone, and it completes whole', { timeout: 240_000 }, async (t) => {
  if (!canUnshare()) return t.skip('unshare --pid is not permitted here; the forged-pid test below covers the same rule');
  const { job, id } = await runningInference('seen from a container');
  // The reader cannot see the writer's pid: to it, that process does not exist.
  const seen = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '-e', `try { process.kill(${job.child.pid}, 0); console.log('visible') } catch { console.log('invisible') }`], { encoding: 'utf8' });
  assert.equal(seen.stdout.trim(), 'invisible');
  const reader = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, bin, 'traces', 'list', '--json', '--db', db], { encoding: 'utf8' });
  assert.equal(reader.status, 0, reader.stderr);
  assert.equal(peek<{ status: string }>('SELECT status FROM traces WHERE id = ?', id)?.status, 'running', 'still running');
  assert.ok(chunks(id) > 0, 'its chunks are still there');
  const { code } = await job.exited;
  assert.equal(code, 0, job.err());
  const store = openStore(db);
  try {
    assert.equal(store.traces.load(id).samples, 40_000);
  } finally {
    store.close();
  }
});

test('a live writer whose pid means nothing here (forged) is left alone: liveness is its lock, not its pid', { timeout: 240_000 }, async () => {
  const { job, id } = await runningInference('forged pid');
  const rw = new Database(db);
  rw.prepare('UPDATE traces SET owner_pid = 2147483 WHERE id = ?').run(id);
  rw.close();
  const before = chunks(id);
  const store = openStore(db);
  try {
    assert.equal(store.traces.status(id), 'running');
    assert.deepEqual(store.traces.interrupted().map((x) => x.id), []);
    store.recover();
    assert.equal(store.traces.status(id), 'running');
  } finally {
    store.close();
  }
  assert.ok(chunks(id) >= before);
  const { code } = await job.exited;
  assert.equal(code, 0, job.err());
  assert.equal(peek<{ status: string }>('SELECT status FROM traces WHERE id = ?', id)?.status, 'complete');
  assert.deepEqual(readdirSync(ownersDir(db)), [], 'the writer removed its lock when it closed');
});

test('a trace whose chunks another process took is never stored as complete', () => {
  const store = openStore(join(dir, 'damage.sqlite'));
  try {
    const whole = syntheticTrace(40, 3, 4);
    const header = { name: 'victim', source: 'inference' as const, samples: 0, classes: 4, exits: whole.exits, costs: [0.3, 0.6, 1], costSource: 'macs' as const, hasConfidence: true, hasProbs: false, hasLabels: false };
    const id = store.traces.begin(header);
    const half = 20 * 3;
    store.traces.append(id, 0, { pred: whole.pred.subarray(0, half), maxProb: whole.maxProb!.subarray(0, half), entropy: whole.entropy!.subarray(0, half), margin: whole.margin!.subarray(0, half) });
    store.db.prepare('DELETE FROM trace_chunks WHERE trace_id = ?').run(id);
    store.traces.append(id, 1, { pred: whole.pred.subarray(half), maxProb: whole.maxProb!.subarray(half), entropy: whole.entropy!.subarray(half), margin: whole.margin!.subarray(half) });
    assert.throws(() => store.traces.finish(id, { samples: 40 }), /trace \d+ is damaged: 60 predictions for 40 samples × 3 exits; it is not stored as complete/);
    assert.equal(store.traces.status(id), 'running');
    // Marked interrupted behind its back: the writer stops at its next chunk.
    store.db.prepare(`UPDATE traces SET status = 'interrupted' WHERE id = ?`).run(id);
    assert.throws(() => store.traces.append(id, 2, { pred: whole.pred.subarray(0, 3) }), /no longer being written by this process \(it is interrupted\)/);
    assert.throws(() => store.traces.finish(id, { samples: 40 }), /no longer being written/);
    assert.equal(store.traces.status(id), 'interrupted');
  } finally {
    store.close();
  }
});

test('SIGTERM stops an inference like Ctrl-C: nothing stays running, nothing half-written, no lock left', { timeout: 240_000 }, async () => {
  const { job, id } = await runningInference('terminated');
  job.child.kill('SIGTERM');
  const { code, signal } = await job.exited;
  assert.equal(signal, null, 'it exited by itself');
  assert.equal(code, 1);
  assert.match(job.err(), /cancelled/);
  assert.ok(!/\n\s+at /.test(job.err()), job.err());
  assert.equal(peek<{ n: number }>(`SELECT count(*) AS n FROM traces WHERE id = ? OR status = 'running'`, id)?.n, 0, 'the trace is gone, not left running');
  assert.equal(chunks(id), 0);
  assert.deepEqual(readdirSync(ownersDir(db)), []);
});

test('Ctrl-C during a run the CLI replays on its own thread stops it between seeds: exit 1, nothing left running', { timeout: 120_000 }, async () => {
  const store = openStore(db);
  const trace = store.traces.save(syntheticTrace(20_000, 4, 10, { labels: true }), { name: 'for a cancel', source: 'import' });
  store.close();
  // 150 seeds of 20,000 rounds: one thread's worth, so no worker replays them; a few seconds of work.
  const job = start(['run', String(trace), '--policy', 'dee', '--seeds', '150', '--name', 'cancelled here']);
  const id = await waitFor('a run with a seed kept', job, () => peek<{ id: number }>(`SELECT r.id FROM runs r WHERE r.status = 'running' AND EXISTS (SELECT 1 FROM run_seeds s WHERE s.run_id = r.id)`)?.id);
  job.child.kill('SIGINT');
  const t0 = Date.now();
  const { code, signal } = await job.exited;
  assert.equal(signal, null, 'it exited by itself');
  assert.equal(code, 1, job.err());
  assert.ok(Date.now() - t0 < 10_000, `it stopped within a few seeds (${Date.now() - t0} ms)`);
  assert.match(job.err(), /cancelled/);
  assert.equal(peek<{ n: number }>(`SELECT count(*) AS n FROM runs WHERE id = ? OR status = 'running'`, id)?.n, 0, 'the run is gone, not left running');
});

test('a reader that closes the pipe ends the command quietly (no EPIPE stack trace)', { timeout: 120_000 }, async () => {
  const store = openStore(db);
  const big = store.traces.save(syntheticTrace(20_000, 4, 10, { labels: true }), { name: 'for a pipe', source: 'import' });
  store.close();
  const run = spawnSync(process.execPath, [bin, 'run', String(big), '--policy', 'uee-ucb', '--seeds', '3', '--json', '--db', db], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const runId = (JSON.parse(run.stdout) as { runs: { runId: number }[] }).runs[0]!.runId;
  const job = start(['runs', 'show', String(runId), '--json']);
  // Read the first bytes, then hang up, as `| head -c 100` does.
  await new Promise<void>((ok) => job.child.stdout!.once('data', () => ok()));
  job.child.stdout!.destroy();
  const { code } = await job.exited;
  assert.equal(code, 0, job.err());
  assert.ok(!/EPIPE|\n\s+at /.test(job.err()), job.err());
});

test('two identical inferences started at once run once: the second waits and reuses the first', { timeout: 240_000 }, async () => {
  const small = join(dir, 'twice.npy');
  await tiledNpy(small, 8000);
  const a = start(['infer', sample.model, small, '--batch', '16', '--json']);
  const b = start(['infer', sample.model, small, '--batch', '16', '--json']);
  const [ra, rb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ra.code, 0, a.err());
  assert.equal(rb.code, 0, b.err());
  const results = [JSON.parse(a.out()), JSON.parse(b.out())] as { traceId: number; reused: boolean; samples: number }[];
  assert.equal(results[0]!.traceId, results[1]!.traceId, 'one trace for both');
  assert.deepEqual(results.map((r) => r.reused).sort(), [false, true]);
  assert.match(a.err() + b.err(), /the same inference is already running/);
  assert.equal(peek<{ n: number }>(`SELECT count(*) AS n FROM traces t JOIN datasets d ON d.id = t.dataset_id WHERE d.path = ?`, small)?.n, 1);
});
