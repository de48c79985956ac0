/**
 * Killing the CLI (SIGKILL, no chance to clean up) in the middle of an
 * inference, an import and a multi-seed policy run. Afterwards the database
 * passes PRAGMA integrity_check, what was stored before is intact, the killed
 * job is listed as interrupted (no chunks, no partial series) and
 * `exit-studio rerun` completes it, replacing the interrupted row.
 *
 * No timing races: each kill waits (polling the database read-only) for the
 * job to be visibly under way, and every job is sized so that it is still
 * running for seconds after that point. A child that finished before the kill
 * fails the test loudly instead of passing by luck.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { invoke } from '../../src/api/commands.js';
import { projectRoot, samplePaths } from '../../src/paths.js';
import { openStore, type Store } from '../../src/store/store.js';
import type { Trace } from '../../src/trace/types.js';
import { tiledNpy } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'es-crash-'));
const db = join(dir, 'studio.sqlite');
const sample = samplePaths();
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'exit-studio.js'), ...args, '--db', db], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function cliJson<T>(args: string[]): T {
  const r = cli([...args, '--json']);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A CLI child whose exit is awaited; its stderr is kept for failure messages. */
function start(args: string[]): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stderr: () => string } {
  const child = spawn(process.execPath, [join(projectRoot(), 'bin', 'exit-studio.js'), ...args, '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, exited, stderr: () => err };
}

/** One read-only query on a fresh connection (never writes, never recovers). */
function peek<T>(sql: string, ...params: unknown[]): T | undefined {
  const ro = new Database(db, { readonly: true, fileMustExist: true });
  try {
    ro.pragma('busy_timeout = 5000');
    return ro.prepare(sql).get(...params) as T | undefined;
  } finally {
    ro.close();
  }
}

/** Polls until `probe` returns a value; fails if the child exits first or after a generous limit. */
async function waitFor<T>(what: string, job: ReturnType<typeof start>, probe: () => T | undefined, limitMs = 120_000): Promise<T> {
  let gone = false;
  void job.exited.then(() => (gone = true));
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (gone) assert.fail(`the job ended before ${what}: ${job.stderr()}`);
    if (Date.now() - t0 > limitMs) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** SIGKILL, then wait until the process is really gone (so recovery sees its pid dead). */
async function killHard(job: ReturnType<typeof start>): Promise<void> {
  job.child.kill('SIGKILL');
  const { code, signal } = await job.exited;
  assert.equal(signal, 'SIGKILL', `the job was not killed mid-way (exit code ${code}): it finished too soon; ${job.stderr()}`);
}

function fingerprint(t: Trace): Record<string, string | number> {
  const h = (a: ArrayBufferView | undefined): string => (a ? createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex') : '-');
  return {
    samples: t.samples, classes: t.classes, exits: JSON.stringify(t.exits), costs: h(t.costs), costSource: t.costSource,
    pred: h(t.pred), maxProb: h(t.maxProb), entropy: h(t.entropy), margin: h(t.margin), probs: h(t.probs), labels: h(t.labels),
  };
}

/** Reopens the store like the app does (recovery included) and checks what must hold after any kill. */
function checkAfterKill(): Store {
  const store = openStore(db);
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal((store.db.pragma('foreign_key_check') as unknown[]).length, 0);
  assert.deepEqual(fingerprint(store.traces.load(beforeId)), beforePrint, 'the trace stored before the kill loads identically');
  assert.equal(store.runs.get(beforeRunId).status, 'complete');
  assert.ok(store.runs.series(beforeRunId) !== null, 'the run stored before keeps its series');
  return store;
}

let beforeId = 0;
let beforeRunId = 0;
let beforePrint: Record<string, string | number> = {};
before(async () => {
  // What is stored before any kill: a trace with probabilities and labels, and a run on it. The first 2,000
  // samples: the multi-seed run killed below is sized for a trace this long.
  beforeId = cliJson<{ traceId: number }>(['infer', sample.model, sample.data, '--labels', sample.labels, '--probs', '--limit', '2000', '--name', 'before']).traceId;
  beforeRunId = cliJson<{ runs: { runId: number }[] }>(['run', String(beforeId), '--policy', 'dee', '--seeds', '3']).runs[0]!.runId;
  const store = openStore(db);
  beforePrint = fingerprint(store.traces.load(beforeId));
  store.close();
});

test('SIGKILL mid-inference: the trace is interrupted with no chunks, and `rerun trace` completes it', { timeout: 180_000 }, async () => {
  // 40,000 samples at --batch 4: the first 16,384-sample chunk lands after a few seconds, the rest takes seconds more.
  const data = join(dir, 'tiled.npy');
  await tiledNpy(data, 40_000);
  const job = start(['infer', sample.model, data, '--batch', '4', '--name', 'killed inference']);
  const id = await waitFor('a running trace with a stored chunk', job, () =>
    peek<{ id: number }>(`SELECT t.id FROM traces t WHERE t.status = 'running' AND t.source = 'inference' AND EXISTS (SELECT 1 FROM trace_chunks c WHERE c.trace_id = t.id)`)?.id,
  );
  await killHard(job);

  const store = checkAfterKill();
  try {
    assert.equal(store.traces.status(id), 'interrupted');
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM trace_chunks WHERE trace_id = ?').get(id) as { n: number }).n, 0, 'no chunk of the killed trace stays');
    assert.ok(!store.traces.list().some((t) => t.id === id), 'not listed among complete traces');
    assert.throws(() => store.traces.load(id), /interrupted/);
    const req = store.traces.request(id);
    assert.equal(req?.command, 'trace.infer');
    assert.equal((req?.payload as { data: string }).data, data);
  } finally {
    store.close();
  }
  const listed = cliJson<{ id: number; rerun: { cli: string } }[]>(['traces', 'list', '--interrupted']);
  assert.deepEqual(listed.map((t) => t.id), [id]);
  assert.equal(listed[0]!.rerun.cli, `exit-studio rerun trace ${id}`);
  const human = cli(['traces', 'list']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`exit-studio rerun trace ${id}`));
  assert.ok(!cliJson<{ id: number }[]>(['traces', 'list']).some((t) => t.id === id), 'traces list --json keeps listing complete traces only');

  // The rerun invokes the stored request again; the file is made small first so it is quick (it re-reads the same path).
  await tiledNpy(data, 1500);
  const r = cliJson<{ kind: string; replaced: number; id: number; command: string }>(['rerun', 'trace', String(id)]);
  assert.equal(r.replaced, id);
  assert.equal(r.command, 'trace.infer');
  const reopened = openStore(db);
  try {
    assert.equal(reopened.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(reopened.traces.status(id), id === r.id ? 'complete' : undefined, 'the interrupted row is gone or replaced');
    const t = reopened.traces.meta(r.id);
    assert.equal(t.samples, 1500);
    assert.equal(t.name, 'killed inference');
    assert.equal(reopened.traces.load(r.id).pred.length, 1500 * t.exits.length);
    assert.equal(reopened.traces.interrupted().length, 0);
  } finally {
    reopened.close();
  }
});

test('SIGKILL mid-import: an interrupted trace row with no chunks, and `rerun trace` imports the file', { timeout: 180_000 }, async () => {
  const rows = 1_500_000;
  const file = join(dir, 'matrix.tsv');
  const parts: string[] = ['e1\te2\te3\tlabel\n'];
  let s = '';
  for (let i = 0; i < rows; i++) {
    s += `${i % 10}\t${(i * 7) % 10}\t${(i * 3) % 10}\t${i % 10}\n`;
    if (s.length > 1 << 20) {
      parts.push(s);
      s = '';
    }
  }
  parts.push(s);
  writeFileSync(file, parts.join(''));

  const job = start(['import-trace', file, '--name', 'killed import']);
  const id = await waitFor('a running import', job, () => peek<{ id: number }>(`SELECT id FROM traces WHERE status = 'running' AND source = 'import'`)?.id);
  await killHard(job);

  const store = checkAfterKill();
  try {
    assert.equal(store.traces.status(id), 'interrupted');
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM trace_chunks WHERE trace_id = ?').get(id) as { n: number }).n, 0);
    assert.equal(store.traces.request(id)?.command, 'trace.import');
    assert.deepEqual(store.traces.interrupted().map((t) => t.id), [id]);
    const recent = (await invoke({ store, emit: () => {} }, 'home.recent', {})) as { interrupted: { id: number }[] };
    assert.deepEqual(recent.interrupted.map((t) => t.id), [id], 'home.recent offers it to the UI');
  } finally {
    store.close();
  }

  const r = cliJson<{ replaced: number; id: number; result: { samples: number; hasLabels: boolean } }>(['rerun', 'trace', String(id)]);
  assert.equal(r.replaced, id);
  assert.equal(r.result.samples, rows);
  assert.equal(r.result.hasLabels, true);
  const reopened = openStore(db);
  try {
    assert.equal(reopened.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(reopened.traces.status(id), id === r.id ? 'complete' : undefined, 'the interrupted row is gone or replaced');
    const t = reopened.traces.load(r.id);
    assert.equal(t.samples, rows);
    assert.deepEqual(Array.from(t.pred.subarray(3 * 12345, 3 * 12345 + 3)), [12345 % 10, (12345 * 7) % 10, (12345 * 3) % 10]);
    assert.equal(t.labels![rows - 1], (rows - 1) % 10);
    assert.equal(reopened.traces.meta(r.id).name, 'killed import');
  } finally {
    reopened.close();
  }
  assert.equal(cli(['rerun', 'trace', String(r.id)]).code, 2, 'a complete trace is not run again');
});

// DEE over 2,000 samples: 600 seeds replay for about 1.7 s on two cores (60 took 0.3 s, short enough to end
// between the poll that sees three seeds kept and the kill), so the kill lands mid-run on any machine.
const KILLED_SEEDS = 600;

test('SIGKILL mid multi-seed run: the run is interrupted with no series, its finished seeds kept, and `rerun run` resumes it', { timeout: 180_000 }, async () => {
  const job = start(['run', String(beforeId), '--policy', 'dee', '--seeds', String(KILLED_SEEDS), '--name', 'killed run']);
  const id = await waitFor('a running policy run', job, () => peek<{ id: number }>(`SELECT id FROM runs WHERE status = 'running'`)?.id);
  // Into the replay: a few seeds finished and kept, most still to go.
  await waitFor('three seeds kept', job, () => ((peek<{ n: number }>('SELECT COUNT(*) AS n FROM run_seeds WHERE run_id = ?', id)?.n ?? 0) >= 3 ? true : undefined));
  await killHard(job);

  let kept = 0;
  const store = checkAfterKill();
  try {
    const run = store.runs.get(id);
    assert.equal(run.status, 'interrupted');
    assert.equal(store.runs.series(id), null, 'no partial series');
    kept = store.runs.keptSeeds(id).length;
    assert.ok(kept >= 3 && kept < KILLED_SEEDS, `${kept} seeds kept`);
    // Seeds replay side by side on the pool's threads, so the ones finished need not be the first ones.
    const seeds = store.runs.keptSeeds(id).map((r) => r.seed);
    assert.ok(seeds.every((s, i) => s >= 1 && s <= KILLED_SEEDS && (i === 0 || s > seeds[i - 1]!)), `the seeds finished, in seed order: ${seeds.join(', ')}`);
    assert.equal(run.summary, null);
    assert.ok(!store.runs.list().some((x) => x.id === id));
    assert.equal(store.runs.request(id)?.command, 'policy.run');
    const recent = (await invoke({ store, emit: () => {} }, 'home.recent', {})) as { interruptedRuns: { id: number }[] };
    assert.deepEqual(recent.interruptedRuns.map((x) => x.id), [id], 'home.recent offers it to the UI');
  } finally {
    store.close();
  }
  const listed = cliJson<{ id: number; rerun: { command: string; payload: unknown } }[]>(['runs', 'list', '--interrupted']);
  assert.deepEqual(listed.map((x) => x.id), [id]);
  assert.deepEqual(listed[0]!.rerun, { command: 'job.rerun', payload: { kind: 'run', id }, cli: `exit-studio rerun run ${id}` });
  assert.match(cli(['runs', 'list']).stdout, new RegExp(`exit-studio rerun run ${id}`));
  assert.ok(!cliJson<{ id: number }[]>(['runs', 'list']).some((x) => x.id === id), 'runs list --json keeps listing complete runs only');

  const r = cliJson<{ replaced: number; id: number; result: { runs: { resumedSeeds: number; summary: unknown }[] } }>(['rerun', 'run', String(id)]);
  assert.equal(r.replaced, id);
  assert.equal(r.result.runs[0]!.resumedSeeds, kept, 'the kept seeds were used, not replayed');
  // Resumed is the same as never interrupted: a fresh run of the same request gives the same numbers.
  const fresh = cliJson<{ runs: { runId: number; resumedSeeds: number; summary: unknown }[] }>(['run', String(beforeId), '--policy', 'dee', '--seeds', String(KILLED_SEEDS), '--name', 'killed run']);
  assert.equal(fresh.runs[0]!.resumedSeeds, 0);
  assert.deepEqual(r.result.runs[0]!.summary, fresh.runs[0]!.summary);
  const freshId = fresh.runs[0]!.runId;
  const reopened = openStore(db);
  try {
    assert.equal(reopened.db.pragma('integrity_check', { simple: true }), 'ok');
    const run = reopened.runs.get(r.id);
    assert.equal(run.status, 'complete');
    assert.equal(run.name, 'killed run');
    assert.equal(run.seeds.length, KILLED_SEEDS);
    assert.ok(reopened.runs.series(r.id) !== null);
    if (r.id !== id) assert.throws(() => reopened.runs.get(id), /no run with id/, 'the interrupted row is gone');
    assert.equal(reopened.runs.interrupted().length, 0);
    const seedRows = (run: number): number => (reopened.db.prepare('SELECT COUNT(*) AS n FROM run_seeds WHERE run_id = ?').get(run) as { n: number }).n;
    assert.equal(seedRows(r.id), KILLED_SEEDS, 'a complete run keeps one row per seed, its series');
    // Every seed's numbers and every series point, not only the means.
    assert.deepEqual(reopened.runs.get(r.id).summary, reopened.runs.get(freshId).summary);
    assert.deepEqual(reopened.runs.series(r.id), reopened.runs.series(freshId));
    if (r.id !== id) assert.equal(seedRows(id), 0, 'the interrupted row it replaced keeps none');
    assert.deepEqual(fingerprint(reopened.traces.load(beforeId)), beforePrint);
  } finally {
    reopened.close();
  }
});
