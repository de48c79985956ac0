/**
 * The in-process side of running interrupted jobs again: what job.rerun
 * refuses, what a job stores as its request, and that a cancelled multi-seed
 * run or a failed import leaves no row behind now that rows exist from the start.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invoke } from '../../src/api/commands.js';
import type { CommandContext } from '../../src/api/context.js';
import { openStore } from '../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'es-crash-rerun-'));
const store = openStore(join(dir, 'studio.sqlite'));
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});
const ctx = (signal?: AbortSignal): CommandContext => ({ store, emit: () => {}, ...(signal ? { signal } : {}) });
const count = (table: string, where = '1'): number => (store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n;

const tsv = join(dir, 'm.tsv');
writeFileSync(tsv, 'e1\te2\tlabel\n' + Array.from({ length: 200 }, (_, i) => `${i % 3}\t${i % 4 === 0 ? 1 : i % 3}\t${i % 3}`).join('\n') + '\n');

test('an import stores its request, with absolute paths, and completes as one readable trace', async () => {
  const r = (await invoke(ctx(), 'trace.import', { path: tsv, name: 'm' })) as { traceId: number; samples: number };
  assert.equal(r.samples, 200);
  assert.deepEqual(store.traces.request(r.traceId), { command: 'trace.import', payload: { path: tsv, name: 'm' } });
  assert.equal(store.traces.load(r.traceId).pred.length, 400);
  assert.equal(store.traces.meta(r.traceId).hasConfidence, false);
});

test('a failed import and a cancelled multi-seed run leave no row behind', async () => {
  const traces = count('traces');
  await assert.rejects(invoke(ctx(), 'trace.import', { path: join(dir, 'missing.tsv') }), /no such file/);
  assert.equal(count('traces'), traces);
  const id = store.traces.list()[0]!.id;
  const abort = new AbortController();
  abort.abort();
  await assert.rejects(invoke(ctx(abort.signal), 'policy.run', { traceId: id, policies: ['last', 'fixed:1'], seeds: 5 }), /cancelled/);
  assert.equal(count('runs'), 0);
  const ok = (await invoke(ctx(), 'policy.run', { traceId: id, policies: ['last', 'fixed:1'], seeds: 2 })) as { runs: { runId: number }[] };
  assert.equal(count('runs', `status = 'complete'`), 2);
  // Each run keeps a request that replays it alone.
  assert.deepEqual((store.runs.request(ok.runs[1]!.runId)?.payload as { policies: string[] }).policies, ['fixed:1']);
});

test('job.rerun refuses rows that are not interrupted, unknown ids, and rows without a stored request', async () => {
  const id = store.traces.list()[0]!.id;
  await assert.rejects(invoke(ctx(), 'job.rerun', { kind: 'trace', id }), /is complete; only an interrupted job/);
  await assert.rejects(invoke(ctx(), 'job.rerun', { kind: 'trace', id: 999_999 }), /no trace with id/);
  await assert.rejects(invoke(ctx(), 'job.rerun', { kind: 'run', id: 999_999 }), /no run with id/);
  await assert.rejects(invoke(ctx(), 'job.rerun', { kind: 'job', id: 1 }), /invalid payload/);
  // A row from before schema 3 (no request): said plainly.
  const old = store.traces.begin({ name: 'old', source: 'import', samples: 0, classes: 0, exits: [], costs: [], costSource: 'uniform', hasConfidence: false, hasProbs: false, hasLabels: false });
  store.db.prepare(`UPDATE traces SET status = 'interrupted', owner_pid = NULL WHERE id = ?`).run(old);
  await assert.rejects(invoke(ctx(), 'job.rerun', { kind: 'trace', id: old }), /before the studio kept the request/);
  const listed = (await invoke(ctx(), 'job.interrupted', {})) as { traces: { id: number; request: unknown; rerun: { cli: string } }[]; runs: unknown[] };
  assert.deepEqual(listed.traces.map((t) => [t.id, t.request, t.rerun.cli]), [[old, null, `exit-studio rerun trace ${old}`]]);
  assert.equal(store.traces.discardInterrupted(old), true);
  assert.equal(store.traces.discardInterrupted(id), false, 'a complete trace is never discarded as interrupted');
});

test('an interrupted import row is run again in-process and replaced', async () => {
  const r = (await invoke(ctx(), 'trace.import', { path: tsv, name: 'again' })) as { traceId: number };
  store.db.prepare(`UPDATE traces SET status = 'interrupted', owner_pid = NULL WHERE id = ?`).run(r.traceId);
  store.db.prepare('DELETE FROM trace_chunks WHERE trace_id = ?').run(r.traceId);
  const out = (await invoke(ctx(), 'job.rerun', { kind: 'trace', id: r.traceId })) as { id: number; replaced: number };
  assert.equal(out.replaced, r.traceId);
  assert.equal(store.traces.status(r.traceId), undefined);
  assert.equal(store.traces.meta(out.id).name, 'again');
  assert.equal(store.traces.load(out.id).samples, 200);
});

test('resumeFrom takes only an interrupted run of the very same request', async () => {
  const id = store.traces.list()[0]!.id;
  const done = (await invoke(ctx(), 'policy.run', { traceId: id, policies: ['uee-ucb'], seeds: 3 })) as { runs: { runId: number }[] };
  const runId = done.runs[0]!.runId;
  await assert.rejects(invoke(ctx(), 'policy.run', { traceId: id, policies: ['uee-ucb'], seeds: 3, resumeFrom: runId }), /is complete; only an interrupted run can be resumed/);
  store.db.prepare(`UPDATE runs SET status = 'interrupted', owner_pid = NULL WHERE id = ?`).run(runId);
  await assert.rejects(invoke(ctx(), 'policy.run', { traceId: id, policies: ['uee-ucb', 'last'], seeds: 3, resumeFrom: runId }), /give exactly one policy/);
  await assert.rejects(invoke(ctx(), 'policy.run', { traceId: id, policies: ['uee-ucb'], seeds: 4, resumeFrom: runId }), /started by another request/);
  await assert.rejects(invoke(ctx(), 'policy.run', { traceId: id, policies: ['uee-ucb'], seeds: 3, lambda: 0.5, resumeFrom: runId }), /started by another request/);
  // The same request, key order aside, is accepted. The row was a complete run: its seeds keep their
  // series, and only the first what it learned, so that one is reused and the others replay.
  const again = (await invoke(ctx(), 'policy.run', { seeds: 3, policies: ['uee-ucb'], traceId: id, resumeFrom: runId })) as { runs: { resumedSeeds: number }[] };
  assert.equal(again.runs[0]!.resumedSeeds, 1);
  assert.throws(() => store.runs.get(runId), /no run with id/, 'the resumed row is replaced by the finished one');
});

test('a run interrupted before parameters moved into `params` runs again from its stored flat request', async () => {
  const id = store.traces.list()[0]!.id;
  const done = (await invoke(ctx(), 'policy.run', { traceId: id, policies: ['uee-ucb'], seeds: 2, params: { alpha: 0.5 } })) as { runs: { runId: number }[] };
  const runId = done.runs[0]!.runId;
  assert.deepEqual(store.runs.get(runId).config.params, { alpha: 0.5 }, "the run keeps its policy's values");
  // What an older version stored: the parameters as top-level fields of the request.
  const flat = { command: 'policy.run', payload: { traceId: id, policies: ['uee-ucb'], seeds: 2, alpha: 0.5 } };
  store.db.prepare(`UPDATE runs SET status = 'interrupted', owner_pid = NULL, request_json = ? WHERE id = ?`).run(JSON.stringify(flat), runId);
  const out = (await invoke(ctx(), 'job.rerun', { kind: 'run', id: runId })) as { id: number; replaced: number };
  assert.equal(out.replaced, runId);
  assert.deepEqual(store.runs.get(out.id).config.params, { alpha: 0.5 });
});

test('an interrupted held-out run resumes held-out, alone, on the very split it started on', async () => {
  const id = store.traces.list()[0]!.id;
  const both = (await invoke(ctx(), 'policy.run', { traceId: id, policies: ['uee-ucb', 'best-fixed'], seeds: 3 })) as { runs: { runId: number; evaluation: { mode: string } }[] };
  assert.deepEqual(both.runs.map((r) => r.evaluation.mode), ['held-out', 'held-out'], 'a fitted policy in the run holds every policy out');
  const uee = both.runs[0]!.runId;
  const first = store.runs.getComplete(uee);
  // The online policy's stored request keeps the evaluation the whole request resolved to.
  assert.deepEqual((store.runs.request(uee)?.payload as { evaluation: unknown }).evaluation, { mode: 'held-out', holdout: 0.5 });
  store.db.prepare(`UPDATE runs SET status = 'interrupted', owner_pid = NULL WHERE id = ?`).run(uee);
  const out = (await invoke(ctx(), 'job.rerun', { kind: 'run', id: uee })) as { id: number };
  const again = store.runs.getComplete(out.id);
  assert.deepEqual(again.evaluation, first.evaluation);
  assert.deepEqual(again.summary.accuracy!.perSeed, first.summary.accuracy!.perSeed, 'the same split and stream, seed by seed');
  // Alone and without the request's evaluation, it would have been in-sample: other samples, other figures.
  const alone = (await invoke(ctx(), 'policy.run', { traceId: id, policies: ['uee-ucb'], seeds: 3 })) as { runs: { runId: number; evaluation: { mode: string; evaluationSamples: number } }[] };
  assert.deepEqual(alone.runs[0]!.evaluation, { mode: 'in-sample', calibrationSamples: 200, evaluationSamples: 200 });
});

test('a run interrupted before evaluation modes runs again in-sample, as it started; its old policy name still runs', async () => {
  const id = store.traces.list()[0]!.id;
  const done = (await invoke(ctx(), 'policy.run', { traceId: id, policies: ['best-fixed'], seeds: 2 })) as { runs: { runId: number }[] };
  const runId = done.runs[0]!.runId;
  const old = { command: 'policy.run', payload: { traceId: id, policies: ['oracle'], seeds: 2 } };
  store.db.prepare(`UPDATE runs SET status = 'interrupted', owner_pid = NULL, request_json = ? WHERE id = ?`).run(JSON.stringify(old), runId);
  // Such a run kept no seeds evaluated otherwise than in-sample: the held-out rows of the run faked here go.
  store.db.prepare('DELETE FROM run_seeds WHERE run_id = ?').run(runId);
  const warnings: string[] = [];
  const out = (await invoke({ store, emit: (e) => e.type === 'warning' && warnings.push(e.message) }, 'job.rerun', { kind: 'run', id: runId })) as { id: number };
  const r = store.runs.getComplete(out.id);
  assert.equal(r.policy, 'best-fixed');
  assert.deepEqual(r.evaluation, { mode: 'in-sample', calibrationSamples: 200, evaluationSamples: 200 });
  assert.match(warnings.join('\n'), /`oracle` was renamed `best-fixed`/);
});
