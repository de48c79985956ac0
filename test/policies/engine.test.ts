// The replay engine keeps policies honest; specs are refused before any work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StudioError } from '../../src/errors.js';
import {
  checkPolicyCanRun,
  parsePolicySpec,
  replay,
  runPolicySync,
  shuffledOrder,
  syntheticTrace,
  type Observation,
  type LearnedPolicy,
  type Policy,
} from '../../src/policies/index.js';
import type { SeedResult } from '../../src/policies/run.js';
import { decodeSeed, encodeSeed } from '../../src/store/seed-record.js';
import type { Trace } from '../../src/trace/types.js';

const small = syntheticTrace({ samples: 300, exits: 4, classes: 5, seed: 2 });
const hard: Trace = { ...small, maxProb: undefined, entropy: undefined, margin: undefined, probs: undefined } as Trace;
delete hard.maxProb;
delete hard.entropy;
delete hard.margin;
delete hard.probs;

/** A policy that exits at exit 1 after peeking at the final exit's prediction. */
class Cheater implements Policy {
  readonly name = 'cheater';
  constructor(private readonly read: (obs: Observation) => number) {}
  begin(): number {
    return 0;
  }
  stop(obs: Observation): boolean {
    return this.read(obs) >= 0;
  }
  end(): void {}
  learned(): LearnedPolicy {
    return { kind: 'fixed', exit: 0 };
  }
}

test('peeking beyond the computed depth is an error', () => {
  const K = small.exits.length;
  for (const read of [
    (o: Observation) => o.pred(K - 1),
    (o: Observation) => o.maxProb(1),
    (o: Observation) => o.entropy(o.depth),
    (o: Observation) => o.prob(2, 0),
    (o: Observation) => o.margin(-1),
  ]) {
    assert.throws(() => replay(small, new Cheater(read), { seed: 1 }), (e: unknown) => e instanceof StudioError && /only exits 1\.\.1 have been computed/.test(e.message));
  }
  // Reading what was computed is fine.
  const r = replay(small, new Cheater((o) => o.pred(0) + o.maxProb(0)), { seed: 1 });
  assert.ok(r.exit.every((e) => e === 0));
});

test('an up-front policy sees exactly exits 1..j in end(), and nothing in begin()', () => {
  let seen = 0;
  const p: Policy = {
    name: 'upfront',
    begin: () => 1,
    stop: () => true,
    end: (obs) => {
      assert.equal(obs.depth, 2);
      obs.pred(1);
      assert.throws(() => obs.pred(2), StudioError);
      seen++;
    },
    learned: () => ({ kind: 'fixed', exit: 1 }),
  };
  replay(small, p, { seed: 3 });
  assert.equal(seen, small.samples);
  const bad: Policy = { ...p, begin: () => 7 };
  assert.throws(() => replay(small, bad, { seed: 1 }), /chose exit index 7/);
});

test('labels reach a policy only in supervised mode', () => {
  const reader = new Cheater((o) => o.label());
  assert.throws(() => replay(small, reader, { seed: 1 }), /label in an unsupervised run/);
  const r = replay(small, reader, { seed: 1, supervised: true });
  assert.equal(r.exit.length, small.samples);
});

test('the stream order is a seeded permutation', () => {
  const a = shuffledOrder(1000, 5);
  assert.deepEqual(a, shuffledOrder(1000, 5));
  assert.notDeepEqual(a, shuffledOrder(1000, 6));
  assert.deepEqual(Array.from(a).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
});

test('specs parse to canonical names and refuse nonsense', () => {
  assert.equal(parsePolicySpec('UEE-UCB').spec, 'uee-ucb');
  assert.equal(parsePolicySpec('fixed:2').arg, 2);
  assert.equal(parsePolicySpec('maxprob@budget:0.5').spec, 'maxprob@budget:0.5');
  assert.equal(parsePolicySpec('eenet', { budget: 0.4 }).spec, 'eenet:0.4');
  // A budget left out follows the run's costs: halfway between exit 1's cost and 1.
  assert.equal(parsePolicySpec('eenet').spec, 'eenet');
  assert.equal(parsePolicySpec('eenet', {}, {}, [0.1733, 0.3386, 1]).spec, 'eenet:0.59');
  assert.equal(parsePolicySpec('maxprob@budget', {}, {}, [0.8, 0.9, 1]).params.budget, 0.9);
  for (const [spec, why] of [
    ['nope', /unknown policy/],
    ['fixed', /needs an exit number/],
    ['fixed:0', /start at 1/],
    ['fixed:x', /not a number/],
    ['maxprob:1.5', /\[0, 1\]/],
    ['patience:0', />= 1/],
    ['eenet:', /needs a budget/],
    ['uee-ucb:3', /takes no argument/],
  ] as const) {
    assert.throws(() => parsePolicySpec(spec), (e: unknown) => e instanceof StudioError && why.test(e.message) && e.message.includes(spec));
  }
});

test('checkPolicyCanRun refuses with a reason before any work', () => {
  const reason = (spec: string, t: Trace, sup = false): string => {
    const r = checkPolicyCanRun(spec, t, sup);
    assert.equal(r.ok, false, spec);
    return r.ok ? '' : r.reason;
  };
  assert.equal(reason('eenet:0.5', hard), "EENet needs probability vectors; this trace has none — record a trace that keeps each exit's class scores (probs)");
  assert.match(reason('dee', hard), /needs confidence.*hard predictions only/);
  assert.match(reason('maxprob:0.9', hard), /needs confidence/);
  assert.match(reason('entropy:0.2', hard), /needs entropies/);
  const unlabelled = { ...small };
  delete unlabelled.labels;
  assert.match(reason('oracle', unlabelled), /needs labels/);
  assert.match(reason('uee-ucb', unlabelled, true), /supervised mode needs labels/);
  assert.match(reason('fixed:5', small), /exits 1\.\.4/);
  assert.match(reason('maxprob@budget:0.1', small), /below the cost of exit 1/);
  assert.equal(checkPolicyCanRun('uee-ucb', hard, false).ok, true);
  assert.equal(checkPolicyCanRun('patience:2', hard, false).ok, true);
  // runPolicy throws the same reason.
  assert.throws(() => runPolicySync(hard, 'dee'), (e: unknown) => e instanceof StudioError && e.kind === 'input' && /needs confidence/.test(e.message));
  assert.throws(() => runPolicySync(small, 'uee-ucb', { costs: [1, 0.5, 2, 3] }), /must not decrease/);
  assert.throws(() => runPolicySync(small, 'uee-ucb', { costs: [1, 2] }), /4 exits; got 2 costs/);
});

test('without labels, metrics use agreement with the final exit and say so', () => {
  const unlabelled = { ...small };
  delete unlabelled.labels;
  const r = runPolicySync(unlabelled, 'random', { seeds: 3 });
  assert.equal(r.summary.accuracy, null);
  assert.equal(r.series.accuracy, null);
  assert.equal(r.summary.reference, 'final-exit');
  const last = runPolicySync(unlabelled, 'last', { seeds: 2 });
  assert.equal(last.summary.agreement.mean, 1);
  assert.equal(last.summary.avgCost.mean, 1);
});

test('runPolicy results are JSON-serializable and carry CIs per seed', async () => {
  const { runPolicy } = await import('../../src/policies/index.js');
  let progress = 0;
  const partial: number[] = [];
  const r = await runPolicy(small, 'patience:2', { seeds: 4, onProgress: () => progress++, onPartial: (p) => partial.push(p.summary.avgCost.perSeed.length) });
  assert.equal(progress, 4);
  assert.deepEqual(partial, [1, 2, 3]);
  // Serializable means nothing is lost: no typed array, NaN, Infinity or undefined that JSON would change or drop.
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  assert.equal(r.summary.avgCost.perSeed.length, 4);
  assert.ok(r.summary.avgCost.ci95 >= 0);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(runPolicy(small, 'random', { signal: ac.signal }), /cancelled/);
});

test('a run resumed from kept seeds equals the uninterrupted run, bit for bit; only the missing seeds are replayed', () => {
  const labelled = syntheticTrace({ samples: 400, exits: 4, classes: 5, seed: 9 });
  for (const spec of ['uee-ucb', 'dee', 'eenet:0.5']) {
    const kept: SeedResult[] = [];
    const full = runPolicySync(labelled, spec, { seeds: 6, lambda: 0.3, params: { epochs: 5 }, onSeed: (r) => kept.push(r) });
    assert.deepEqual(kept.map((r) => r.seed), [1, 2, 3, 4, 5, 6], spec);
    // Interrupted after three seeds; what was kept went through the store's encoding.
    // On the grid of the samples each seed scored (EENet is held out by default: half the trace).
    const grid = Uint32Array.from(full.series.rounds);
    const fromStore = kept.slice(0, 3).map((r) => decodeSeed(encodeSeed(r, grid))!.result);
    const replayed: number[] = [];
    const resumed = runPolicySync(labelled, spec, { seeds: 6, lambda: 0.3, params: { epochs: 5 }, resumed: fromStore, onSeed: (r) => replayed.push(r.seed) });
    assert.deepEqual(replayed, [4, 5, 6], `${spec}: only the missing seeds replay`);
    assert.equal(resumed.resumedSeeds, 3);
    assert.equal(full.resumedSeeds, 0);
    assert.deepStrictEqual(resumed.summary, full.summary, spec);
    assert.deepStrictEqual(resumed.series, full.series, spec);
    assert.deepStrictEqual(resumed.learnedPerSeed, full.learnedPerSeed, spec);
    assert.deepStrictEqual(resumed.fits, full.fits, spec);
  }
});

test('kept seeds of another shape are refused, not mixed in', () => {
  const kept: SeedResult[] = [];
  runPolicySync(small, 'uee-ucb', { seeds: 2, onSeed: (r) => kept.push(r) });
  const other = syntheticTrace({ samples: 300, exits: 3, classes: 5, seed: 2 });
  assert.throws(() => runPolicySync(other, 'uee-ucb', { seeds: 2, resumed: kept }), /does not match this run/);
  // Seeds outside this run's list are simply not used.
  const r = runPolicySync(small, 'uee-ucb', { seeds: 2, firstSeed: 10, resumed: kept });
  assert.equal(r.resumedSeeds, 0);
});
