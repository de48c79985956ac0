/**
 * Export = live rule. For every policy whose rule a deployment can apply:
 * learn on one stream, freeze, replay the frozen policy on a fresh
 * evaluation stream, and apply the exported rule (the JSON, through the
 * rule's own decider, as the runtime does) to the same samples in the same
 * order: the two take the same exit on every sample. And the engine's
 * on-rule share says how much of a live stream's last tenth the policy spent
 * on that rule.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learnedPolicySchema } from '../../src/policies/rules/index.js';
import { parsePolicySpec, policyModules, replay, ruleExits, runPolicySync, syntheticTrace, type Policy, type PolicyEnv } from '../../src/policies/index.js';
import { ruleOf } from '../../src/policies/rules/index.js';
import type { Trace } from '../../src/trace/types.js';
import { subTrace } from '../helpers/split.js';

const whole = syntheticTrace({ samples: 6000, exits: 4, classes: 6, seed: 11 });
const fitPart = subTrace(whole, Uint32Array.from({ length: 3000 }, (_, i) => i));
const evalPart = subTrace(whole, Uint32Array.from({ length: 3000 }, (_, i) => 3000 + i));

/** Every policy with a deployable rule, as specs with the values that make it learn something worth checking. */
const CASES: { spec: string; params?: Record<string, number | string | boolean> }[] = [
  { spec: 'uee-ucb' },
  { spec: 'dee' },
  { spec: 'dee', params: { alpha: 0.05, bins: 20 } },
  { spec: 'ceebert' },
  { spec: 'ceebert', params: { update: 'order' } },
  { spec: 'eenet:0.5', params: { epochs: 8 } },
  { spec: 'eenet:0.5', params: { epochs: 8, refine: true, keepEpoch: 'most-accurate' } },
  { spec: 'eenet:0.6', params: { epochs: 5, warmup: 500, refitEvery: 1000 } },
  { spec: 'last' },
  { spec: 'fixed:2' },
  { spec: 'best-fixed' },
  { spec: 'maxprob:0.8' },
  { spec: 'entropy:0.3' },
  { spec: 'patience:2' },
  { spec: 'maxprob@budget:0.5' },
  { spec: 'entropy@budget:0.5' },
  { spec: 'geometric@budget:0.5' },
  { spec: 'risk:0.05' },
  { spec: 'risk:0.1', params: { loss: 'error', test: 'binomial' } },
];

function envFor(t: Trace, seed: number, supervised: boolean): PolicyEnv {
  const lambda = 0.3;
  return { exits: t.exits.length, classes: t.classes, costs: Float64Array.from(t.costs, (c) => c * lambda), lambda, seed, supervised, rounds: t.samples, calibration: t };
}

/** Learns on the fitting part (a fitted policy fits on it at construction; an online one learns from its stream). */
function learnOn(spec: string, params: Record<string, number | string | boolean>, seed: number): { policy: Policy; supervised: boolean } {
  const supervised = params.loss === 'error';
  const parsed = parsePolicySpec(spec, {}, params);
  const policy = parsed.create(envFor(fitPart, seed, supervised), fitPart.costs);
  replay(fitPart, policy, { seed, supervised });
  return { policy, supervised };
}

test('every policy with a deployable rule is in the parity cases (random is the only one without)', () => {
  const covered = new Set(CASES.map((c) => c.spec.split(':')[0]));
  for (const m of policyModules) {
    const deployable = m.learns.some((k) => ruleOf(k).deployable);
    assert.equal(covered.has(m.id), deployable, `${m.id}: ${deployable ? 'deployable but not checked' : 'checked but learns nothing deployable'}`);
  }
});

for (const { spec, params = {} } of CASES) {
  test(`${spec} ${JSON.stringify(params)}: the exported rule takes the frozen policy's exit on every sample of a fresh stream`, () => {
    for (const seed of [1, 2]) {
      const { policy, supervised } = learnOn(spec, params, seed);
      const before = JSON.stringify(policy.learned());
      // The rule as a file holds it: JSON, parsed by the rules' schema.
      const exported = learnedPolicySchema.parse(JSON.parse(before));
      policy.freeze?.();
      const frozen = replay(evalPart, policy, { seed: 100 + seed, supervised });
      assert.equal(JSON.stringify(policy.learned()), before, 'a frozen policy learns nothing more');
      const rule = ruleExits(evalPart, exported, frozen.order);
      let differ = 0;
      for (let t = 0; t < rule.length; t++) if (rule[t] !== frozen.exit[t]) differ++;
      assert.equal(differ, 0, `seed ${seed}: the rule differs from the frozen policy on ${differ} of ${rule.length} samples`);
      // Not a vacuous agreement: the rule uses more than one exit on this stream (the fixed ones aside).
      if (exported.kind !== 'fixed') assert.ok(new Set(rule).size > 1, `${spec} exits at ${[...new Set(rule)].join(', ')} only`);
    }
  });
}

test('DEE: where a higher confidence bin continues and a lower one exits, the exported rule does so too (hand-worked)', () => {
  // Two exits, two classes: bins of 0.125 over [0.5, 1]. lambda C = 0.05 / 0.1.
  // Type A: 0.6 at exit 1 (bin 0), 0.6 at exit 2: continuing is worth 0.6 - 0.1 = 0.5, so the greedy rule
  // exits from bin 0 at 0.5 + 0.05 = 0.55. Type B: 0.7 (bin 1), then 1.0: continuing is worth 0.9, the
  // threshold 0.95 is above bin 1's range, so it keeps going there. A single threshold per exit (0.55, from
  // the lowest bin that exits) would send B out at exit 1.
  const n = 40;
  const conf = Float32Array.from({ length: n * 2 }, (_, i) => ((i >> 1) % 2 === 0 ? 0.6 : i % 2 === 0 ? 0.7 : 1));
  const t: Trace = {
    samples: n,
    exits: [{ name: 'e1' }, { name: 'e2' }],
    classes: 2,
    costs: Float64Array.of(0.5, 1),
    costSource: 'user',
    pred: new Int32Array(n * 2),
    maxProb: conf,
    entropy: new Float32Array(n * 2),
  };
  const env: PolicyEnv = { exits: 2, classes: 2, costs: Float64Array.of(0.05, 0.1), lambda: 0.1, seed: 1, supervised: false, rounds: n, calibration: t };
  const dee = parsePolicySpec('dee', {}, { alpha: 0, bins: 4 }).create(env, t.costs);
  replay(t, dee, { seed: 1 });
  dee.freeze?.();
  const l = learnedPolicySchema.parse(JSON.parse(JSON.stringify(dee.learned())));
  assert.equal(l.kind, 'binned');
  if (l.kind !== 'binned') return;
  assert.equal(l.thresholds.length, 1);
  const row = l.thresholds[0]!;
  assert.ok(Math.abs(row[0]! - 0.55) < 1e-6 && Math.abs(row[1]! - 0.95) < 1e-6 && row[2] === null && row[3] === null, JSON.stringify(row));
  const rows = Uint32Array.from({ length: n }, (_, i) => i);
  const frozen = replay(t, dee, { seed: 2, order: rows });
  assert.deepEqual(Array.from(frozen.exit), Array.from(rows, (s) => (s % 2 === 0 ? 0 : 1)), 'type A exits at exit 1, type B goes on');
  assert.deepEqual(Array.from(ruleExits(t, l, rows)), Array.from(frozen.exit));
});

test('the on-rule share: 1 for a rule that never explores, below 1 while a bandit still explores, null for a random exit', () => {
  const r = (spec: string, params = {}) => runPolicySync(whole, spec, { seeds: 3, lambda: 0.3, params }).summary.onRule;
  assert.deepEqual(r('maxprob@budget:0.5')?.perSeed, [1, 1, 1]);
  assert.equal(r('random'), null);
  const exploring = r('dee', { alpha: 50 })!;
  const settled = r('dee', { alpha: 0.01 })!;
  assert.ok(exploring.mean < 0.8, `DEE with alpha 50: ${exploring.mean}`);
  assert.ok(settled.mean > exploring.mean + 0.1, `DEE alpha 0.01 ${settled.mean} vs alpha 50 ${exploring.mean}`);
  // EENet refitting in a stream explores about 5 % of the rounds (to the last exit), so it is off its rule on some of them.
  const eenet = r('eenet:0.6', { warmup: 500, refitEvery: 3000, epochs: 5 })!;
  assert.ok(eenet.mean < 1 && eenet.mean > 0.9, `EENet ${eenet.mean}`);
});
