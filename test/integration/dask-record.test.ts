/**
 * examples/dask_record.py on a real Dask LocalCluster (Debian's
 * python3-distributed): 4 shards on 2 workers over the first 2,000 of the
 * sample's Fashion-MNIST test images (--limit keeps the test short) with the 4-exit sample model, each shard through
 * the CLI; the shard files merged by import-trace must hold exactly the
 * predictions of one single-machine `infer` of the same data. And a job whose
 * shard fails stops with exit 1, naming the shard and the CLI's message.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invoke } from '../../src/api/commands.js';
import type { CommandContext } from '../../src/api/context.js';
import { writeNpy } from '../../src/data/npy.js';
import { runInference } from '../../src/inference/job.js';
import { projectRoot, samplePaths } from '../../src/paths.js';
import { openStore } from '../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'es-dask-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A Python that imports Dask's distributed: EXIT_STUDIO_PYTHON, else Debian's, else the first on PATH. */
function daskPython(): string | undefined {
  for (const py of [process.env.EXIT_STUDIO_PYTHON, '/usr/bin/python3', 'python3']) {
    if (py && spawnSync(py, ['-c', 'import distributed'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}
const python = daskPython();
const skip = python ? false : 'no Python with Dask distributed (apt-get install python3-distributed; .ci/run installs it)';

const recipe = join(projectRoot(), 'examples', 'dask_record.py');
const cli = `"${process.execPath}" "${join(projectRoot(), 'bin', 'exit-studio.js')}"`;

function record(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(python!, [recipe, '--cli', cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('4 shards on 2 Dask workers, merged, equal one single-machine infer of the same 2,000 images', { skip }, async () => {
  const s = samplePaths();
  const out = join(dir, 'shards');
  const r = record([s.model, s.data, '--shards', '4', '--workers', '2', '--out', out, '--', '--labels', s.labels, '--limit', '2000']);
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 4; i++) assert.match(r.stdout, new RegExp(`shard ${i}/4 done on .* samples ${i * 500}–${i * 500 + 499} of 2000 \\[\\d/4 shards`));
  assert.match(r.stdout, /all 4 shards written .*\n {2}exit-studio import-trace .*shard-\*\.npz/);
  const files = readdirSync(out).sort();
  assert.deepEqual(files, ['shard-0.npz', 'shard-1.npz', 'shard-2.npz', 'shard-3.npz']);

  const store = openStore(join(dir, 'studio.sqlite'));
  const ctx: CommandContext = { store, emit: () => {} };
  const merged = (await invoke(ctx, 'trace.import', { path: files.map((f) => join(out, f)) })) as { traceId: number; samples: number };
  const single = await runInference(store, { model: s.model, data: s.data, labels: s.labels, limit: 2000 });
  const a = store.traces.load(merged.traceId);
  const b = store.traces.load(single.traceId);
  assert.equal(a.samples, 2000);
  assert.deepEqual(a.exits.map((e) => e.name), b.exits.map((e) => e.name));
  assert.deepEqual(Array.from(a.pred), Array.from(b.pred), 'every prediction of every exit equals the single-machine trace');
  assert.deepEqual(Array.from(a.labels!), Array.from(b.labels!));
  assert.deepEqual(Array.from(a.costs), Array.from(b.costs));
  // Confidence comes from the same onnxruntime on other batch boundaries: equal to float rounding (bitwise, where measured).
  for (const f of ['maxProb', 'entropy', 'margin'] as const) {
    let worst = 0;
    for (let i = 0; i < a[f]!.length; i++) worst = Math.max(worst, Math.abs(a[f]![i]! - b[f]![i]!));
    assert.ok(worst <= 1e-6, `${f} differs by ${worst}`);
  }
  store.close();
});

test('a shard that fails stops the job with exit 1, naming the shard and what the CLI said', { skip }, () => {
  // 3 samples in 4 shards: shard 0 would be empty, and the CLI refuses it.
  const tiny = join(dir, 'tiny.npy');
  writeNpy(tiny, 'float', [3, 1, 28, 28], new Float32Array(3 * 784).fill(0.5));
  const out = join(dir, 'failed');
  const r = record([samplePaths().model, tiny, '--shards', '4', '--workers', '2', '--out', out]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /shard 0\/4 failed on .* \(exit 2\)/);
  assert.match(r.stderr, /shard 0\/4 of 3 samples would be empty: use at most 3 shards/);
  assert.match(r.stderr, /stopping: the other shards are cancelled/);
  assert.ok(!existsSync(join(out, 'shard-0.npz')));
});

test('bad usage exits with 2 before any cluster starts', { skip }, () => {
  const s = samplePaths();
  for (const [args, says] of [
    [[s.model, s.data, '--shards', '0', '--out', dir], /--shards must be at least 1/],
    [[s.model, join(dir, 'none.npy'), '--shards', '2', '--out', dir], /none\.npy: no such file or folder/],
    [[s.model, s.data, '--shards', '2', '--workers', '2', '--scheduler', 'tcp://127.0.0.1:1', '--out', dir], /--workers sizes the local cluster/],
  ] as [string[], RegExp][]) {
    const r = record(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, says);
  }
});
