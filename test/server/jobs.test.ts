// Long jobs wait in line beyond the runner's limit, say where they stand, leave the line when cancelled; quick commands never wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StudioEvent } from '../../src/api/context.js';
import { syntheticTrace } from '../../src/policies/index.js';
import { JobRunner } from '../../src/server/jobs.js';
import { openStore } from '../../src/store/store.js';

test('a long job beyond the limit waits in line, is told its place, and runs when a slot frees', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'es-jobs-'));
  const store = openStore(join(dir, 'studio.sqlite'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const traceId = store.traces.save(syntheticTrace({ samples: 3000, seed: 4 }), { name: 'synthetic', source: 'import' });
  const runner = new JobRunner(() => store, 1);
  const events = new Map<string, StudioEvent[]>();
  const job = (id: string, seeds: number) =>
    runner.run(id, 'policy.run', { traceId, policies: ['dee'], seeds }, (e) => events.set(id, [...(events.get(id) ?? []), e]));
  const places = (id: string) => (events.get(id) ?? []).flatMap((e) => (e.type === 'queue' ? [e.position] : []));

  const first = job('a', 30);
  const second = job('b', 2);
  const third = job('c', 2);
  assert.deepEqual(runner.queued, ['b', 'c']);
  assert.deepEqual(places('a'), [], 'the first takes the free slot at once');
  assert.deepEqual(places('b'), [1]);
  assert.deepEqual(places('c'), [2]);
  // A quick command does not wait behind them.
  const list = await runner.run('l', 'trace.list', {}, () => undefined);
  assert.equal(list.ok, true);
  // Cancelled while waiting: it leaves the line, and the one behind moves up.
  assert.equal(runner.cancel('b'), true);
  assert.deepEqual(await second, { ok: false, error: { message: 'the job was cancelled', kind: 'cancelled' } });
  assert.deepEqual(places('c'), [2, 1]);
  assert.equal((await first).ok, true);
  const done = await third;
  assert.equal(done.ok, true, JSON.stringify(done));
  assert.deepEqual(places('c'), [2, 1, 0], 'told it starts');
  assert.ok(events.get('c')!.findIndex((e) => e.type === 'queue' && e.position === 0) < events.get('c')!.findIndex((e) => e.type === 'progress'));
  assert.deepEqual(runner.active, []);
  assert.deepEqual(runner.queued, []);
  assert.equal((store.db.prepare('SELECT COUNT(*) FROM runs').pluck().get() as number), 2, 'the cancelled job left no run behind');
});
