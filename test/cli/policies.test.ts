import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../../src/api/commands.js';
import { samplePaths } from '../../src/paths.js';
import { openStore } from '../../src/store/store.js';
import { bestArmInHindsight } from '../helpers/ceebert-arms.js';
import { cliOn } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'es-cli-policy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'studio.sqlite');
const sample = samplePaths();

const { cli, json } = cliOn(db);

interface RunJson {
  runs: { runId: number; policy: string; seeds: number; summary: { accuracy: number; agreement: number; avgCost: number; exitShare: number[]; cumRegret: number }; learned: { kind: string } }[];
}

test('run side by side → runs list/show/compare → export → bundle → apply → delete', async (t) => {
  if (!existsSync(sample.model)) return t.skip('resources/sample/model.onnx is missing');
  const inf = json<{ traceId: number }>('infer', sample.model, sample.data, '--labels', sample.labels, '--probs', '--limit', '600', '--threads', '1');

  const r = json<RunJson>('run', String(inf.traceId), '--policy', 'uee-ucb', '--policy', 'dee', '--policy', 'maxprob@budget:0.5', '--policy', 'eenet', '--budget', '0.5', '--seeds', '3', '--lambda', '0.3');
  assert.deepEqual(r.runs.map((x) => x.policy), ['uee-ucb', 'dee', 'maxprob@budget:0.5', 'eenet:0.5']);
  for (const run of r.runs) {
    assert.equal(run.seeds, 3);
    assert.ok(run.summary.accuracy > 0.5 && run.summary.accuracy <= 1);
    assert.ok(Math.abs(run.summary.exitShare.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.ok(run.summary.avgCost > 0 && run.summary.avgCost <= 1);
  }
  assert.equal(r.runs[0]!.learned.kind, 'fixed');
  assert.equal(r.runs[2]!.learned.kind, 'thresholds');
  assert.equal(r.runs[3]!.learned.kind, 'eenet');

  const list = json<{ id: number }[]>('runs', 'list');
  assert.equal(list.length, 4);
  const ids = r.runs.map((x) => String(x.runId));
  type Compared = { runs: { id: number }[]; best: Record<string, number | null>; regretComparable: boolean };
  const cmp = json<Compared>('runs', 'compare', ...ids);
  assert.equal(cmp.runs.length, 4);
  const costs = new Map(r.runs.map((x) => [x.runId, x.summary.avgCost]));
  assert.equal(cmp.best.avgCost, [...costs.entries()].sort((a, b) => a[1] - b[1])[0]![0]);
  // DEE's regret is in its own units, against its own rule: with it in the set, regret is not ranked.
  assert.equal(cmp.regretComparable, false);
  assert.equal(cmp.best.cumRegret, null);
  const human = cli('runs', 'compare', ...ids);
  assert.match(human.stdout, /\*/);
  assert.match(human.stdout, /cum\. regret is not ranked/);
  // Without DEE, every regret is against the best fixed exit on the same trace, costs and lambda.
  const sameScale = r.runs.filter((x) => x.policy !== 'dee');
  const cmp2 = json<Compared>('runs', 'compare', ...sameScale.map((x) => String(x.runId)));
  assert.equal(cmp2.regretComparable, true);
  assert.equal(cmp2.best.cumRegret, [...sameScale].sort((a, b) => a.summary.cumRegret - b.summary.cumRegret)[0]!.runId);

  // runs show --json keeps every seed's series values; the studio's screens ask without them (megabytes per run).
  type Shown = { series: { series: { rounds: number[]; cumRegret: { mean: number[]; perSeed: number[][] } }; fits: unknown } };
  const shown = json<Shown>('runs', 'show', ids[0]!);
  assert.equal(shown.series.series.cumRegret.perSeed.length, 3);
  assert.equal(shown.series.series.cumRegret.perSeed[0]!.length, shown.series.series.rounds.length);
  const store = openStore(db);
  try {
    const lean = await call({ store, emit: () => {} }, 'run.show', { id: Number(ids[0]) });
    assert.deepEqual(lean.series?.series.cumRegret.perSeed, []);
    assert.deepEqual(lean.series?.series.cumRegret.mean, shown.series.series.cumRegret.mean);
  } finally {
    store.close();
  }

  const policyFile = join(dir, 'policy.json');
  assert.equal(cli('export', ids[2]!, '--out', policyFile).code, 0);
  const exported = JSON.parse(readFileSync(policyFile, 'utf8')) as {
    format: string; version: number; model: { sha256: string }; exits: { name: string; cost: number }[];
    policy: { spec: string }; decision: { kind: string; measure: string; thresholds: (number | null)[] }; metrics: { avgCost: number };
    evaluation: { mode: string; calibrationSamples: number; evaluationSamples: number; hindsight: boolean };
    estimates: { seeds: number; accuracy: { mean: number; lo: number; hi: number }; avgCost: { mean: number; lo: number; hi: number } };
    guarantee: unknown;
  };
  assert.equal(exported.format, 'exit-studio/exit-policy');
  assert.equal(exported.version, 2);
  // The run held a fitted policy: held out on half of the 600 samples, and the file says so with its estimates.
  assert.deepEqual(exported.evaluation, { mode: 'held-out', calibrationSamples: 300, evaluationSamples: 300, calibrationTrace: null, hindsight: false });
  assert.equal(exported.estimates.seeds, 3);
  assert.ok(exported.estimates.avgCost.lo <= exported.estimates.avgCost.mean && exported.estimates.avgCost.mean <= exported.estimates.avgCost.hi);
  assert.equal(exported.estimates.avgCost.mean, exported.metrics.avgCost);
  assert.equal(exported.guarantee, null);
  assert.equal(exported.model.sha256.length, 64);
  assert.deepEqual(exported.exits.map((e) => e.name), ['exit_1', 'exit_2', 'exit_3', 'exit_4']);
  assert.equal(exported.exits[3]!.cost, 1);
  assert.equal(exported.policy.spec, 'maxprob@budget:0.5');
  assert.equal(exported.decision.kind, 'thresholds');
  assert.equal(exported.decision.measure, 'maxProb');
  assert.ok(Math.abs(exported.metrics.avgCost - 0.5) < 0.06, 'calibrated on 300 samples, scored on 300 others');

  const bundle = join(dir, 'bundle');
  const b = cli('bundle', ids[2]!, '--model', sample.model, '--out', bundle, '--verify-data', sample.data);
  assert.equal(b.code, 0, b.stderr);
  for (const f of ['manifest.json', 'policy.json', 'stage_1.onnx', 'stage_4.onnx']) assert.ok(existsSync(join(bundle, f)), f);
  const applied = json<{ samples: number; exitShares: number[]; accuracy: number; agreement: number; speedup: number }>('apply', bundle, sample.data, '--labels', sample.labels, '--limit', '300', '--threads', '1');
  assert.equal(applied.samples, 300);
  assert.ok(Math.abs(applied.exitShares.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.ok(applied.accuracy > 0.8);
  assert.ok(applied.speedup > 0);

  // The exit-policy file bundles as the run does; a version-1 file (before evaluation modes) still does,
  // without estimates to compare against.
  const v1File = join(dir, 'policy-v1.json');
  const { evaluation: _e, estimates: _x, guarantee: _g, ...rest } = exported;
  writeFileSync(v1File, JSON.stringify({ ...rest, version: 1 }));
  type Applied = { samples: number; accuracy: number; expected: { evaluation: { mode: string }; estimates: { seeds: number } } | null };
  for (const [file, version] of [[policyFile, 2], [v1File, 1]] as const) {
    const out = join(dir, `bundle-v${version}`);
    const made = cli('bundle', file, '--model', sample.model, '--out', out);
    assert.equal(made.code, 0, `version ${version}: ${made.stderr}`);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'policy.json'), 'utf8')).policy, JSON.parse(readFileSync(join(bundle, 'policy.json'), 'utf8')).policy);
    const a = json<Applied>('apply', out, sample.data, '--labels', sample.labels, '--limit', '100', '--threads', '1');
    assert.equal(a.samples, 100);
    if (version === 2) assert.deepEqual([a.expected?.evaluation.mode, a.expected?.estimates.seeds], ['held-out', 3]);
    else assert.equal(a.expected, null);
  }
  const told = cli('apply', join(dir, 'bundle-v2'), sample.data, '--labels', sample.labels, '--limit', '50', '--threads', '1');
  assert.match(told.stdout, /the policy's run expected accuracy \d+\.\d+%–\d+\.\d+% at mean cost [\d.]+–[\d.]+ \(held-out, 95 % interval over 3 seeds\)/);
  writeFileSync(v1File, JSON.stringify({ ...rest, version: 3 }));
  const newer = cli('bundle', v1File, '--model', sample.model, '--out', join(dir, 'bundle-v3'));
  assert.equal(newer.code, 2);
  assert.match(newer.stderr, /policy-v1\.json: was written by a newer Exit Studio \(exit-policy version 3/);

  assert.equal(cli('runs', 'delete', ids[1]!).code, 0);
  assert.equal(json<unknown[]>('runs', 'list').length, 3);
});

test('a policy the trace cannot serve is refused in its own row, saying what to do, while the others run', (t) => {
  if (!existsSync(sample.model)) return t.skip('resources/sample/model.onnx is missing');
  const inf = json<{ traceId: number }>('infer', sample.model, sample.data, '--limit', '100', '--threads', '1');
  const before = json<unknown[]>('runs', 'list').length;
  const eenet = cli('run', String(inf.traceId), '--policy', 'uee-ucb', '--policy', 'eenet:0.5', '--policy', 'fixed:2', '--seeds', '2', '--json');
  assert.equal(eenet.code, 2, 'the exit code says that a policy asked for did not run');
  const out = JSON.parse(eenet.stdout) as { runs: { index: number; policy: string }[]; failed: { index: number; policy: string; error: string; kind: string; needs?: string }[] };
  assert.deepEqual(out.runs.map((r) => [r.index, r.policy]), [[0, 'uee-ucb'], [2, 'fixed:2']]);
  assert.deepEqual(out.failed.map((f) => [f.index, f.policy, f.kind]), [[1, 'eenet:0.5', 'input']]);
  assert.match(out.failed[0]!.error, /record a trace that keeps each exit's class scores \(probs\)/);
  assert.equal(out.failed[0]!.needs, 'probs', 'the refusal says what the trace lacks');
  assert.match(eenet.stderr, /1 of 3 policies did not run \(eenet:0\.5\); the others are stored/);
  assert.equal(json<unknown[]>('runs', 'list').length, before + 2, 'the two that could run are stored');
  const table = cli('run', String(inf.traceId), '--policy', 'fixed:1', '--policy', 'fixed:9', '--seeds', '1');
  assert.equal(table.code, 2);
  assert.match(table.stdout, /fixed:9 +- +refused/);
  assert.match(table.stdout, /refused: fixed:9: this trace has exits 1\.\.4/);
  const oracle = cli('run', String(inf.traceId), '--policy', 'oracle');
  assert.equal(oracle.code, 2);
  assert.match(oracle.stderr, /label/i);
  assert.equal(json<unknown[]>('runs', 'list').length, before + 3, 'nothing stored when every policy is refused');
  const human = cli('run', String(inf.traceId), '--policy', 'fixed:1', '--policy', 'eenet:0.5', '--seeds', '1');
  assert.match(human.stdout, /refused: EENet needs probability vectors; .*; record one with 'exit-studio infer MODEL DATA --probs'/, 'the CLI names how such a trace is recorded');
  const alone = cli('run', String(inf.traceId), '--policy', 'eenet:0.5', '--seeds', '1');
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /; record one with 'exit-studio infer MODEL DATA --probs'$/m);
  const unknown = cli('run', String(inf.traceId), '--policy', 'wizard');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /wizard/);
});

test('policies --json: every policy with its parameters as JSON Schema; run --help lists the flags made from them', () => {
  type Catalog = { policies: { id: string; title: string; kind: string; needs: string[]; params: { type: string; properties: Record<string, { type: string; description?: string }> } }[] };
  const c = json<Catalog>('policies');
  assert.ok(c.policies.length >= 15, `${c.policies.length} policies`);
  for (const id of ['uee-ucb', 'dee', 'ceebert', 'eenet', 'risk', 'geometric@budget', 'best-fixed', 'maxprob@budget']) {
    assert.ok(c.policies.some((p) => p.id === id), `${id} is listed`);
  }
  for (const p of c.policies) {
    assert.ok(p.id && p.title && ['online', 'fitted', 'baseline'].includes(p.kind), p.id);
    assert.equal(p.params.type, 'object', p.id);
  }
  const eenet = c.policies.find((p) => p.id === 'eenet')!;
  assert.deepEqual(eenet.needs, ['probs', 'confidence', 'entropy']);
  assert.deepEqual(Object.keys(eenet.params.properties), ['budget', 'warmup', 'refitEvery', 'explore', 'epochs', 'hidden', 'lr', 'beta', 'refine', 'keepEpoch']);
  const human = cli('policies');
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^eenet\[:BUDGET\] {2}\(fitted\) EENet/m, "a budget may be left out: it follows the costs");
  const help = cli('run', '--help');
  assert.equal(help.code, 0);
  for (const flag of ['--alpha', '--bins', '--budget', '--warmup', '--refit-every', '--epochs', '--hidden', '--lr', '--beta', '--param']) assert.match(help.stdout, new RegExp(`${flag}\\b`), flag);
});

test("EENet's hidden units, learning rate and beta are set from the command line, shared or for one policy", (t) => {
  if (!existsSync(sample.model)) return t.skip('resources/sample/model.onnx is missing');
  const inf = json<{ traceId: number }>('infer', sample.model, sample.data, '--labels', sample.labels, '--probs', '--limit', '300', '--threads', '1');
  const id = String(inf.traceId);
  type Learned = { runs: { runId: number; learned: { kind: string; model: { hidden: number } } }[] };
  const shared = json<Learned>('run', id, '--policy', 'eenet:0.5', '--hidden', '4', '--lr', '0.05', '--beta', '2', '--epochs', '3', '--seeds', '1');
  assert.equal(shared.runs[0]!.learned.model.hidden, 4);
  const shown = json<{ config: { params: Record<string, number> } }>('runs', 'show', String(shared.runs[0]!.runId));
  assert.deepEqual(shown.config.params, { budget: 0.5, warmup: 0, refitEvery: 0, explore: 0.05, epochs: 3, hidden: 4, lr: 0.05, beta: 2, refine: false, keepEpoch: 'last' });
  // --param POLICY.NAME=VALUE reaches that policy alone; the run's --hidden stays for the others.
  const scoped = json<Learned>('run', id, '--policy', 'eenet:0.5', '--policy', 'eenet:0.7', '--param', 'eenet.hidden=5', '--epochs', '2', '--seeds', '1');
  assert.deepEqual(scoped.runs.map((r) => r.learned.model.hidden), [5, 5]);
  const bad = [
    [['--hidden', 'x'], /--hidden must be a whole number in \[1, 1024\]; got "x"/],
    [['--hidden', '0'], /policy "eenet:0.5": hidden must be a whole number in \[1, 1024\]; got 0/],
    [['--param', 'nope=1'], /no policy has a parameter named nope/],
    [['--param', 'dee.alpha=0.1'], /dee is not one of the chosen policies/],
    [['--param', 'eenet.alpha=0.1'], /eenet has no parameter alpha/],
  ] as const;
  for (const [args, why] of bad) {
    const r = cli('run', id, '--policy', 'eenet:0.5', '--seeds', '1', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  const unread = cli('run', id, '--policy', 'last', '--bins', '4', '--seeds', '1');
  assert.equal(unread.code, 0);
  assert.match(unread.stderr, /no chosen policy reads --bins/);
});

test('run --policy ceebert --lambda 0.3 --seeds 5 --json learns the best threshold in hindsight (runs[0].learned.threshold)', (t) => {
  if (!existsSync(sample.model)) return t.skip('resources/sample/model.onnx is missing');
  const inf = json<{ traceId: number }>('infer', sample.model, sample.data, '--threads', '1');
  const r = json<{ runs: { runId: number; learned: { kind: string; threshold: number; thresholds: number[] } }[] }>('run', String(inf.traceId), '--lambda', '0.3', '--policy', 'ceebert', '--seeds', '5');
  const store = openStore(db);
  let best: number;
  try {
    best = bestArmInHindsight(store.traces.load(inf.traceId), 0.3);
  } finally {
    store.close();
  }
  assert.equal(r.runs[0]!.learned.kind, 'thresholds');
  assert.equal(r.runs[0]!.learned.threshold, best);
  assert.deepEqual(r.runs[0]!.learned.thresholds, [best, best, best, 0]);
  // The exported file carries the rule a deployment applies, with the threshold it settled on.
  const out = join(dir, 'ceebert.json');
  assert.equal(cli('export', String(r.runs[0]!.runId), '--out', out).code, 0);
  const file = JSON.parse(readFileSync(out, 'utf8')) as { policy: { spec: string; params: Record<string, unknown> }; decision: { threshold: number } };
  assert.equal(file.policy.spec, 'ceebert');
  assert.deepEqual(file.policy.params, { c: 2, update: 'lower' });
  assert.equal(file.decision.threshold, best);
});
