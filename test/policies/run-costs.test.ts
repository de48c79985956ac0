/**
 * A side-by-side run through the command contract, with a real store: the
 * costs it used are resolved by the engine's one check, stored with the runs
 * (source, raw numbers, how MACs were counted) and shown back; the lab's
 * defaults follow them; a policy that does not fit the trace reports in its
 * own row while the others run; progress counts policy × seed jobs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { call } from '../../src/api/commands.js';
import type { CommandContext, StudioEvent } from '../../src/api/context.js';
import { StudioError } from '../../src/errors.js';
import { openStore } from '../../src/store/store.js';
import type { Trace } from '../../src/trace/types.js';
import { syntheticTrace } from '../helpers/trace.js';

const dir = mkdtempSync(join(tmpdir(), 'es-run-costs-'));
const store = openStore(join(dir, 'studio.sqlite'));
const events: StudioEvent[] = [];
const ctx: CommandContext = { store, emit: (e) => events.push(e) };
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

// A transformer-like trace: exit 1 already costs 73 % of the model by its MACs (the issue's
// miscounted ViT), one exit's count is an estimate.
const trace: Trace = syntheticTrace(300, 3, 4, { labels: true, probs: true, seed: 5 });
trace.exits = [
  { name: 'e1', macs: 7283, macsSource: 'static', latencyMs: 1 },
  { name: 'e2', macs: 9000, macsSource: 'probed', latencyMs: 3 },
  { name: 'e3', macs: 10000, macsSource: 'estimate', latencyMs: 4 },
];
trace.costs = Float64Array.from([0.7283, 0.9, 1]);
trace.macsBasis = { inputs: [{ name: 'x', shape: [1, 8] }], dims: [], nodes: 5, probed: 1, probeFeed: 'data', unsized: 1 };
const traceId = store.traces.save(trace, { name: 'vit-like', source: 'import' });

test('policy.costs: the costs a run would use, the choices the trace serves, and budgets that follow them', async () => {
  const c = await call(ctx, 'policy.costs', { traceId });
  assert.deepEqual(c.costs.costs, [0.7283, 0.9, 1]);
  assert.equal(c.costs.costSource, 'macs');
  assert.deepEqual(c.costs.rawCosts, [7283, 9000, 10000]);
  assert.deepEqual(c.costs.macs?.source, ['static', 'probed', 'estimate']);
  assert.equal(c.costs.macs?.basis?.unsized, 1, 'the basis of the count travels with the trace');
  assert.deepEqual(c.choices, ['trace', 'macs', 'latency', 'uniform']);
  assert.deepEqual(c.defaults.eenet, { budget: 0.86 });
  assert.deepEqual(c.defaults['maxprob@budget'], { budget: 0.86 });
  assert.deepEqual(c.defaults['geometric@budget'], { budget: 0.86 });
  const steps = await call(ctx, 'policy.costs', { traceId, costs: 'uniform' });
  assert.deepEqual(steps.defaults.eenet, { budget: 0.67 });
  const given = await call(ctx, 'policy.costs', { traceId, costs: [2, 6, 12] });
  assert.deepEqual(given.costs.rawCosts, [2, 6, 12]);
  assert.deepEqual(given.costs.costs, [2 / 12, 6 / 12, 1]);
  await assert.rejects(call(ctx, 'policy.costs', { traceId, costs: [3, 2, 1] }), (e: unknown) => e instanceof StudioError && e.kind === 'input' && /must not decrease/.test(e.message));
});

test("policy.run: the lab's default policies run at the trace's costs; a budget that does not fit is refused in its own row", async () => {
  events.length = 0;
  const out = await call(ctx, 'policy.run', { traceId, policies: ['uee-ucb', 'dee', 'eenet', 'maxprob@budget:0.5'], seeds: 2, lambda: 0.3, params: { epochs: 3 } });
  assert.deepEqual(out.runs.map((r) => [r.index, r.policy, r.label]), [
    [0, 'uee-ucb', 'UEE-UCB'],
    [1, 'dee', 'DEE'],
    [2, 'eenet:0.86', 'EENet (budget 0.86)'],
  ]);
  assert.equal(out.failed.length, 1);
  assert.equal(out.failed[0]!.index, 3);
  assert.equal(out.failed[0]!.kind, 'input');
  assert.match(out.failed[0]!.error, /maxprob@budget:0\.5: the budget 0\.5 is below the cost of exit 1 \(0\.7283\)/);
  assert.equal(out.costs.costSource, 'macs');
  // The policies that run share one evaluation: held out, since EENet fits on data.
  assert.deepEqual(new Set(out.runs.map((r) => r.evaluation.mode)), new Set(['held-out']));

  // Each run keeps the costs it used: normalized, raw, their source and how the MACs were counted.
  const shown = await call(ctx, 'run.show', { id: out.runs[2]!.runId });
  assert.equal(shown.name, 'EENet (budget 0.86) on trace ' + traceId);
  assert.deepEqual(shown.config.costs, [0.7283, 0.9, 1]);
  assert.deepEqual(shown.config.rawCosts, [7283, 9000, 10000]);
  assert.deepEqual(shown.config.macs?.source, ['static', 'probed', 'estimate']);
  assert.equal(shown.config.params.budget, 0.86);
  assert.ok(Math.abs(shown.means.avgCost - 0.86) < 0.02, `EENet meets its default budget: ${shown.means.avgCost}`);

  // The exit-policy file carries them too, holds only the policy's own parameters, and says which seed it came from.
  const file = await call(ctx, 'run.exportPolicy', { id: out.runs[1]!.runId });
  assert.deepEqual(file.exits.map((e) => [e.cost, e.rawCost, e.macsSource]), [[0.7283, 7283, 'static'], [0.9, 9000, 'probed'], [1, 10000, 'estimate']]);
  assert.equal(file.costSource, 'macs');
  assert.equal(file.costsAssumed, false);
  assert.deepEqual(Object.keys(file.policy.params).sort(), ['alpha', 'bins'], 'DEE ignores the run\'s shared epochs');
  assert.equal(file.policy.learnedFromSeed, 1);
  assert.equal(file.policy.seeds, 2);

  // Progress counts jobs (policy × seed) and says how long is left.
  const progress = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
  assert.equal(progress.at(-1)!.total, 6);
  assert.equal(progress.at(-1)!.done, 6);
  assert.match(progress.at(-1)!.message ?? '', /^6 of 6 jobs \(3 policies × 2 seeds\)$/);
  assert.ok(progress.some((p) => p.done > 0 && p.done < p.total && typeof p.etaSeconds === 'number' && p.etaSeconds >= 0), 'an ETA while it runs');
  const partial = events.find((e) => e.type === 'partial' && e.data.index === 2);
  assert.equal(partial?.type === 'partial' ? partial.data.label : '', 'EENet (budget 0.86)');
});

test('policy.run with costs given as numbers: normalized, and stored with the numbers given', async () => {
  const out = await call(ctx, 'policy.run', { traceId, policies: ['fixed:2'], seeds: 1, costs: [1, 3, 12] });
  const run = await call(ctx, 'run.show', { id: out.runs[0]!.runId });
  assert.deepEqual(run.config.costs, [1 / 12, 3 / 12, 1]);
  assert.deepEqual(run.config.rawCosts, [1, 3, 12]);
  assert.equal(run.config.costSource, 'user');
  assert.ok(Math.abs(run.means.avgCost - 0.25) < 1e-12, 'fixed exit 2 costs 3/12');
});

test('policy.run: a refused policy does not choose the evaluation of those that run', async () => {
  const out = await call(ctx, 'policy.run', { traceId, policies: ['uee-ucb', 'maxprob@budget:0.5'], seeds: 1 });
  assert.deepEqual(out.failed.map((f) => f.policy), ['maxprob@budget:0.5']);
  assert.equal(out.runs[0]!.evaluation.mode, 'in-sample', 'UEE-UCB alone learns online: in-sample');
  const shown = await call(ctx, 'run.show', { id: out.runs[0]!.runId });
  assert.equal(shown.evaluation.mode, 'in-sample');
  assert.equal(shown.config.costSource, 'macs');
});

test('policy.run: when no policy can run, the request is refused as a whole and nothing is stored', async () => {
  const before = (await call(ctx, 'run.list', {})).length;
  await assert.rejects(
    call(ctx, 'policy.run', { traceId, policies: ['eenet:0.3', 'fixed:7'], seeds: 1 }),
    (e: unknown) => e instanceof StudioError && e.kind === 'input' && /no policy can run on trace \d+: eenet:0\.3: the budget .*; fixed:7: this trace has exits 1\.\.3/.test(e.message),
  );
  assert.equal((await call(ctx, 'run.list', {})).length, before);
});

test('trace.diagnose draws the front at the costs asked for, and says which', async () => {
  const own = await call(ctx, 'trace.diagnose', { id: traceId });
  assert.deepEqual(own.fixedPoints.map((p) => Number(p.cost.toFixed(4))), [0.7283, 0.9, 1]);
  const steps = await call(ctx, 'trace.diagnose', { id: traceId, costs: 'uniform' });
  assert.deepEqual(steps.fixedPoints.map((p) => Number(p.cost.toFixed(4))), [0.3333, 0.6667, 1]);
  assert.equal(steps.costs.costSource, 'uniform');
  for (const p of steps.pareto) assert.ok(steps.fixedPoints.some((f) => f.cost === p.cost) || (steps.sweep ?? []).some((s) => s.cost === p.cost));
});
