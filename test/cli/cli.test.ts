import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, samplePaths, sharedDataDir } from '../../src/paths.js';
import { buildMlpMultiExit, buildSingleExit, cleanupTempModels, writeTempModel } from '../helpers/onnx-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'es-cli-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanupTempModels();
});
const db = join(dir, 'studio.sqlite');

function cli(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'exit-studio.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, EXIT_STUDIO_DB: db, ...env },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function noStack(stderr: string): void {
  assert.ok(!/\n\s+at .+:\d+:\d+/.test(stderr), `a stack trace leaked:\n${stderr}`);
}

const mlp = writeTempModel(buildMlpMultiExit({ inputDim: 6, hidden: 8, classes: 3, exits: 3, seed: 3, extraOutputs: true }), 'cli-mlp.onnx');

test('inspect --json: inputs, outputs, exits in depth order with MACs, ignored outputs with reasons', () => {
  const r = cli(['inspect', mlp, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { inputs: { name: string; type: string; shape: unknown[] }[]; exits: { index: number; name: string; classes: number; kind: string; macs: number }[]; ignored: { name: string; reason: string }[] };
  assert.deepEqual(j.inputs.map((i) => i.name), ['x']);
  assert.deepEqual(j.exits.map((e) => e.index), [0, 1, 2]);
  assert.ok(j.exits.every((e, i) => e.classes === 3 && e.kind === 'logits' && (i === 0 || e.macs >= j.exits[i - 1]!.macs)));
  assert.ok(j.ignored.some((g) => g.name === 'embedding' && g.reason.length > 10));
});

test('bad input exits with 2 and a one-line message naming the file; no stack trace', () => {
  const garbage = join(dir, 'garbage.onnx');
  writeFileSync(garbage, 'this is not a protobuf at all, just text that goes on and on');
  for (const [args, needle] of [
    [['inspect', garbage], garbage],
    [['inspect', join(dir, 'missing.onnx')], 'missing.onnx'],
    [['inspect', writeTempModel(buildSingleExit(), 'single.onnx')], 'multi-exit needs at least two exits; found 1'],
    [['infer', mlp, join(dir, 'nope.npy')], 'nope.npy'],
    [['inspect'], 'missing MODEL'],
    [['infer', mlp, 'x.npy', '--batch', 'zero'], '--batch'],
    [['frobnicate'], 'unknown command'],
  ] as [string[], string][]) {
    const r = cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(needle), `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', 'nothing on stdout for a failed command');
    noStack(r.stderr);
  }
});

test('infer --json, traces list/show, trace export to .tsv and .npz, and import back: a round trip', () => {
  const x = join(dir, 'x.csv');
  writeFileSync(x, Array.from({ length: 40 }, (_, i) => Array.from({ length: 6 }, (_, j) => ((i * 7 + j * 3) % 11) / 11 - 0.5).join(',')).join('\n') + '\n');
  const labels = join(dir, 'y.txt');
  writeFileSync(labels, Array.from({ length: 40 }, (_, i) => String(i % 3)).join('\n') + '\n');
  const inf = cli(['infer', mlp, x, '--labels', labels, '--probs', '--threads', '1', '--json']);
  assert.equal(inf.code, 0, inf.stderr);
  const r = JSON.parse(inf.stdout) as { traceId: number; samples: number; exits: number; seconds: number; samplesPerSecond: number; exitLatencyMs: number[] };
  assert.equal(r.samples, 40);
  assert.equal(r.exits, 3);
  assert.equal(r.exitLatencyMs.length, 3);

  const list = JSON.parse(cli(['traces', 'list', '--json']).stdout) as { id: number }[];
  assert.ok(list.some((t) => t.id === r.traceId));
  const show = cli(['traces', 'show', String(r.traceId)]);
  assert.equal(show.code, 0);
  assert.match(show.stdout, /40 samples/);

  const tsv = join(dir, 'trace.tsv');
  assert.equal(cli(['trace', 'export', String(r.traceId), '--out', tsv]).code, 0);
  const lines = readFileSync(tsv, 'utf8').trim().split('\n');
  assert.equal(lines.length, 41);
  assert.deepEqual(lines[0]!.split('\t'), ['exit_0', 'exit_1', 'exit_2', 'label']);

  const npz = join(dir, 'trace.npz');
  assert.equal(cli(['trace', 'export', String(r.traceId), '--out', npz]).code, 0);
  const imp = JSON.parse(cli(['import-trace', npz, '--json']).stdout) as { traceId: number; samples: number; exits: number; hasLabels: boolean; hasProbs: boolean; costs: { costSource: string } };
  assert.deepEqual({ ...imp, traceId: 0, costs: null }, { traceId: 0, samples: 40, exits: 3, hasLabels: true, hasProbs: true, costs: null });
  assert.equal(imp.costs.costSource, 'macs', 'an exported trace keeps where its costs came from');
  const tsv2 = join(dir, 'trace2.tsv');
  assert.equal(cli(['trace', 'export', String(imp.traceId), '--out', tsv2]).code, 0);
  assert.equal(readFileSync(tsv2, 'utf8'), readFileSync(tsv, 'utf8'));

  const imp2 = JSON.parse(cli(['import-trace', tsv, '--json']).stdout) as { samples: number; hasLabels: boolean; hasProbs: boolean };
  assert.deepEqual([imp2.samples, imp2.hasLabels, imp2.hasProbs], [40, true, false]);
});

test('import-trace of the published IMDb prediction matrix', (t) => {
  const tsv = join(sharedDataDir(), 'imdb-elasticbert-4exits.tsv');
  if (!existsSync(tsv)) return t.skip('../shared/data is absent (a user clone): nothing to import');
  const r = cli(['import-trace', tsv, '--label-column', 'op_labels', '--costs', '1/12,3/12,7/12,1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { traceId, costs, ...rest } = JSON.parse(r.stdout) as { traceId: number; costs: unknown };
  assert.deepEqual(rest, { samples: 50000, exits: 4, hasLabels: true, hasProbs: false });
  assert.ok(costs !== undefined, 'import says which costs it used');
  assert.match(r.stderr, /costs \(cumulative, last exit = 1\): given: 0\.08333, 0\.25, 0\.5833, 1/);
  // The id names the trace just stored: the store shows it with the file's samples and the costs given.
  const list = JSON.parse(cli(['traces', 'list', '--json']).stdout) as { id: number; samples: number; costs: number[] }[];
  const stored = list.find((x) => x.id === traceId);
  assert.ok(stored, `trace ${traceId} is not in the store`);
  assert.equal(stored.samples, 50000);
  assert.deepEqual(stored.costs, [1 / 12, 3 / 12, 7 / 12, 1]);
});

test('run --costs 1,3,7,12 on the IMDb trace normalizes like import-trace: UEE-UCB reproduces the notebook (0.807, 0.2508)', (t) => {
  const tsv = join(sharedDataDir(), 'imdb-elasticbert-4exits.tsv');
  if (!existsSync(tsv)) return t.skip('../shared/data is absent (a user clone): nothing to run');
  // Imported without costs: equal steps are assumed, and said so on stderr.
  const imp = cli(['import-trace', tsv, '--json']);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stderr, /costs \(cumulative, last exit = 1\): equal steps, assumed \(nothing gave costs\): 0\.25, 0\.5, 0\.75, 1\n.*give --costs/);
  const id = String((JSON.parse(imp.stdout) as { traceId: number }).traceId);
  const r = cli(['run', id, '--costs', '1,3,7,12', '--policy', 'uee-ucb', '--seeds', '20', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { costs: { costs: number[]; rawCosts: number[]; costSource: string }; runs: { runId: number; summary: { accuracy: number; avgCost: number } }[] };
  assert.deepEqual(out.costs.rawCosts, [1, 3, 7, 12]);
  assert.equal(out.costs.costSource, 'user');
  const s = out.runs[0]!.summary;
  assert.ok(Math.abs(s.accuracy - 0.80706) <= 0.002, `accuracy ${s.accuracy}`);
  assert.ok(Math.abs(s.avgCost - 0.25085) <= 0.001, `mean cost ${s.avgCost}`);
  assert.match(r.stderr, /costs \(cumulative, last exit = 1\): given: 1, 3, 7, 12 → 0\.08333, 0\.25, 0\.5833, 1/);
  // The run keeps the raw and the normalized costs, and says so.
  const shown = cli(['runs', 'show', String(out.runs[0]!.runId)]);
  assert.match(shown.stdout, /costs \(cumulative, last exit = 1\): given: 1, 3, 7, 12 → 0\.08333, 0\.25, 0\.5833, 1/);
});

test('the database: a read creates none; --db wins over EXIT_STUDIO_DB; a broken database file is named and left alone', () => {
  const fresh = join(dir, 'new', 'dir', 'x.sqlite');
  for (const args of [['traces', 'list'], ['runs', 'list'], ['traces', 'list', '--interrupted']]) {
    const read = cli([...args, '--db', fresh, '--json']);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(JSON.parse(read.stdout), []);
  }
  assert.equal(cli(['traces', 'show', '3', '--db', fresh]).code, 2);
  assert.ok(!existsSync(join(dir, 'new')), 'reading created neither a database nor its folders');
  const other = join(dir, 'other.sqlite');
  const matrix = join(dir, 'tiny.tsv');
  writeFileSync(matrix, 'e1\te2\n0\t1\n1\t1\n');
  assert.equal(cli(['import-trace', matrix, '--db', other, '--json']).code, 0);
  assert.ok(existsSync(other));
  assert.equal((JSON.parse(cli(['traces', 'list', '--db', other, '--json']).stdout) as unknown[]).length, 1);
  const broken = join(dir, 'broken.sqlite');
  writeFileSync(broken, 'not sqlite '.repeat(100));
  const r = cli(['traces', 'list', '--db', broken]);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes(broken));
  assert.equal(readFileSync(broken, 'utf8'), 'not sqlite '.repeat(100));
});

test('demo runs the whole job on the embedded sample', (t) => {
  if (!existsSync(samplePaths().model)) return t.skip('resources/sample/model.onnx is missing');
  const r = cli(['demo', '--seeds', '3', '--db', join(dir, 'demo.sqlite')]);
  assert.equal(r.code, 0, r.stderr);
  for (const needle of ['Exits (depth order)', 'uee-ucb', 'dee', 'eenet', 'maxprob@budget', 'best-fixed', 'per-sample oracle', 'Evaluated held-out']) assert.ok(r.stdout.includes(needle), needle);
});
