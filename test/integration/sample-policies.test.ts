/** The learning policies on the embedded sample's real trace: regret grows sub-linearly, and runs are reproducible. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInference } from '../../src/inference/job.js';
import { samplePaths } from '../../src/paths.js';
import { checkPolicyRegret, runPolicySync } from '../../src/policies/index.js';
import { openStore, type Store } from '../../src/store/store.js';
import type { Trace } from '../../src/trace/types.js';

const sample = samplePaths();
const present = existsSync(sample.model);
const dir = mkdtempSync(join(tmpdir(), 'es-sample-pol-'));
let store: Store;
let trace: Trace;

before(async () => {
  if (!present) return;
  store = openStore(join(dir, 'studio.sqlite'));
  const r = await runInference(store, { model: sample.model, data: sample.data, labels: sample.labels, threads: 1 });
  trace = store.traces.load(r.traceId);
});
after(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const spec of ['uee-ucb', 'dee']) {
  test(`${spec}: cumulative regret on the sample trace grows sub-linearly (second half well below the first)`, (t) => {
    if (!present) return t.skip('resources/sample/model.onnx is missing');
    const { check } = checkPolicyRegret(trace, spec, { seeds: 20 });
    assert.ok(check.firstHalf > 0);
    assert.ok(check.sublinear && check.ratio < 0.5, `second/first half regret ratio ${check.ratio.toFixed(3)}`);
  });
}

test('the same seeds give the same run, bit for bit; other seeds differ', (t) => {
  if (!present) return t.skip('resources/sample/model.onnx is missing');
  const a = runPolicySync(trace, 'dee', { seeds: 3, lambda: 0.3 });
  const b = runPolicySync(trace, 'dee', { seeds: 3, lambda: 0.3 });
  const c = runPolicySync(trace, 'dee', { seeds: 3, lambda: 0.3, firstSeed: 100 });
  assert.deepEqual(a.summary, b.summary);
  assert.deepEqual(a.series, b.series);
  assert.notDeepEqual(a.series.cumRegret.perSeed, c.series.cumRegret.perSeed);
});
