/**
 * The latency profile an inference job measures: timed as stages on the job's own batches, with
 * its spread; a short job times its last batch again; every phase of the job is named in
 * progress events.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../../src/data/npy.js';
import { runInference } from '../../src/inference/job.js';
import type { PhaseProgress } from '../../src/progress.js';
import { openStore } from '../../src/store/store.js';
import { buildMlpMultiExit, cleanupTempModels, prng, randomFloats, saveWithExternalData, writeTempModel } from '../helpers/onnx-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'es-profile-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanupTempModels();
});

function data(samples: number, dim: number): string {
  const path = join(dir, `x-${samples}-${dim}.npy`);
  writeNpy(path, 'float', [samples, dim], randomFloats(prng(samples), samples * dim, 1));
  return path;
}

test('a model with external weights: phases named in order, the profile timed as stages during the job', async () => {
  const store = openStore(join(dir, 'a.sqlite'));
  const { modelPath } = saveWithExternalData(buildMlpMultiExit({ inputDim: 8, hidden: 16, classes: 3, exits: 3 }));
  const phases: PhaseProgress[] = [];
  const r = await runInference(store, { model: modelPath, data: data(200, 8), batch: 16, threads: 1 }, { onPhase: (p) => phases.push(p) });
  const names = [...new Set(phases.map((p) => p.phase))];
  assert.deepEqual([...names].sort(), ['cutting the model into stages', 'hashing the data', 'hashing the model', 'loading the model', 'making the stage sessions']);
  // The job hashes while the worker cuts the model and makes its sessions: two sequences, interleaved.
  const before = (a: string, b: string): boolean => names.indexOf(a) < names.indexOf(b);
  assert.ok(before('hashing the model', 'hashing the data') && before('cutting the model into stages', 'making the stage sessions') && before('making the stage sessions', 'loading the model'), names.join(' → '));
  for (const p of phases) assert.ok(p.done <= p.total, JSON.stringify(p));
  const hashed = phases.filter((p) => p.phase === 'hashing the model').at(-1)!;
  assert.equal(hashed.unit, 'bytes');
  assert.equal(hashed.done, hashed.total);
  // 13 batches: one warm-up and three timed as stages (the fewest), then the whole model for the other nine.
  const l = r.latency!;
  assert.deepEqual([l.method, l.inputs, l.repeats, l.batch, l.layout], ['staged', 'inference', 3, 16, 'portable']);
  assert.equal(l.threads, 1);
  assert.ok(r.jobSeconds >= r.seconds && l.seconds < r.jobSeconds);
  store.close();
});

test('the profile takes a timed pass per 40 batches of the job, from three to ten', async () => {
  const store = openStore(join(dir, 'c.sqlite'));
  const model = writeTempModel(buildMlpMultiExit({ inputDim: 8, hidden: 16, classes: 3, exits: 3 }));
  const repeats = async (samples: number): Promise<number> => (await runInference(store, { model, data: data(samples, 8), batch: 1, threads: 1 })).latency!.repeats;
  assert.deepEqual([await repeats(60), await repeats(200), await repeats(600)], [3, 5, 10]);
  store.close();
});

test('a job shorter than the profile wants times its last batch again, up to three passes', async () => {
  const store = openStore(join(dir, 'b.sqlite'));
  const model = writeTempModel(buildMlpMultiExit({ inputDim: 8, hidden: 16, classes: 3, exits: 3 }));
  const phases: string[] = [];
  const r = await runInference(store, { model, data: data(20, 8), batch: 16, threads: 1 }, { onPhase: (p) => phases.push(p.phase) });
  // Two batches: 16 (the warm-up) and 4 (too short to time): three extra passes of the first.
  assert.deepEqual([r.latency!.repeats, r.latency!.batch], [3, 16]);
  assert.ok(phases.includes('timing the stages'));
  assert.ok(!phases.includes('loading the model'), 'every batch ran as stages: the whole model was never loaded');
  store.close();
});
