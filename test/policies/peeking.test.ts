/**
 * No peeking, at every depth: whatever exit a round has reached, in stop() and in end(), every
 * accessor of the first exit not computed throws, and every exit computed reads the trace's value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StudioError } from '../../src/errors.js';
import { replay, syntheticTrace, type LearnedPolicy, type Observation, type Policy } from '../../src/policies/index.js';

const t = syntheticTrace({ samples: 60, exits: 5, classes: 4, seed: 7 });
const K = t.exits.length;
const C = t.classes;

const accessors: [string, (o: Observation, k: number) => number][] = [
  ['pred', (o, k) => o.pred(k)],
  ['maxProb', (o, k) => o.maxProb(k)],
  ['entropy', (o, k) => o.entropy(k)],
  ['margin', (o, k) => o.margin(k)],
  ['prob', (o, k) => o.prob(k, C - 1)],
];

/** Each accessor at exit `beyond` throws naming the depth; each at exits < depth gives the trace's value. */
function check(o: Observation, sample: number, where: string): void {
  const d = o.depth;
  for (const [name, read] of accessors) {
    assert.throws(() => read(o, d), (e: unknown) => e instanceof StudioError && new RegExp(`only exits 1\\.\\.${d} have been computed`).test(e.message), `${where}: ${name}(${d}) at depth ${d}`);
    assert.throws(() => read(o, K - 1 + (d < K ? 0 : 1)), StudioError, `${where}: ${name} of the last exit at depth ${d}`);
  }
  for (let k = 0; k < d; k++) {
    assert.equal(o.pred(k), t.pred[sample * K + k], `${where}: pred(${k})`);
    assert.equal(o.maxProb(k), t.maxProb![sample * K + k], `${where}: maxProb(${k})`);
    assert.equal(o.prob(k, 1), t.probs![(sample * K + k) * C + 1], `${where}: prob(${k}, 1)`);
  }
}

test('a sequential policy that goes on to depth d cannot read exit d+1, in stop() or in end(), for every d', () => {
  const order = Uint32Array.from({ length: t.samples }, (_, i) => i);
  for (let target = 1; target <= K; target++) {
    let round = 0;
    const depths = new Set<number>();
    const p: Policy = {
      name: `to-${target}`,
      begin: () => 0,
      stop: (o) => {
        check(o, order[round]!, `stop, target ${target}`);
        depths.add(o.depth);
        return o.depth >= target;
      },
      end: (o, exit) => {
        assert.equal(o.depth, exit + 1);
        check(o, order[round]!, `end, target ${target}`);
        round++;
      },
      learned: (): LearnedPolicy => ({ kind: 'fixed', exit: 0 }),
    };
    const r = replay(t, p, { seed: 1, order });
    assert.equal(round, t.samples);
    assert.ok(r.exit.every((e) => e === target - 1));
    // stop() was asked at every depth up to the target (never at the last exit: it always exits).
    assert.deepEqual([...depths].sort(), Array.from({ length: Math.min(target, K - 1) }, (_, i) => i + 1));
  }
});

test('an up-front policy that chooses exit j sees exits 1..j+1 in end() and nothing beyond, for every j', () => {
  for (let j = 0; j < K; j++) {
    let rounds = 0;
    const p: Policy = {
      name: `fixed-${j}`,
      begin: () => j,
      stop: () => true,
      end: (o, exit) => {
        assert.equal(exit, j);
        check(o, rounds, `end, exit ${j + 1}`);
        rounds++;
      },
      learned: (): LearnedPolicy => ({ kind: 'fixed', exit: j }),
    };
    replay(t, p, { seed: 1, order: Uint32Array.from({ length: t.samples }, (_, i) => i) });
    assert.equal(rounds, t.samples);
  }
});
