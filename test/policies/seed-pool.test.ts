// The seed pool: bounded threads shared by every run, turns between runs, results equal to the in-thread engine's, cancel, failures, and a process that can exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregateSeries, SeriesBands, type SeedSeries } from '../../src/policies/metrics.js';
import { gridRounds, runPolicySync, syntheticTrace } from '../../src/policies/index.js';
import { runPolicyInWorker, shareTrace } from '../../src/policies/run-job.js';
import type { SeedResult } from '../../src/policies/run.js';
import { ROUNDS_PER_WORKER, SeedPool, workersFor } from '../../src/policies/seed-pool.js';
import type { SeedDone } from '../../src/policies/worker-protocol.js';
import { decodeSeed, type StoredSeed } from '../../src/store/seed-record.js';

const trace = shareTrace(syntheticTrace({ samples: 4000, exits: 4, classes: 6, seed: 21 }));

test('runs share a pool no wider than its size, take turns, and get what the engine gets in one thread', async (t) => {
  const pool = new SeedPool(2);
  t.after(() => pool.close());
  const order: string[] = [];
  let widest = 0;
  const got = new Map<string, SeedDone[]>();
  const run = (spec: string, seeds: number[]): Promise<void> =>
    pool.run({
      id: spec,
      task: { trace, spec, options: {} },
      seeds,
      onSeed: (d) => {
        widest = Math.max(widest, pool.workers);
        order.push(spec);
        got.set(spec, [...(got.get(spec) ?? []), d]);
      },
    });
  await Promise.all([run('uee-ucb', [1, 2, 3, 4, 5, 6]), run('dee', [1, 2, 3, 4, 5, 6])]);
  assert.ok(widest <= 2, `${widest} workers`);
  assert.ok(order.slice(0, 6).includes('uee-ucb') && order.slice(0, 6).includes('dee'), `one run did not wait for the other: ${order.join(' ')}`);
  for (const spec of ['uee-ucb', 'dee']) {
    const inThread: SeedResult[] = [];
    runPolicySync(trace, spec, { seeds: 6, onSeed: (r) => inThread.push(r) });
    const pooled = got.get(spec)!.sort((a, b) => a.outcome.seed - b.outcome.seed);
    for (const [i, d] of pooled.entries()) {
      const { series, ...outcome } = inThread[i]!;
      assert.deepStrictEqual(d.outcome, outcome, `${spec} seed ${i + 1}`);
      assert.deepStrictEqual(d.series, series, `${spec} seed ${i + 1}`);
      assert.deepStrictEqual(decodeSeed(d.stored)!.result, inThread[i], `${spec} seed ${i + 1}, as stored`);
    }
  }
});

test('a run starts only the workers its rounds are worth; more work waiting widens the pool', async (t) => {
  assert.equal(workersFor(20 * 50_000, 8), 1, 'UEE-UCB on 50,000 samples x 20 seeds: one thread');
  assert.equal(workersFor(ROUNDS_PER_WORKER + 1, 8), 2);
  assert.equal(workersFor(100 * ROUNDS_PER_WORKER, 8), 8, 'never wider than the pool');
  assert.equal(workersFor(0, 8), 1);
  const pool = new SeedPool(4);
  t.after(() => pool.close());
  let widest = 0;
  const run = (id: string, roundsPerSeed: number): Promise<void> =>
    pool.run({ id, task: { trace, spec: 'uee-ucb', options: {} }, seeds: [1, 2, 3, 4, 5, 6, 7, 8], roundsPerSeed, onSeed: () => (widest = Math.max(widest, pool.workers)) });
  await run('small', trace.samples);
  assert.equal(widest, 1, 'eight seeds of 4,000 rounds on one thread');
  // Two runs waiting together, each seed priced at a quarter of a worker's worth: eight seeds each are worth four threads.
  await Promise.all([run('big-a', ROUNDS_PER_WORKER / 4), run('big-b', ROUNDS_PER_WORKER / 4)]);
  assert.ok(widest >= 2 && widest <= 4, `${widest} workers`);
});

test('cancelling a run drops its seeds and ends its workers; the other run goes on', async (t) => {
  const pool = new SeedPool(2);
  t.after(() => pool.close());
  const abort = new AbortController();
  let slowDone = 0;
  const slow = pool.run({
    id: 'slow',
    task: { trace, spec: 'eenet:0.5', options: { params: { epochs: 40 } } },
    seeds: Array.from({ length: 40 }, (_, i) => i + 1),
    onSeed: () => {
      slowDone++;
      abort.abort();
    },
    signal: abort.signal,
  });
  let quickDone = 0;
  const quick = pool.run({ id: 'quick', task: { trace, spec: 'uee-ucb', options: {} }, seeds: [1, 2, 3, 4], onSeed: () => quickDone++ });
  await assert.rejects(slow, /cancelled/);
  await quick;
  assert.equal(slowDone, 1, 'no seed of the cancelled run is reported after the cancel');
  assert.equal(quickDone, 4);
});

test('a seed that fails fails its run with the reason; the pool serves the next run', async (t) => {
  const pool = new SeedPool(1);
  t.after(() => pool.close());
  await assert.rejects(
    pool.run({ id: 'bad', task: { trace, spec: 'fixed:9', options: {} }, seeds: [1], onSeed: () => undefined }),
    (e: unknown) => e instanceof Error && /exits 1\.\.4/.test(e.message),
  );
  let n = 0;
  await pool.run({ id: 'good', task: { trace, spec: 'random', options: {} }, seeds: [1, 2], onSeed: () => n++ });
  assert.equal(n, 2);
});

test('a pooled run gives the in-thread run\'s result; resumed seeds are used, not replayed', async () => {
  const inThread: SeedResult[] = [];
  const full = runPolicySync(trace, 'dee', { seeds: 5, lambda: 0.4, onSeed: (r) => inThread.push(r) });
  const stored: StoredSeed[] = [];
  const pooled = await runPolicyInWorker(trace, 'dee', { seeds: 5, lambda: 0.4, resumed: inThread.slice(0, 2) }, { onSeed: (s) => stored.push(s) });
  assert.deepEqual(stored.map((s) => s.seed).sort(), [3, 4, 5]);
  assert.equal(pooled.resumedSeeds, 2);
  const { series, ...rest } = full;
  assert.deepStrictEqual({ ...pooled, resumedSeeds: 0 }, { ...rest, resumedSeeds: 0 });
  // The run's series, as the store aggregates them from the saved seeds, are the in-thread run's.
  const seeds = [...inThread.slice(0, 2).map((r) => r.series), ...stored.sort((a, b) => a.seed - b.seed).map((s) => decodeSeed(s)!.result.series)];
  assert.deepStrictEqual(aggregateSeries(seeds, gridRounds(trace.samples), true), series);
});

test('a pool that replays in process runs a quick run one thread is worth on its own thread, as the engine does; fitted and big runs still go to workers', async (t) => {
  const pool = new SeedPool(2, true);
  t.after(() => pool.close());
  pool.warm(1);
  assert.equal(pool.workers, 0, 'no worker warmed for one thread\'s worth');
  const here: SeedDone[] = [];
  let widest = 0;
  await pool.run({ id: 'here', task: { trace, spec: 'dee', options: { lambda: 0.4 } }, seeds: [1, 2, 3, 4], roundsPerSeed: trace.samples, quick: true, onSeed: (d) => { here.push(d); widest = Math.max(widest, pool.workers); } });
  assert.equal(widest, 0, 'no worker started');
  const inThread: SeedResult[] = [];
  runPolicySync(trace, 'dee', { seeds: 4, lambda: 0.4, onSeed: (r) => inThread.push(r) });
  for (const [i, d] of here.entries()) {
    const { series, ...outcome } = inThread[i]!;
    assert.deepStrictEqual(d.outcome, outcome, `seed ${i + 1}`);
    assert.deepStrictEqual(d.series, series, `seed ${i + 1}`);
    assert.deepStrictEqual(decodeSeed(d.stored)!.result, inThread[i], `seed ${i + 1}, as stored`);
  }
  // A fitted policy may take seconds a seed: it goes to a worker, so this thread stays free between its seeds.
  await pool.run({ id: 'fitted', task: { trace, spec: 'maxprob@budget:0.5', options: {} }, seeds: [1, 2], roundsPerSeed: trace.samples, onSeed: () => (widest = Math.max(widest, pool.workers)) });
  assert.equal(widest, 1, 'a run that is not quick replays in a worker');
  // More than one thread's worth goes to the workers too.
  let wide = 0;
  await pool.run({ id: 'big', task: { trace, spec: 'uee-ucb', options: {} }, seeds: [1, 2, 3, 4], roundsPerSeed: ROUNDS_PER_WORKER, quick: true, onSeed: () => (wide = Math.max(wide, pool.workers)) });
  assert.equal(wide, 2);
});

test('a run replayed in process is cancelled between its seeds, and a failing seed fails it with the reason', async (t) => {
  const pool = new SeedPool(2, true);
  t.after(() => pool.close());
  const abort = new AbortController();
  let done = 0;
  const run = pool.run({
    id: 'cancel-here', task: { trace, spec: 'uee-ucb', options: {} }, seeds: Array.from({ length: 20 }, (_, i) => i + 1), roundsPerSeed: trace.samples, quick: true,
    onSeed: () => {
      done++;
      abort.abort();
    },
    signal: abort.signal,
  });
  await assert.rejects(run, /cancelled/);
  assert.equal(done, 1, 'no seed replayed after the cancel');
  await assert.rejects(
    pool.run({ id: 'bad-here', task: { trace, spec: 'fixed:9', options: {} }, seeds: [1], roundsPerSeed: trace.samples, quick: true, onSeed: () => undefined }),
    (e: unknown) => e instanceof Error && /exits 1\.\.4/.test(e.message),
  );
  assert.equal(pool.workers, 0);
});

test('live bands kept in a few numbers per point agree with the bands over every seed', () => {
  const seeds: SeedSeries[] = [];
  runPolicySync(trace, 'random', { seeds: 7, onSeed: (r) => seeds.push(r.series) });
  const grid = gridRounds(trace.samples);
  const bands = new SeriesBands(grid, 4, true);
  for (const s of seeds) bands.add(s);
  const live = bands.bands();
  const exact = aggregateSeries(seeds, grid, true);
  for (const k of ['cumRegret', 'avgCost', 'accuracy', 'agreement'] as const) {
    for (const part of ['mean', 'lo', 'hi'] as const) {
      const a = live[k]![part];
      const b = exact[k]![part];
      for (let p = 0; p < b.length; p++) assert.ok(Math.abs(a[p]! - b[p]!) <= 1e-9 * (1 + Math.abs(b[p]!)), `${k}.${part}[${p}]: ${a[p]} vs ${b[p]}`);
    }
    assert.deepEqual(live[k]!.perSeed, []);
  }
});

test('a process whose run is done exits: idle workers keep nothing alive', () => {
  const script = `
    import { runPolicyInWorker } from ${JSON.stringify(new URL('../../src/policies/run-job.js', import.meta.url).href)};
    import { syntheticTrace } from ${JSON.stringify(new URL('../../src/policies/index.js', import.meta.url).href)};
    const r = await runPolicyInWorker(syntheticTrace({ samples: 500, seed: 1 }), 'uee-ucb', { seeds: 1 });
    console.log(r.seeds.length);`;
  const dir = mkdtempSync(join(tmpdir(), 'es-pool-'));
  const file = join(dir, 'run.mjs');
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.error, undefined, 'the process did not exit on its own within 60 s');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '1');
});
