/**
 * How a figure is obtained: held-out splits are seeded and disjoint, fitted
 * policies fit on the calibration data only, every policy replays the same
 * evaluation stream, regret is measured on the samples scored, and a policy
 * that learns from its stream alone never reads the calibration data.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StudioError } from '../../src/errors.js';
import { bestFixedExit } from '../../src/policies/best-fixed.js';
import { calibrationFor, defaultEvaluation, evaluationOf, heldOutSizes, heldOutSplit } from '../../src/policies/evaluation.js';
import { calibrateThreshold, errorRates, replay, runPolicySync, syntheticTrace } from '../../src/policies/index.js';
import { policyModules } from '../../src/policies/registry.js';
import { parsePolicySpec } from '../../src/policies/spec.js';
import type { PolicyEnv } from '../../src/policies/types.js';
import { subsetTrace } from '../../src/trace/subset.js';
import type { Trace } from '../../src/trace/types.js';

const trace: Trace = syntheticTrace({ samples: 3001, exits: 4, classes: 10, seed: 11 });

test('held-out splits are seeded, disjoint and cover the trace; the evaluation share is --holdout', () => {
  const a = heldOutSplit(trace.samples, 0.5, 3);
  const b = heldOutSplit(trace.samples, 0.5, 3);
  const c = heldOutSplit(trace.samples, 0.5, 4);
  assert.deepEqual(a, b, 'the same seed splits the same way');
  assert.notDeepEqual(Array.from(a.calibration), Array.from(c.calibration), 'another seed splits another way');
  assert.equal(a.evaluation.length, 1501);
  assert.equal(a.calibration.length, 1500);
  const seen = new Uint8Array(trace.samples);
  for (const s of a.calibration) seen[s]! += 1;
  for (const s of a.evaluation) seen[s]! += 2;
  assert.ok(seen.every((v) => v === 1 || v === 2), 'every sample is in exactly one part');
  for (let i = 1; i < a.calibration.length; i++) assert.ok(a.calibration[i]! > a.calibration[i - 1]!, 'the calibration part is in trace order');
  assert.deepEqual(heldOutSizes(1000, 0.2), { calibration: 800, evaluation: 200 });
  assert.throws(() => heldOutSizes(1, 0.5), /leaves the (evaluation|calibration) part empty/);
  assert.throws(() => heldOutSizes(100, 1), /between 0 and 1/);
});

test('a run holding a fitted policy is held out by default; online policies alone are in-sample', () => {
  const spec = (s: string) => parsePolicySpec(s);
  assert.deepEqual(defaultEvaluation([spec('uee-ucb'), spec('maxprob@budget:0.5')]), { mode: 'held-out', holdout: 0.5 });
  assert.deepEqual(defaultEvaluation([spec('uee-ucb'), spec('dee'), spec('fixed:2')]), { mode: 'in-sample' });
  // EENet with a warm-up reads no calibration data, but is a fitted policy: still held out.
  assert.equal(defaultEvaluation([spec('eenet:0.5')]).mode, 'held-out');
  assert.equal(runPolicySync(trace, 'best-fixed', { seeds: 1 }).evaluation.mode, 'held-out');
  assert.deepEqual(runPolicySync(trace, 'uee-ucb', { seeds: 1 }).evaluation, { mode: 'in-sample', calibrationSamples: 3001, evaluationSamples: 3001 });
});

test('held-out: fitted policies fit on the calibration part, every policy scores the same evaluation part', () => {
  const plan = { mode: 'held-out', holdout: 0.4 } as const;
  const seeds = 3;
  const best = runPolicySync(trace, 'best-fixed', { seeds, evaluation: plan, lambda: 0.3 });
  const mp = runPolicySync(trace, 'maxprob@budget:0.5', { seeds, evaluation: plan });
  const last = runPolicySync(trace, 'last', { seeds, evaluation: plan });
  assert.deepEqual(best.evaluation, evaluationOf(plan, trace.samples));
  assert.deepEqual(best.evaluation, { mode: 'held-out', calibrationSamples: 1801, evaluationSamples: 1200 });
  for (let i = 0; i < seeds; i++) {
    const split = heldOutSplit(trace.samples, 0.4, i + 1);
    const cal = subsetTrace(trace, split.calibration);
    const scaled = Float64Array.from(trace.costs, (c) => 0.3 * c);
    assert.deepEqual(best.learnedPerSeed[i], { kind: 'fixed', exit: bestFixedExit(errorRates(trace, true, split.calibration), scaled) });
    const T = calibrateThreshold(cal, 'maxProb', 0.5, trace.costs);
    assert.equal((mp.learnedPerSeed[i] as { thresholds: number[] }).thresholds[0], T);
    // The last exit's accuracy over the seed's evaluation part: the stream every policy of the run replays.
    const err = errorRates(trace, true, split.evaluation);
    assert.ok(Math.abs(last.summary.accuracy!.perSeed[i]! - (1 - err[3]!)) < 1e-12);
  }
});

test("held-out: regret is measured against the best fixed exit of the samples scored, not the whole trace's", () => {
  const plan = { mode: 'held-out', holdout: 0.5 } as const;
  const r = runPolicySync(trace, 'fixed:2', { seeds: 2, evaluation: plan, lambda: 0.5 });
  const scaled = Float64Array.from(trace.costs, (c) => 0.5 * c);
  for (let i = 0; i < 2; i++) {
    const split = heldOutSplit(trace.samples, 0.5, i + 1);
    const err = errorRates(trace, true, split.evaluation);
    const k = bestFixedExit(err, scaled);
    const want = split.evaluation.length * (err[1]! + scaled[1]! - err[k]! - scaled[k]!);
    assert.ok(Math.abs(r.summary.cumRegret.perSeed[i]! - want) < 1e-9, `seed ${i + 1}: ${r.summary.cumRegret.perSeed[i]} vs ${want}`);
  }
  // DEE's comparator too: its regret over the evaluation part only, finite and on its own samples.
  const d = runPolicySync(trace, 'dee', { seeds: 1, evaluation: plan });
  assert.equal(d.series.rounds.at(-1), 1501);
  assert.ok(Number.isFinite(d.summary.cumRegret.mean));
});

test('cross-trace: fitted on the other trace, scored on the whole of this one; a trace of other exits is refused', () => {
  const other = syntheticTrace({ samples: 2000, exits: 4, classes: 10, seed: 12 });
  const r = runPolicySync(trace, 'maxprob@budget:0.5', { seeds: 2, evaluation: { mode: 'cross-trace', calibration: other, traceId: 7 } });
  assert.deepEqual(r.evaluation, { mode: 'cross-trace', calibrationSamples: 2000, evaluationSamples: 3001, calibrationTrace: 7 });
  const T = calibrateThreshold(other, 'maxProb', 0.5, trace.costs);
  for (const l of r.learnedPerSeed) assert.equal((l as { thresholds: number[] }).thresholds[0], T);
  const three = syntheticTrace({ samples: 100, exits: 3, classes: 10, seed: 1 });
  assert.throws(
    () => runPolicySync(trace, 'maxprob@budget:0.5', { seeds: 1, evaluation: { mode: 'cross-trace', calibration: three, traceId: 9 } }),
    /calibration trace 9 has 3 exits and 10 classes; the trace evaluated has 4 and 10/,
  );
  const { labels: _l, ...unlabelled } = other;
  assert.throws(() => runPolicySync(trace, 'best-fixed', { seeds: 1, evaluation: { mode: 'cross-trace', calibration: unlabelled } }), /the calibration trace: best-fixed needs labels/);
});

/** A policy env whose calibration data throws when read. */
function guardedEnv(t: Trace): PolicyEnv {
  return {
    exits: t.exits.length,
    classes: t.classes,
    costs: t.costs,
    lambda: 1,
    seed: 1,
    supervised: true,
    rounds: t.samples,
    get calibration(): Trace {
      throw new Error('calibration data read');
    },
  };
}

test('policies that learn from their stream alone never read calibration data (an env that throws on access)', () => {
  const labelled = { ...trace };
  let checked = 0;
  for (const m of policyModules) {
    const example = m.arg ? `${m.id}:${m.id === 'fixed' ? 2 : m.id === 'patience' ? 2 : 0.6}` : m.id;
    const p = parsePolicySpec(example, m.id === 'eenet' ? { warmup: 200, refitEvery: 500, epochs: 2 } : {});
    if (p.usesHindsight) {
      // The test can fail: a policy that reads it throws.
      assert.throws(() => replay(labelled, p.create(guardedEnv(labelled), labelled.costs), { seed: 1, supervised: true }), /calibration data read/, p.spec);
      continue;
    }
    replay(labelled, p.create(guardedEnv(labelled), labelled.costs), { seed: 1, supervised: true });
    checked++;
  }
  assert.ok(checked >= 9, `${checked} online and baseline policies replayed`);
});

test('the engine hands a policy that says it reads no calibration data a value that throws', () => {
  const read = (): Trace => trace;
  assert.equal(calibrationFor('maxprob@budget:0.5', true, read)(), trace);
  assert.throws(() => calibrationFor('dee', false, read)(), (e: unknown) => e instanceof StudioError && /policy dee read calibration data/.test(e.message));
});
