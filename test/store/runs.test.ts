// Runs in the store: series per seed as binary blobs, read back exactly; older databases upgraded with nothing lost; failed migrations roll back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StudioError } from '../../src/errors.js';
import { gridRounds, runPolicySync, syntheticTrace, type RunResult } from '../../src/policies/index.js';
import type { SeedSeries } from '../../src/policies/metrics.js';
import type { Evaluation } from '../../src/policies/evaluation.js';
import type { RunOptions, SeedResult } from '../../src/policies/run.js';
import { statOf } from '../../src/policies/stats.js';
import { encodeExact } from '../../src/store/exact-json.js';
import { migrate, migrations } from '../../src/store/migrations.js';
import { decodeMeta, encodeSeed } from '../../src/store/seed-record.js';
import { decodeSeries, encodeSeries } from '../../src/store/series-codec.js';
import { openStore, type Store } from '../../src/store/store.js';
import { TraceStore } from '../../src/store/traces.js';
import type { Trace } from '../../src/trace/types.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'es-runs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Bit-for-bit equality of two doubles (NaN and -0 included). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `${what}[${i}]: ${a[i]} != ${b[i]}`);
}

test('a seed\'s series come back from their blob bit for bit: counts, float32, float64, NaN, -0', () => {
  const rounds = gridRounds(10_000, 300);
  const P = rounds.length;
  const counts = (f: (r: number) => number): Float64Array => Float64Array.from(rounds, (r) => Math.floor(f(r)) / r);
  const series: SeedSeries = {
    cumRegret: Float64Array.from(rounds, (r) => Math.fround(Math.sqrt(r) * 1.7)),
    avgCost: Float64Array.from(rounds, (r) => 0.25 + 1 / (r + Math.PI)), // full doubles: stored as 8 bytes, still exact
    accuracy: Float64Array.from({ length: P }, (_, p) => (p < 3 ? NaN : p === 3 ? -0 : Infinity)),
    agreement: counts((r) => r * 0.87),
    exitShare: [counts((r) => r * 0.1), counts((r) => r * 0.6), counts(() => 0)],
  };
  const blob = encodeSeries({ rounds, series });
  const back = decodeSeries(blob);
  // Series such as mean cost (a fixed mix of the exit counts, in float32) are stored as the mix plus
  // the bits where they differ from it: exact, and far smaller than their float32 bits.
  const shares = series.exitShare;
  const mix = Float64Array.from(rounds, (r, p) => Math.fround((shares[0]![p]! * r * (1 / 12) + shares[1]![p]! * r * (7 / 12) + (r - shares[0]![p]! * r - shares[1]![p]! * r)) / r));
  const alone = (extra: Float64Array): number => encodeSeries({ rounds, series: { ...series, avgCost: extra } }).length - encodeSeries({ rounds, series: { ...series, avgCost: new Float64Array(P) } }).length;
  const mixed = { ...series, avgCost: mix };
  sameBits(decodeSeries(encodeSeries({ rounds, series: mixed })).series.avgCost, mix, 'a mix of counts');
  const noisy = Float64Array.from(mix, (x, p) => Math.fround(x + 1e-3 * Math.sin(p * 1.7)));
  assert.ok(alone(mix) < alone(noisy) / 3, `a mix of counts took ${alone(mix)} bytes for ${P} points; a series off the mix ${alone(noisy)}`);
  sameBits(back.rounds, rounds, 'rounds');
  for (const k of ['cumRegret', 'avgCost', 'accuracy', 'agreement'] as const) sameBits(back.series[k], series[k], k);
  series.exitShare.forEach((s, k) => sameBits(back.series.exitShare[k]!, s, `exitShare ${k}`));
  // Counts take a byte or two a point, float32 four, doubles eight: far below 8 bytes x 7 series.
  assert.ok(blob.length < P * 8 * 7 * 0.5, `${blob.length} bytes for ${P} points x 7 series`);

  const damaged = blob.slice();
  damaged[damaged.length - 3]! ^= 0x5a;
  assert.throws(() => decodeSeries(damaged), RangeError, 'a damaged blob is refused (zlib checksum), not misread');
  assert.throws(() => decodeSeries(blob.subarray(0, blob.length >> 1)), RangeError);
  assert.throws(() => decodeSeries(Uint8Array.from([9, 1, 2])), /format/);
  assert.throws(() => encodeSeries({ rounds, series: { ...series, agreement: new Float64Array(P - 1) } }), /agreement has/);
});

/** Runs one policy the way policy.run stores it: begin, one row per seed as it completes, complete. */
function storeRun(store: Store, traceId: number, trace: Trace, spec: string, opts: Parameters<typeof runPolicySync>[2] = {}): { id: number; result: RunResult } {
  const seeds: SeedResult[] = [];
  const result = runPolicySync(trace, spec, { ...opts, onSeed: (r) => seeds.push(r) });
  // The grid spans the samples each seed scored: the whole trace, or a held-out part of it.
  const grid = Uint32Array.from(result.series.rounds);
  const id = store.runs.begin({ name: spec, traceId, policy: spec, supervised: false, seeds: result.seeds, config: { lambda: 1, costs: result.costs, costSource: 'user', params: {} }, evaluation: result.evaluation, appVersion: 'test' });
  for (const r of seeds) store.runs.saveSeed(id, encodeSeed(r, grid));
  store.db.transaction(() => store.runs.complete(id, result.summary, result.learned))();
  return { id, result };
}

test('a stored run\'s series are the engine\'s, exactly: every seed, every point, means and bands; EENet\'s fits too', (t) => {
  const store = openStore(join(tempDir(t), 'studio.sqlite'));
  const trace = syntheticTrace({ samples: 3000, exits: 4, classes: 5, seed: 3 });
  const traceId = store.traces.save(trace, { name: 'synthetic', source: 'import' });
  // EENet is evaluated held out by default: its seeds score half the trace each, a different half per seed.
  for (const [spec, params] of [['dee', {}], ['uee-ucb', {}], ['eenet:0.5', { epochs: 3 }]] as const) {
    const { id, result } = storeRun(store, traceId, trace, spec, { seeds: 4, params });
    if (spec.startsWith('eenet')) assert.equal(result.evaluation.mode, 'held-out');
    const back = store.runs.series(id)!;
    assert.deepStrictEqual(back.series, result.series, spec);
    assert.deepStrictEqual(back.fits, result.fits ?? null, spec);
    // What each seed learned served to resume: a complete run keeps its first seed's, the run's own.
    const metas = (store.db.prepare('SELECT meta_json FROM run_seeds WHERE run_id = ? ORDER BY seed').pluck().all(id) as string[]).map((m) => decodeMeta(m));
    assert.deepStrictEqual(metas[0]!.learned, result.learned, spec);
    assert.ok(metas.slice(1).every((m) => m.learned === undefined && m.summary !== undefined), spec);
  }
  store.close();
});

test('a run completes only with every one of its seeds saved', (t) => {
  const store = openStore(join(tempDir(t), 'studio.sqlite'));
  const trace = syntheticTrace({ samples: 200, exits: 3, classes: 4, seed: 1 });
  const traceId = store.traces.save(trace, { name: 's', source: 'import' });
  const seeds: SeedResult[] = [];
  const result = runPolicySync(trace, 'random', { seeds: 3, onSeed: (r) => seeds.push(r) });
  const id = store.runs.begin({ name: 'r', traceId, policy: 'random', supervised: false, seeds: result.seeds, config: { lambda: 1, costs: result.costs, costSource: 'user', params: {} }, evaluation: result.evaluation, appVersion: 'test' });
  store.runs.saveSeed(id, encodeSeed(seeds[0]!, gridRounds(trace.samples)));
  assert.throws(() => store.runs.complete(id, result.summary, result.learned), (e: unknown) => e instanceof StudioError && /seeds 2, 3 not saved/.test(e.message));
  assert.equal(store.runs.get(id).status, 'running');
  assert.equal(store.runs.series(id), null, 'a run that is not complete has no series');
  assert.equal(store.runs.keptSeeds(id).length, 1);
  store.close();
});

test('a 20-seed run over 50,000 samples stores in at most 300 KB', (t) => {
  const path = join(tempDir(t), 'studio.sqlite');
  const store = openStore(path);
  const trace = syntheticTrace({ samples: 50_000, exits: 4, classes: 10, seed: 5, probs: false });
  const traceId = store.traces.save(trace, { name: 'big', source: 'import' });
  const { id } = storeRun(store, traceId, trace, 'uee-ucb', { seeds: 20 });
  // What the run's rows hold: its own columns and its seeds' (the page overhead around them is in bench:store).
  const bytes = store.db
    .prepare(`SELECT (SELECT SUM(LENGTH(meta_json) + LENGTH(series)) FROM run_seeds WHERE run_id = ?) + (SELECT LENGTH(summary_json) + LENGTH(learned_json) + LENGTH(seeds_json) + LENGTH(config_json) FROM runs WHERE id = ?) AS n`)
    .get(id, id) as { n: number };
  assert.ok(bytes.n <= 300_000, `${bytes.n} bytes`);
  store.close();
});

// ---- Databases written before series were stored per seed ----

/** The migrations a studio of schema `version` knew. */
const upTo = (version: number) => migrations.filter((m) => m.version <= version);
/** The schema that added how runs were evaluated (held-out splits); the one after it stores series per seed. */
const EVALUATION_SCHEMA = 6;
assert.equal(migrations.find((m) => m.up !== undefined)?.version, EVALUATION_SCHEMA + 1, 'the series conversion follows the evaluation schema');

/** What the RunStore of those schemas wrote: each complete run's series as one JSON document, bands computed with statOf. */
function oldSeriesJson(result: RunResult, perSeed: SeedSeries[]): string {
  const stat = (lines: Float64Array[]) => {
    const P = lines[0]!.length;
    const mean: number[] = [];
    const lo: number[] = [];
    const hi: number[] = [];
    for (let p = 0; p < P; p++) {
      const st = statOf(lines.map((l) => l[p]!));
      mean.push(st.mean);
      lo.push(st.mean - st.ci95);
      hi.push(st.mean + st.ci95);
    }
    return { mean, lo, hi, perSeed: lines.map((l) => Array.from(l)) };
  };
  const series = {
    rounds: result.series.rounds,
    cumRegret: stat(perSeed.map((s) => s.cumRegret)),
    avgCost: stat(perSeed.map((s) => s.avgCost)),
    accuracy: result.summary.accuracy ? stat(perSeed.map((s) => s.accuracy)) : null,
    agreement: stat(perSeed.map((s) => s.agreement)),
    exitShare: perSeed[0]!.exitShare.map((_, k) => stat(perSeed.map((s) => s.exitShare[k]!))),
  };
  return JSON.stringify({ series, fits: result.fits ?? null });
}

/** Older studios kept cumulative regret and mean cost as full doubles: made so here, to convert the hardest case. */
function asOldSeed(r: SeedResult): SeedResult {
  const nudge = (a: Float64Array): Float64Array => a.map((v, p) => v + (p + 1) * 1e-13);
  return { ...r, series: { ...r.series, cumRegret: nudge(r.series.cumRegret), avgCost: nudge(r.series.avgCost) } };
}

interface OldDb {
  complete: { id: number; policy: string; seriesJson: string; summaryJson: string; learnedJson: string; evaluation: Evaluation }[];
  interrupted: { id: number; kept: SeedResult[]; run: RunOptions };
}

type Plan = RunOptions['evaluation'];
const IN_SAMPLE: Plan = { mode: 'in-sample' };

/**
 * A database of schema `version` with rows, as the studio of that schema
 * wrote them. Schema 5 knew no evaluation modes (every run in-sample, the
 * best fixed exit called `oracle`); schema 6 kept held-out runs, whose series
 * and kept seeds lie on the grid of the samples each seed scored.
 */
function writeOldDatabase(path: string, version: 5 | 6): OldDb {
  const raw = new Database(path);
  migrate(raw, upTo(version));
  const traces = new TraceStore(raw, { owner: () => 'test', isMine: () => true, alive: () => true });
  const labelled = syntheticTrace({ samples: 2500, exits: 4, classes: 5, seed: 11 });
  const unlabelled: Trace = { ...syntheticTrace({ samples: 900, exits: 3, classes: 4, seed: 12 }) };
  delete unlabelled.labels;
  const evaluated = version >= EVALUATION_SCHEMA;
  const insertRun = raw.prepare(
    `INSERT INTO runs (name, trace_id, policy, status, owner_pid, supervised, seeds_json, config_json, app_version, created_at, request_json, summary_json, learned_json, series_json${evaluated ? ', evaluation_json' : ''})
     VALUES (?, ?, ?, ?, NULL, 0, ?, '{"lambda":1,"costs":[],"costSource":"trace","params":{}}', '0.1.0', '2026-01-01T00:00:00.000Z', NULL, ?, ?, ?${evaluated ? ', ?' : ''})`,
  );
  const insert = (values: unknown[], evaluation: Evaluation | null): number => Number(insertRun.run(...values, ...(evaluated ? [evaluation ? JSON.stringify(evaluation) : null] : [])).lastInsertRowid);
  const old: OldDb = { complete: [], interrupted: { id: 0, kept: [], run: {} } };
  // [trace, spec the engine runs, name the run was stored under, options]
  const runs: [Trace, string, string, RunOptions][] = evaluated
    ? [
        [labelled, 'uee-ucb', 'uee-ucb', { seeds: 4, evaluation: { mode: 'held-out', holdout: 0.4 } }],
        [labelled, 'eenet:0.5', 'eenet:0.5', { seeds: 2, params: { epochs: 3 } }],
        [unlabelled, 'random', 'random', { seeds: 3, evaluation: IN_SAMPLE }],
      ]
    : [
        [labelled, 'uee-ucb', 'uee-ucb', { seeds: 4, evaluation: IN_SAMPLE }],
        [labelled, 'eenet:0.5', 'eenet:0.5', { seeds: 2, params: { epochs: 3 }, evaluation: IN_SAMPLE }],
        [unlabelled, 'random', 'random', { seeds: 3, evaluation: IN_SAMPLE }],
        [labelled, 'best-fixed', 'oracle', { seeds: 2, evaluation: IN_SAMPLE }],
      ];
  for (const [trace, spec, name, opts] of runs) {
    const traceId = traces.save(trace, { name: spec, source: 'import' });
    const seeds: SeedResult[] = [];
    const result = runPolicySync(trace, spec, { ...opts, onSeed: (r) => seeds.push(asOldSeed(r)) });
    const seriesJson = oldSeriesJson(result, seeds.map((s) => s.series));
    const summaryJson = JSON.stringify(result.summary);
    const learnedJson = JSON.stringify(result.learned);
    const id = insert([name, traceId, name, 'complete', JSON.stringify(result.seeds), summaryJson, learnedJson, seriesJson], result.evaluation);
    old.complete.push({ id, policy: spec, seriesJson, summaryJson, learnedJson, evaluation: result.evaluation });
  }
  // An interrupted run: two of its five seeds kept, to resume from (held out, on 30 % of the trace, in schema 6).
  const run: RunOptions = { seeds: 5, evaluation: evaluated ? { mode: 'held-out', holdout: 0.3 } : IN_SAMPLE };
  const kept: SeedResult[] = [];
  const first = runPolicySync(labelled, 'dee', { ...run, seeds: 2, onSeed: (r) => kept.push(asOldSeed(r)) });
  const id = insert(['dee', 1, 'dee', 'interrupted', JSON.stringify([1, 2, 3, 4, 5]), null, null, null], first.evaluation);
  for (const r of kept) raw.prepare('INSERT INTO run_seeds (run_id, seed, result_json) VALUES (?, ?, ?)').run(id, r.seed, encodeExact(r));
  old.interrupted = { id, kept, run };
  raw.close();
  return old;
}

for (const version of [5, 6] as const) {
  test(`a schema-${version} database with runs is upgraded${version < EVALUATION_SCHEMA ? ' through 6 and 7' : ''}: every run, seed and series point reads as before; kept seeds resume exactly`, (t) => {
    const path = join(tempDir(t), 'studio.sqlite');
    const old = writeOldDatabase(path, version);
    const store = openStore(path);
    try {
      assert.equal(store.db.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
      assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
      for (const o of old.complete) {
        const run = store.runs.getComplete(o.id);
        assert.equal(run.policy, o.policy, 'oracle reads as best-fixed');
        assert.deepEqual(run.evaluation, o.evaluation, `run ${o.id} (${o.policy}) is evaluated as it was`);
        assert.deepEqual(run.summary, JSON.parse(o.summaryJson));
        assert.deepEqual(run.learned, JSON.parse(o.learnedJson));
        // As every door shows it (JSON: NaN is null): identical, bands included.
        assert.deepEqual(JSON.parse(JSON.stringify(store.runs.series(o.id))), JSON.parse(o.seriesJson), `run ${o.id}`);
      }
      if (version >= EVALUATION_SCHEMA) assert.ok(old.complete.some((o) => o.evaluation.mode === 'held-out' && o.evaluation.evaluationSamples < 2500));
      else assert.ok(old.complete.every((o) => o.evaluation.mode === 'in-sample'));
      const { id, kept, run } = old.interrupted;
      const back = store.runs.keptSeeds(id);
      assert.deepStrictEqual(back, kept, 'kept seeds, bit for bit');
      // The run resumes from them, on the same split: two seeds taken as kept, three replayed.
      const labelled = store.traces.load(1);
      const resumed = runPolicySync(labelled, 'dee', { ...run, resumed: back });
      assert.equal(resumed.resumedSeeds, 2);
      const fresh = runPolicySync(labelled, 'dee', run);
      assert.deepEqual(resumed.series.rounds, fresh.series.rounds, 'the grid of the samples each seed scores');
      assert.deepEqual(resumed.series.cumRegret.perSeed.slice(2), fresh.series.cumRegret.perSeed.slice(2), 'the seeds replayed are those of an uninterrupted run');
      const tables = store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
      assert.ok(!tables.includes('run_seeds_json'));
      const runColumns = store.db.prepare(`SELECT name FROM pragma_table_info('runs')`).pluck().all() as string[];
      assert.ok(!runColumns.includes('series_json'), 'the JSON series are gone once converted');
    } finally {
      store.close();
    }
  });
}

test('a migration that fails leaves the database as it was, several versions old, and says which run', (t) => {
  const path = join(tempDir(t), 'studio.sqlite');
  const old = writeOldDatabase(path, 5);
  const broken = old.complete[1]!.id;
  const damaged = old.complete[1]!.seriesJson.slice(0, 5000);
  const edit = new Database(path);
  edit.prepare('UPDATE runs SET series_json = ? WHERE id = ?').run(damaged, broken);
  const before = edit.prepare('SELECT * FROM runs ORDER BY id').all();
  const seedsBefore = edit.prepare('SELECT * FROM run_seeds ORDER BY run_id, seed').all();
  edit.close();

  assert.throws(
    () => openStore(path),
    (e: unknown) => e instanceof StudioError && e.message.startsWith(path) && e.message.includes(`cannot upgrade run ${broken}'s stored series`) && /left as it was/.test(e.message),
  );
  const raw = new Database(path);
  // Schema 6 (evaluation, the oracle rename) succeeded before 7 failed: rolled back with it.
  assert.equal(raw.pragma('user_version', { simple: true }), 5, 'still schema 5');
  assert.deepEqual(raw.prepare('SELECT * FROM runs ORDER BY id').all(), before, 'runs untouched: no evaluation column, oracle still oracle, JSON series included');
  assert.deepEqual(raw.prepare('SELECT * FROM run_seeds ORDER BY run_id, seed').all(), seedsBefore, 'kept seeds untouched');
  assert.equal(raw.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'run_seeds_json'`).pluck().get(), 0);
  // Mended, the same file upgrades.
  raw.prepare('UPDATE runs SET series_json = ? WHERE id = ?').run(old.complete[1]!.seriesJson, broken);
  raw.close();
  const store = openStore(path);
  assert.deepEqual(JSON.parse(JSON.stringify(store.runs.series(broken))), JSON.parse(old.complete[1]!.seriesJson));
  assert.equal(store.runs.getComplete(old.complete[3]!.id).policy, 'best-fixed');
  store.close();
});

test('any migration step that throws rolls its whole transaction back, version included', (t) => {
  const db = new Database(join(tempDir(t), 'studio.sqlite'));
  migrate(db);
  const version = db.pragma('user_version', { simple: true }) as number;
  const failing = [
    ...migrations,
    { version: version + 1, name: 'adds a table, then fails', sql: 'CREATE TABLE half_done (x INTEGER);', up: (): boolean => { throw new Error('conversion failed'); } },
  ];
  assert.throws(() => migrate(db, failing), /conversion failed/);
  assert.equal(db.pragma('user_version', { simple: true }), version);
  assert.equal(db.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'`).pluck().get(), 0);
  db.close();
});
