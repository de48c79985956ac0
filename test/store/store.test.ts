import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeExact, encodeExact } from '../../src/store/exact-json.js';
import { openStore } from '../../src/store/store.js';
import { migrations } from '../../src/store/migrations.js';
import { resolveDbPath } from '../../src/store/location.js';
import { StudioError } from '../../src/errors.js';
import { syntheticTrace } from '../helpers/trace.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'es-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a saved trace loads back identical, labels and probabilities included', (t) => {
  const store = openStore(join(tempDir(t), 'studio.sqlite'));
  const trace = syntheticTrace(500, 4, 5, { probs: true, labels: true });
  const id = store.traces.save(trace, { name: 'synthetic', source: 'import' });
  const back = store.traces.load(id);
  assert.deepEqual(back.pred, trace.pred);
  assert.deepEqual(back.maxProb, trace.maxProb);
  assert.deepEqual(back.entropy, trace.entropy);
  assert.deepEqual(back.margin, trace.margin);
  assert.deepEqual(back.probs, trace.probs);
  assert.deepEqual(back.labels, trace.labels);
  assert.deepEqual(Array.from(back.costs), Array.from(trace.costs));
  const meta = store.traces.meta(id);
  assert.equal(meta.samples, 500);
  assert.equal(meta.hasProbs, true);
  assert.equal(meta.hasLabels, true);
  store.close();
});

test('chunked writes reassemble in order, and readers never see a running trace', (t) => {
  const store = openStore(join(tempDir(t), 'studio.sqlite'));
  const whole = syntheticTrace(300, 3, 4);
  const id = store.traces.begin({
    name: 'chunked', source: 'inference', samples: 0, classes: 4, exits: whole.exits, costs: [0.2, 0.5, 1],
    costSource: 'macs', hasConfidence: true, hasProbs: false, hasLabels: false,
  });
  assert.equal(store.traces.list().length, 0, 'a running trace is not listed');
  assert.throws(() => store.traces.load(id), /running/);
  for (let seq = 0; seq < 3; seq++) {
    const a = seq * 100 * 3;
    const b = a + 100 * 3;
    store.traces.append(id, seq, {
      pred: whole.pred.slice(a, b), maxProb: whole.maxProb!.slice(a, b), entropy: whole.entropy!.slice(a, b), margin: whole.margin!.slice(a, b),
    });
  }
  store.traces.finish(id, { samples: 300, key: 'k1' });
  assert.deepEqual(store.traces.load(id).pred, whole.pred);
  assert.equal(store.traces.findByKey('k1')?.id, id);
  store.close();
});

test('an aborted trace leaves nothing behind', (t) => {
  const store = openStore(join(tempDir(t), 'studio.sqlite'));
  const whole = syntheticTrace(50, 2, 3);
  const id = store.traces.begin({
    name: 'cancelled', source: 'inference', samples: 0, classes: 3, exits: whole.exits, costs: [0.5, 1],
    costSource: 'macs', hasConfidence: true, hasProbs: false, hasLabels: false,
  });
  store.traces.append(id, 0, { pred: whole.pred });
  store.traces.abort(id);
  const rows = store.db.prepare('SELECT (SELECT count(*) FROM traces) AS t, (SELECT count(*) FROM trace_chunks) AS c').get() as { t: number; c: number };
  assert.deepEqual(rows, { t: 0, c: 0 });
  store.close();
});

test('a job left running by a dead process is marked interrupted on the next open, its partial data dropped', (t) => {
  const path = join(tempDir(t), 'studio.sqlite');
  const store = openStore(path);
  const kept = store.traces.save(syntheticTrace(20, 2, 3), { name: 'kept', source: 'import' });
  const whole = syntheticTrace(20, 2, 3);
  const id = store.traces.begin({
    name: 'crashed', source: 'inference', samples: 0, classes: 3, exits: whole.exits, costs: [0.5, 1],
    costSource: 'macs', hasConfidence: true, hasProbs: false, hasLabels: false,
  });
  store.traces.append(id, 0, { pred: whole.pred });
  // A pid far above any real one stands for the killed process.
  store.db.prepare('UPDATE traces SET owner_pid = 2147483 WHERE id = ?').run(id);
  store.close();

  const again = openStore(path);
  assert.equal(again.db.pragma('integrity_check', { simple: true }), 'ok');
  assert.deepEqual(again.traces.interrupted().map((m) => m.id), [id]);
  assert.equal((again.db.prepare('SELECT count(*) AS c FROM trace_chunks WHERE trace_id = ?').get(id) as { c: number }).c, 0);
  assert.deepEqual(again.traces.list().map((m) => m.id), [kept]);
  assert.equal(again.traces.load(kept).samples, 20);
  again.close();
});

test('migrations record the schema version; a newer file is refused without touching it', (t) => {
  const path = join(tempDir(t), 'studio.sqlite');
  openStore(path).close();
  const raw = new Database(path);
  assert.equal(raw.pragma('user_version', { simple: true }), migrations[migrations.length - 1]!.version);
  raw.pragma('user_version = 999');
  raw.close();
  const before = readFileSync(path);
  assert.throws(() => openStore(path), (e: unknown) => e instanceof StudioError && /newer Exit Studio/.test(e.message) && e.message.includes(path));
  assert.deepEqual(readFileSync(path), before);
});

test('a file that is not a database gets a clear error naming it, and is left as it was', (t) => {
  const path = join(tempDir(t), 'notes.txt');
  writeFileSync(path, 'these are my notes, not a database\n'.repeat(200));
  const before = readFileSync(path);
  assert.throws(() => openStore(path), (e: unknown) => e instanceof StudioError && e.message.startsWith(path) && /not a usable Exit Studio database/.test(e.message));
  assert.deepEqual(readFileSync(path), before);
  const dir = tempDir(t);
  assert.throws(() => openStore(dir), (e: unknown) => e instanceof StudioError && /is a folder/.test(e.message));
});

test('a trace without probabilities costs about 16 bytes per sample per exit', (t) => {
  const path = join(tempDir(t), 'studio.sqlite');
  const store = openStore(path);
  const samples = 20000;
  const exits = 4;
  store.traces.save(syntheticTrace(samples, exits, 10), { name: 'size', source: 'import' });
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.db.exec('VACUUM');
  store.close();
  const perCell = statSync(path).size / (samples * exits);
  assert.ok(perCell <= 17, `stored ${perCell.toFixed(2)} bytes per sample per exit`);
});

test('the database path: --db, then EXIT_STUDIO_DB, then the per-user app-data folder', () => {
  assert.equal(resolveDbPath('/x/a.sqlite', { EXIT_STUDIO_DB: '/y/b.sqlite' }), '/x/a.sqlite');
  assert.equal(resolveDbPath(undefined, { EXIT_STUDIO_DB: '/y/b.sqlite' }), '/y/b.sqlite');
  assert.equal(resolveDbPath(undefined, { XDG_CONFIG_HOME: '/home/u/.config' }), join('/home/u/.config', 'Exit Studio', 'studio.sqlite'));
});

test('exact JSON gives back Float64Arrays, NaN, infinities and -0 as they were', () => {
  const value = {
    a: Float64Array.from([1.1, NaN, -0, Infinity, -Infinity, 2 ** -1074, 0.1 + 0.2]),
    n: NaN,
    z: -0,
    nested: [{ x: Infinity, s: 'NaN', list: [1, null, 'a'] }],
  };
  const back = decodeExact<typeof value>(encodeExact(value));
  assert.ok(back.a instanceof Float64Array);
  assert.deepStrictEqual(back, value);
  assert.ok(Object.is(back.a[2], -0) && Object.is(back.z, -0));
  assert.equal(back.nested[0]!.s, 'NaN', 'a string stays a string');
  assert.throws(() => encodeExact({ a: new Int32Array(2) }), /Int32Array is not supported/);
  assert.throws(() => encodeExact({ a: { $num: 'NaN' } }), /shaped like a tag/);
});

test('a schema-4 database is upgraded in place: its runs read as in-sample, its oracle runs as best-fixed, all still usable', async (t) => {
  const path = join(tempDir(t), 'studio.sqlite');
  // The file as the studio wrote it before evaluation modes: migrations 1 to 4, a trace, two completed runs.
  const raw = new Database(path);
  for (const m of migrations.filter((x) => x.version <= 4)) raw.exec(m.sql);
  raw.pragma('user_version = 4');
  const now = new Date().toISOString();
  raw.prepare(
    `INSERT INTO traces (id, name, source, status, samples, classes, exits_json, costs_json, cost_source, has_confidence, has_probs, has_labels, created_at)
     VALUES (1, 't', 'import', 'complete', 1234, 3, '[{"name":"a"},{"name":"b"}]', '[0.5,1]', 'user', 0, 0, 1, ?)`,
  ).run(now);
  const stat = { mean: 0.5, ci95: 0, perSeed: [0.5] };
  const summary = JSON.stringify({ accuracy: stat, agreement: stat, avgCost: stat, exitShare: [stat, stat], cumRegret: stat, regretKind: 'fixed-exit', reference: 'labels' });
  const insert = raw.prepare(
    `INSERT INTO runs (name, trace_id, policy, status, supervised, seeds_json, config_json, app_version, summary_json, learned_json, created_at, request_json)
     VALUES (?, 1, ?, 'complete', 0, '[1]', '{"lambda":1,"costs":[0.5,1],"costSource":"user","params":{},"usesHindsight":true}', '0.1.0', ?, '{"kind":"fixed","exit":0}', ?, ?)`,
  );
  insert.run('old oracle', 'oracle', summary, now, JSON.stringify({ command: 'policy.run', payload: { traceId: 1, policies: ['oracle'], seeds: 1 } }));
  insert.run('old uee', 'uee-ucb', summary, now, null);
  raw.close();

  const store = openStore(path);
  t.after(() => store.close());
  assert.equal(store.db.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
  const runs = store.runs.list();
  assert.deepEqual(runs.map((r) => [r.name, r.policy]), [['old oracle', 'best-fixed'], ['old uee', 'uee-ucb']]);
  for (const r of runs) assert.deepEqual(r.evaluation, { mode: 'in-sample', calibrationSamples: 1234, evaluationSamples: 1234 });
  assert.equal(runs[0]!.summary.accuracy!.mean, 0.5, 'the figures are kept as they were');
  // A new run on the upgraded file is stored with its own evaluation.
  const id = store.runs.begin({ name: 'new', traceId: 1, policy: 'last', supervised: false, seeds: [1], config: { lambda: 1, costs: [0.5, 1], costSource: 'user', params: {} }, evaluation: { mode: 'held-out', calibrationSamples: 617, evaluationSamples: 617 }, appVersion: 'test' });
  assert.deepEqual(store.runs.get(id).evaluation, { mode: 'held-out', calibrationSamples: 617, evaluationSamples: 617 });
});
