/**
 * Costs are checked and normalized by one function wherever they are given
 * (an import, a run, the Policy lab), say where they came from, and set the
 * budget a budgeted policy meets when none is given.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StudioError } from '../../src/errors.js';
import { budgetRefusal, defaultBudget, resolveCostChoice } from '../../src/policies/costs.js';
import { runPolicySync, syntheticTrace } from '../../src/policies/index.js';
import { checkCosts, describeCosts, importCosts, traceCosts } from '../../src/trace/costs.js';
import type { Trace } from '../../src/trace/types.js';

const close = (a: readonly number[], b: readonly number[]): void => {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-12, `${a.join(', ')} vs ${b.join(', ')}`));
};

const refused = (f: () => unknown, why: RegExp): void => {
  assert.throws(f, (e: unknown) => e instanceof StudioError && e.kind === 'input' && why.test(e.message), String(why));
};

test('checkCosts normalizes any unit so the last exit costs 1, and says what is wrong with bad numbers', () => {
  close(checkCosts([1, 3, 7, 12], 4), [1 / 12, 3 / 12, 7 / 12, 1]);
  close(checkCosts([0.2, 0.5, 1], 3), [0.2, 0.5, 1]);
  close(checkCosts([0, 0, 5], 3), [0, 0, 1]);
  refused(() => checkCosts([1, 2], 3), /the trace has 3 exits; got 2 costs/);
  refused(() => checkCosts([1, 3, 2], 3), /must not decrease with depth; exit 3 \(2\) < exit 2 \(3\)/);
  refused(() => checkCosts([-1, 3], 2), />= 0; exit 1's is -1/);
  refused(() => checkCosts([1, Number.NaN], 2), /exit 2's is NaN/);
  refused(() => checkCosts([0, 0], 2), /last exit's cost must be positive/);
});

test('an import keeps the numbers given per exit and normalizes them; without any, equal steps are assumed', () => {
  const exits = [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }];
  const given = importCosts('x.tsv', exits, [1, 3, 7, 12]);
  assert.equal(given.costSource, 'user');
  close(Array.from(given.costs), [1 / 12, 3 / 12, 7 / 12, 1]);
  assert.deepEqual(given.exits.map((e) => e.givenCost), [1, 3, 7, 12]);
  const none = importCosts('x.tsv', exits, undefined);
  assert.equal(none.costSource, 'uniform');
  close(Array.from(none.costs), [0.25, 0.5, 0.75, 1]);
  assert.throws(() => importCosts('x.tsv', exits, [1, 2]), /x\.tsv: has 4 exit columns, but 2 costs were given/);
  assert.throws(() => importCosts('x.tsv', exits, [4, 3, 2, 1]), /x\.tsv: costs are cumulative/);

  const t = traceCosts({ exits: given.exits, costs: given.costs, costSource: given.costSource });
  assert.deepEqual(t.rawCosts, [1, 3, 7, 12]);
  assert.equal(describeCosts(t), 'given: 1, 3, 7, 12 → 0.08333, 0.25, 0.5833, 1');
  const u = traceCosts({ exits, costs: none.costs, costSource: 'uniform' });
  assert.equal(u.costsAssumed, true);
  assert.match(describeCosts(u), /^equal steps, assumed/);
});

test('a run resolves its cost choice with the same check: numbers normalize, MACs carry how they were counted', () => {
  const trace: Trace = syntheticTrace({ samples: 50, exits: 3, classes: 3, seed: 1 });
  trace.exits = [
    { name: 'e1', macs: 100, macsSource: 'static', latencyMs: 2 },
    { name: 'e2', macs: 300, macsSource: 'probed', latencyMs: 1.5 },
    { name: 'e3', macs: 1000, macsSource: 'estimate', latencyMs: 4 },
  ];
  const user = resolveCostChoice(trace, [1, 3, 12]);
  close(user.costs, [1 / 12, 3 / 12, 1]);
  assert.deepEqual(user.rawCosts, [1, 3, 12]);
  assert.equal(user.costSource, 'user');
  refused(() => resolveCostChoice(trace, [1, 3]), /costs 1, 3: the trace has 3 exits; got 2 costs/);
  const macs = resolveCostChoice(trace, 'macs');
  close(macs.costs, [0.1, 0.3, 1]);
  assert.deepEqual(macs.macs?.source, ['static', 'probed', 'estimate']);
  assert.match(describeCosts(macs), /^MACs \(some exits estimated\): 100, 300, 1000 → 0\.1, 0\.3, 1$/);
  // Timings are noisy: a deeper exit never costs less than a shallower one.
  close(resolveCostChoice(trace, 'latency').costs, [0.5, 0.5, 1]);
  close(resolveCostChoice(trace, 'uniform').costs, [1 / 3, 2 / 3, 1]);
  // The engine normalizes costs given to it directly too: 1, 3, 12 is the same run as 1/12, 3/12, 1.
  const a = runPolicySync(trace, 'uee-ucb', { seeds: 2, costs: [1, 3, 12] });
  const b = runPolicySync(trace, 'uee-ucb', { seeds: 2, costs: [1 / 12, 3 / 12, 1] });
  assert.deepEqual(a.summary, b.summary);
  close(a.costs, [1 / 12, 3 / 12, 1]);
});

test('the default budget lies halfway between exit 1 and the last exit, never below exit 1', () => {
  assert.equal(defaultBudget([0.1733, 0.3386, 1]), 0.59);
  assert.equal(defaultBudget([0.7283531409168081, 0.9, 1]), 0.86);
  assert.equal(defaultBudget([1, 1]), 1);
  assert.equal(defaultBudget([0, 1]), 0.5);
  for (const c1 of [0, 0.01, 0.2, 0.5, 0.7283, 0.995, 1]) {
    const b = defaultBudget([c1, 1]);
    assert.ok(b >= c1 && b <= 1 && b > 0, `${c1} → ${b}`);
    assert.equal(budgetRefusal(undefined, [c1, 1]), undefined, `the default never refuses (exit 1 at ${c1})`);
  }
  assert.match(budgetRefusal(0.5, [0.7283531409168081, 1])!, /the budget 0\.5 is below the cost of exit 1 \(0\.7284\).*leave it out \(default 0\.86\)/);
});

test('a budgeted policy left without a budget meets the default for the run\'s costs', () => {
  const trace: Trace = syntheticTrace({ samples: 400, exits: 3, classes: 3, seed: 2 });
  const r = runPolicySync(trace, 'maxprob@budget', { seeds: 1, costs: [6, 8, 10] });
  assert.equal(r.spec, 'maxprob@budget:0.8', 'halfway between 0.6 and 1');
  assert.ok(r.summary.avgCost.mean <= 0.8 + 1e-9 && r.summary.avgCost.mean > 0.6, String(r.summary.avgCost.mean));
});
