// Loaded traces live in SharedArrayBuffers and cross to replay workers without a copy;
// policies replayed side by side in workers give exactly what the synchronous engine gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPolicySync, syntheticTrace } from '../../src/policies/index.js';
import { isSharedTrace, runPolicyInWorker, shareTrace } from '../../src/policies/run-job.js';
import { aggregateSeries } from '../../src/policies/metrics.js';
import { decodeSeed, type StoredSeed } from '../../src/store/seed-record.js';
import { openStore } from '../../src/store/store.js';
import type { Trace } from '../../src/trace/types.js';

const N = 200_000;
const source = syntheticTrace({ samples: N, exits: 4, classes: 3, seed: 11, probs: false });

function loadBack(trace: Trace): Trace {
  const store = openStore(':memory:');
  try {
    const id = store.traces.save(trace, { name: 'scale', source: 'import' });
    return store.traces.load(id);
  } finally {
    store.close();
  }
}

const loaded = loadBack(source);

test('a loaded trace is SharedArrayBuffer-backed and equal to what was saved', () => {
  for (const f of ['pred', 'maxProb', 'entropy', 'margin', 'labels', 'costs'] as const) {
    const a = loaded[f]!;
    assert.ok(a.buffer instanceof SharedArrayBuffer, `${f} is on a SharedArrayBuffer`);
    assert.deepEqual(a, source[f], `${f} round-trips`);
  }
  assert.equal(loaded.probs, undefined);
  assert.ok(isSharedTrace(loaded));
  assert.equal(shareTrace(loaded), loaded, 'a shared trace is passed as is');
});

test('a trace not loaded shared is shared once, for every worker', () => {
  assert.ok(!isSharedTrace(source));
  const a = shareTrace(source);
  assert.ok(isSharedTrace(a));
  assert.equal(shareTrace(source), a, 'the same shared copy is reused');
  assert.deepEqual(a.pred, source.pred);
});

test('two policies side by side in workers give the synchronous results, bit for bit', async () => {
  const opts = { seeds: 2, seriesPoints: 200 };
  const specs = ['uee-ucb', 'dee'];
  const stored = specs.map((): StoredSeed[] => []);
  const inWorkers = await Promise.all(specs.map((spec, i) => runPolicyInWorker(loaded, spec, opts, { onSeed: (s) => stored[i]!.push(s) })));
  for (const [i, spec] of specs.entries()) {
    const { series, ...sync } = runPolicySync(source, spec, opts);
    assert.deepEqual(inWorkers[i], sync, `${spec} in a worker on the shared trace = runPolicySync on the original`);
    // The series, as the store aggregates them from the seeds the workers handed over.
    const seeds = stored[i]!.sort((a, b) => a.seed - b.seed).map((s) => decodeSeed(s)!.result.series);
    assert.deepEqual(aggregateSeries(seeds, series.rounds, series.accuracy !== null), series, spec);
  }
  // The worker only read the shared memory.
  assert.deepEqual(loaded.pred, source.pred);
});
