/** The pure modules behind the Svelte views: routes, formatting, chart series, best-per-metric, Pareto front, the policy form. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { duration, numStat, parseIntList, parseNumberList, pct, pctStat, si } from '../../renderer/src/lib/format.js';
import { parseRoute, routeHash } from '../../renderer/src/lib/route.js';
import {
  band, bestPerMetric, describeLearned, meanOf, riskRealised, groupBy, paddedRange, paretoFront, points, quality, regretReference, regretScale, runningRange, runRow, stackedShares, trainingCurves,
} from '../../renderer/src/lib/series.js';
import { formValues, initialValues, policyEntry, policyFields, readField } from '../../renderer/src/lib/policy-form.js';
import { choiceOf, costsDetail, costsKey, costsSource, costsValues } from '../../renderer/src/lib/costs.js';
import { evaluationChoiceOf, evaluationDetail, evaluationLabel, evaluationPayload, evaluationSamples } from '../../renderer/src/lib/evaluation.js';
import { policyHead, policyStyle, runStyles } from '../../renderer/src/lib/policy-style.js';
import type { LearnedPolicy, RunRecord } from '../../renderer/src/lib/types.js';
import type { RiskGuarantee } from '../../src/policies/rules/index.js';
import { describePolicies } from '../../src/policies/registry.js';
import { parsePolicySpec } from '../../src/policies/spec.js';

describe('routes', () => {
  test('parse and build round-trip', () => {
    for (const r of [{ screen: 'home' as const }, { screen: 'lab' as const, id: 3 }, { screen: 'compare' as const, ids: [4, 2, 9] }, { screen: 'export' as const, id: 12 }]) {
      assert.deepEqual(parseRoute(routeHash(r)), r);
    }
  });

  test('junk falls back to home; bad ids are dropped; repeated ids once', () => {
    assert.deepEqual(parseRoute(''), { screen: 'home' });
    assert.deepEqual(parseRoute('#/nowhere/3'), { screen: 'home' });
    assert.deepEqual(parseRoute('#/trace/abc'), { screen: 'trace' });
    assert.deepEqual(parseRoute('#/trace/-1'), { screen: 'trace' });
    assert.deepEqual(parseRoute('#/compare?ids=1,x,1,0,2'), { screen: 'compare', ids: [1, 2] });
  });
});

describe('formatting', () => {
  test('missing numbers show as a dash', () => {
    assert.equal(pct(null), '—');
    assert.equal(pct(NaN), '—');
    assert.equal(pct(0.9123), '91.2 %');
    assert.equal(si(1_234_567), '1.23 M');
    assert.equal(duration(75), '1 min 15 s');
    assert.equal(duration(0.25), '250 ms');
  });

  test('stats with and without an interval', () => {
    assert.equal(pctStat({ mean: 0.5, ci95: 0.01 }), '50.0 % ± 1.0');
    assert.equal(pctStat(0.5), '50.0 %');
    assert.equal(numStat({ mean: 1.5, ci95: 0 }), '1.500');
    assert.equal(numStat({ mean: null, ci95: 1 }), '—');
  });

  test('lists typed by the user', () => {
    assert.deepEqual(parseNumberList('0.1, 1/4 ,1'), [0.1, 0.25, 1]);
    assert.equal(parseNumberList('0.1, x'), undefined);
    assert.deepEqual(parseIntList('1 2,3'), [1, 2, 3]);
    assert.equal(parseIntList('1.5'), undefined);
  });
});

describe('chart series', () => {
  test('points skip gaps (NaN came over JSON as null)', () => {
    assert.deepEqual(points([1, 2, 3], [0.5, null, 0.7]), [{ x: 1, y: 0.5 }, { x: 3, y: 0.7 }]);
    assert.deepEqual(points([1, 2], undefined), []);
  });

  test('bands are the lower and upper lines', () => {
    const b = band([10, 20], { mean: [1, 2], lo: [0.5, 1.5], hi: [1.5, 2.5] });
    assert.deepEqual(b.lo, [{ x: 10, y: 0.5 }, { x: 20, y: 1.5 }]);
    assert.deepEqual(b.hi, [{ x: 10, y: 1.5 }, { x: 20, y: 2.5 }]);
  });

  test('the exit mix stacks to one', () => {
    const share = (mean: number[]) => ({ mean, lo: mean, hi: mean });
    const layers = stackedShares({ rounds: [1, 2], exitShare: [share([1, 0.5]), share([0, 0.25]), share([0, 0.25])] });
    assert.deepEqual(layers.map((l) => l.map((p) => p.y)), [[1, 0.5], [1, 0.75], [1, 1]]);
  });
});

describe('tables', () => {
  const run = (id: number, summary: Record<string, unknown>): RunRecord => ({ id, name: `r${id}`, traceId: 1, policy: 'p', seeds: [1, 2], summary, learned: null, tags: [], createdAt: '2026-01-01T00:00:00Z' });

  test('best per metric: higher accuracy and agreement, lower cost and regret; ties all marked', () => {
    const rows = [
      run(1, { accuracy: { mean: 0.9, ci95: 0 }, agreement: 0.95, avgCost: 0.5, cumRegret: 10 }),
      run(2, { accuracy: { mean: 0.8, ci95: 0 }, agreement: 0.95, avgCost: 0.3, cumRegret: 20 }),
      run(3, { accuracy: null, agreement: 0.9, avgCost: 0.3, cumRegret: 30 }),
    ];
    const best = bestPerMetric(rows);
    assert.deepEqual([...best.accuracy!], [0]);
    assert.deepEqual([...best.agreement!].sort(), [0, 1]);
    assert.deepEqual([...best.avgCost!].sort(), [1, 2]);
    assert.deepEqual([...best.cumRegret!], [0]);
  });

  test('regret is ranked only among runs on one scale', () => {
    const rows = [
      { summary: { agreement: 0.9, cumRegret: 10 }, regretScale: 'a' },
      { summary: { agreement: 0.8, cumRegret: 5 }, regretScale: 'a' },
    ];
    assert.deepEqual([...bestPerMetric(rows).cumRegret!], [1]);
    const mixed = [...rows, { summary: { agreement: 0.7, cumRegret: 1 }, regretScale: 'b' }];
    const best = bestPerMetric(mixed);
    assert.equal(best.cumRegret, undefined);
    assert.deepEqual([...best.agreement!], [0]);
  });

  test("a run's regret scale: trace, lambda, costs and reference (DEE apart, every other kind together)", () => {
    const base = { traceId: 1, config: { lambda: 0.3, costs: [0.5, 1], costSource: 'macs' as const, params: {} }, summary: { regretKind: 'fixed-exit' } };
    assert.equal(regretScale(base), regretScale({ ...base, summary: { regretKind: 'contextual' } }));
    assert.notEqual(regretScale(base), regretScale({ ...base, summary: { regretKind: 'dee' } }));
    assert.notEqual(regretScale(base), regretScale({ ...base, traceId: 2 }));
    assert.notEqual(regretScale(base), regretScale({ ...base, config: { ...base.config, lambda: 1 } }));
    assert.notEqual(regretScale(base), regretScale({ ...base, config: { ...base.config, costs: [0.4, 1] } }));
    assert.equal(regretReference('dee'), 'dee');
    assert.equal(regretReference(undefined), 'fixed-exit');
    assert.deepEqual(groupBy([1, 2, 3, 4, 5], (x) => String(x % 2)), [[1, 3, 5], [2, 4]]);
  });

  test('one run has no best; a metric nobody has is left out', () => {
    assert.deepEqual(bestPerMetric([run(1, { accuracy: 0.5 })]), {});
    assert.equal(bestPerMetric([run(1, { agreement: 0.5 }), run(2, { agreement: 0.6 })]).accuracy, undefined);
  });

  test('rows read Stats and plain numbers alike; quality falls back to agreement without labels', () => {
    const r = runRow(run(7, { accuracy: { mean: 0.7 }, agreement: 0.8, avgCost: { mean: 0.25, ci95: 0.01 } }));
    assert.equal(r.accuracy, 0.7);
    assert.equal(r.avgCost, 0.25);
    assert.equal(r.seeds, 2);
    assert.deepEqual(quality({ accuracy: null, agreement: { mean: 0.6 } }), { value: 0.6, kind: 'agreement' });
    assert.equal(meanOf({ mean: null }), null);
  });
});

describe('Pareto front', () => {
  test('cheapest first, only points nothing beats on both', () => {
    const pts = [
      { x: 1, y: 0.9 },
      { x: 0.2, y: 0.7 },
      { x: 0.5, y: 0.65 },
      { x: 0.6, y: 0.85 },
      { x: 0.6, y: 0.8 },
      { x: 1, y: 0.9 },
    ];
    assert.deepEqual(paretoFront(pts), [1, 3, 0]);
    assert.deepEqual(paretoFront([]), []);
  });
});

describe('policies', () => {
  test('the lab form is generated from the catalog: argument first, types and bounds from the JSON Schema', () => {
    const byId = new Map(describePolicies().map((d) => [d.id, d]));
    const fixedForm = policyFields(byId.get('fixed')!);
    assert.equal(fixedForm.arg?.name, 'exit');
    assert.equal(fixedForm.arg?.step, 1, 'a whole number steps by one');
    assert.equal(fixedForm.arg?.min, 1);
    assert.equal(fixedForm.arg?.initial, 1, "the schema's example");
    const deeForm = policyFields(byId.get('dee')!);
    assert.equal(deeForm.arg, undefined);
    assert.deepEqual(deeForm.rest.map((f) => [f.name, f.control, f.step, f.initial]), [['alpha', 'number', 'any', 1], ['bins', 'number', 1, 10]]);
    const cee = policyFields(byId.get('ceebert')!).rest.find((f) => f.name === 'update')!;
    assert.equal(cee.control, 'select');
    assert.deepEqual(cee.options, ['lower', 'order', 'chosen']);
    assert.equal(cee.initial, 'lower');
    const eenetForm = policyFields(byId.get('eenet')!);
    assert.equal(eenetForm.arg?.name, 'budget');
    assert.deepEqual(eenetForm.rest.map((f) => f.name), ['warmup', 'refitEvery', 'explore', 'epochs', 'hidden', 'lr', 'beta', 'refine', 'keepEpoch']);
    assert.equal(eenetForm.arg?.max, 1);
    assert.equal(eenetForm.arg?.initial, undefined, 'a budget starts blank: it follows the run\'s costs');
  });

  test("every policy's form, as it starts, is a request the engine accepts; blanks are left to the defaults", () => {
    // Exit 1 at 73 % of the model: a budget of 0.5 (the example) would be refused; the blank one follows the costs.
    const costs = [0.7283, 0.9, 1];
    for (const d of describePolicies()) {
      const entry = policyEntry(d, initialValues(d));
      assert.equal(entry.policy, d.id);
      const budgeted = d.arg === 'budget';
      assert.equal(parsePolicySpec(entry.policy, {}, entry.params, costs).spec, budgeted ? `${d.id}:0.86` : d.example, d.id);
    }
    const dee = describePolicies().find((d) => d.id === 'dee')!;
    const f = policyFields(dee).rest[1]!;
    assert.equal(readField(f, ''), undefined);
    assert.equal(readField(f, '12'), 12);
    assert.deepEqual(policyEntry(dee, { alpha: 0.1, bins: undefined }), { policy: 'dee', params: { alpha: 0.1 } });
  });

  test('a saved run\'s values fill the form: the policy\'s own fields only', () => {
    const eenet = describePolicies().find((d) => d.id === 'eenet')!;
    assert.deepEqual(formValues(eenet, { budget: 0.59, epochs: 5, alpha: 3, nonsense: {} }), { budget: 0.59, epochs: 5 });
  });

  test('what a policy learned, in one line', () => {
    assert.equal(describeLearned({ kind: 'fixed', exit: 1 }, ['a', 'b']), 'always exits at b');
    assert.match(describeLearned({ kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0.9, null, 0] }), /maxProb ≥ 0.9, —, 0/);
    assert.match(describeLearned({ kind: 'eenet', model: { classes: 2, hidden: 1, exits: [] }, thresholds: [0.5, 0] }), /EENet.*0\.5, 0/);
    assert.equal(describeLearned({ kind: 'fixed', exit: 0, exitName: 'early' }), 'always exits at early');
    assert.match(describeLearned({ kind: 'thresholds', measure: 'entropy', direction: 'below', thresholds: [0.25, 0] }), /entropy ≤ 0.25/);
    assert.equal(describeLearned({ kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0.8, 0.8, 0], threshold: 0.8 }), 'maxProb ≥ 0.8, one threshold shared by every exit but the last');
    assert.equal(describeLearned(null), '—');
    // DEE's per-bin rule: per exit, how many bins can exit (a threshold within the bin's range).
    assert.equal(
      describeLearned({ kind: 'binned', measure: 'maxProb', classes: 2, bins: 4, thresholds: [[0.55, 0.95, null, 0.9], [null, null, null, null]] }, ['a', 'b', 'c']),
      'maxProb ≥ a threshold per exit and confidence bin; exits a: 2, b: 0 of 4 bins (the last always exits)',
    );
  });

  test('a risk-controlled run: the risk it realised against epsilon, and what the guarantee says', () => {
    const guarantee: RiskGuarantee = { kind: 'risk', statement: 'disagreement with the last exit <= 0.05 with probability >= 0.9 over the draw of the 5000 calibration samples', method: 'learn-then-test', test: 'hoeffding-bentkus', risk: 'disagreement', epsilon: 0.05, delta: 0.1, n: 5000, losses: 220, empiricalRisk: 0.044, upperBound: 0.0497 };
    const learned: LearnedPolicy = { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0.6, 0], threshold: 0.6, guarantee };
    assert.equal(
      riskRealised({ agreement: { mean: 0.953, ci95: 0.002 } }, learned),
      'realised disagreement with the last exit 4.70 % ± 0.20 against ε 5.00 % (guaranteed with probability ≥ 90.00 % from n = 5,000 calibration samples; hoeffding-bentkus bound 4.97 %)',
    );
    const error: LearnedPolicy = { ...learned, guarantee: { ...guarantee, risk: 'error' } };
    assert.match(riskRealised({ agreement: { mean: 0.9 }, extraError: { mean: 0.012, ci95: null } }, error) ?? '', /^realised errors the last exit does not make 1\.20 % against ε 5\.00 %/);
    assert.equal(riskRealised({ agreement: { mean: 0.9 } }, error), null, 'no labels, no realised error');
    assert.equal(riskRealised({ agreement: { mean: 0.9 } }, { ...learned, guarantee: undefined }), null);
    assert.equal(describeLearned({ kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [null, 0], guarantee }), 'always the last exit: no threshold passed the risk test');
  });

  test("EENet's training curve is the first fit's epochs; no fits, no curve", () => {
    const epoch = (e: number, loss: number) => ({ epoch: e, loss, bce: loss, kl: 0, costTerm: 0, cost: 0.5, accuracy: 0.8, shareCost: 0.5, shareAccuracy: 0.8 });
    const fits = [
      { seed: 1, budget: 0.5, target: 'labels', history: [epoch(0, 1), epoch(1, 0.5)] },
      { seed: 2, budget: 0.5, target: 'labels', history: [epoch(0, 9)] },
    ];
    assert.deepEqual(trainingCurves(fits).map((e) => e.loss), [1, 0.5]);
    assert.deepEqual(trainingCurves(null), []);
    assert.deepEqual(trainingCurves([]), []);
  });
});

describe('costs as the views say them', () => {
  const macs = { costs: [0.1733, 0.5, 1], costSource: 'macs' as const, rawCosts: [1108736, 3200000, 6398336], macs: { source: ['static' as const, 'probed' as const, 'static' as const] } };

  test('where they came from: exact or estimated MACs, assumed equal steps, your numbers', () => {
    assert.equal(costsSource(macs), 'MACs (exact, partly from one run)');
    assert.equal(costsSource({ ...macs, macs: { source: ['static', 'estimate', 'static'] } }), 'MACs (some estimated)');
    assert.equal(costsSource({ ...macs, macs: { source: [null, null, null] } }), 'MACs');
    assert.equal(costsSource({ costSource: 'uniform', costsAssumed: true }), 'equal steps (assumed: none given)');
    assert.equal(costsSource({ costSource: 'uniform' }), 'equal steps');
    assert.equal(costsSource({ costSource: 'user' }), 'your numbers');
    assert.equal(costsValues(macs), '0.173 · 0.5 · 1');
    assert.equal(costsDetail(macs, ['a', 'b', 'c']).split('\n')[0], 'a: 0.1733 (1,108,736 MACs, exact)');
  });

  test("a saved run's costs reopen as the choice that gives them again", () => {
    const trace = { costs: [0.1733, 0.5, 1], costSource: 'macs' as const };
    assert.deepEqual(choiceOf(macs, trace), { choice: 'trace', numbers: '' });
    assert.deepEqual(choiceOf({ costs: [0.5, 1], costSource: 'latency', rawCosts: [2, 4] }, trace), { choice: 'latency', numbers: '' });
    assert.deepEqual(choiceOf({ costs: [1 / 12, 3 / 12, 1], costSource: 'user', rawCosts: [1, 3, 12] }, trace), { choice: 'numbers', numbers: '1, 3, 12' });
    assert.notEqual(costsKey({ costs: [0.5, 1] }), costsKey({ costs: [0.4, 1] }));
    assert.equal(costsKey({ costs: [1 / 3, 1] }), costsKey({ costs: [0.3333333333, 1] }));
  });
});

describe('one colour per policy', () => {
  const ids = describePolicies().map((d) => d.id);

  test('a policy keeps its colour whatever else is drawn, and its argument does not change it', () => {
    assert.equal(policyHead('EENet:0.59'), 'eenet');
    assert.deepEqual(policyStyle('eenet:0.59', ids), policyStyle('eenet', ids));
    const alone = runStyles(['dee'], ids)[0];
    const among = runStyles(['uee-ucb', 'eenet:0.5', 'dee'], ids)[2];
    assert.deepEqual(alone, among);
    assert.notEqual(policyStyle('uee-ucb', ids).colorIndex, policyStyle('dee', ids).colorIndex);
  });

  test('two runs of one policy on a chart stay apart; past the palette, colours repeat dashed', () => {
    const [a, b] = runStyles(['eenet:0.5', 'eenet:0.7'], ids);
    assert.equal(a!.colorIndex, b!.colorIndex);
    assert.notEqual(a!.dashed, b!.dashed);
    const twelfth = policyStyle(ids[11]!, ids);
    assert.deepEqual(twelfth, { colorIndex: 1, dashed: true });
    assert.notDeepEqual(twelfth, policyStyle(ids[1]!, ids));
  });
});

describe('share axes zoom to the data', () => {
  test('padded range within [0, 1]', () => {
    assert.deepEqual(paddedRange([0.81, 0.9086, null]), { min: 0.8, max: 0.919 });
    assert.deepEqual(paddedRange([0.999, 1]), { min: 0.994, max: 1 });
    assert.equal(paddedRange([null]), undefined);
  });

  test('running values leave out the first rounds, where a running accuracy is still 0 or 1', () => {
    const pts = [{ x: 1, y: 0 }, { x: 2, y: 1 }, { x: 100, y: 0.88 }, { x: 1000, y: 0.9 }];
    const r = runningRange([{ points: pts, band: { lo: [{ x: 1000, y: 0.89 }], hi: [{ x: 1000, y: 0.91 }] } }])!;
    assert.ok(r.min > 0.85 && r.min < 0.88 && r.max > 0.91 && r.max < 0.95, JSON.stringify(r));
  });
});

describe('evaluation modes in the views', () => {
  const held = { mode: 'held-out' as const, calibrationSamples: 5000, evaluationSamples: 5000 };
  const whole = { mode: 'in-sample' as const, calibrationSamples: 10000, evaluationSamples: 10000 };

  test('labels say how a figure was obtained, and mark a fitted policy scored in-sample as hindsight', () => {
    assert.equal(evaluationLabel(held), 'held-out · 5,000 of 10,000 samples');
    assert.equal(evaluationLabel({ mode: 'cross-trace', calibrationSamples: 5000, evaluationSamples: 5000, calibrationTrace: 3 }), 'cross-trace · fitted on trace #3');
    assert.equal(evaluationLabel(whole), 'in-sample');
    assert.equal(evaluationLabel(whole, true), 'in-sample (hindsight)');
    assert.equal(evaluationLabel(held, true), 'held-out · 5,000 of 10,000 samples', 'held out, a fitted policy is not hindsight');
    assert.match(evaluationDetail(whole, true), /hindsight/);
  });

  test('Compare ranks nothing across runs scored on different samples', () => {
    const key = (traceId: number, evaluation: typeof held | typeof whole, seeds = [1, 2, 3]) => evaluationSamples({ traceId, seeds, evaluation });
    assert.equal(key(1, held), key(1, held));
    assert.notEqual(key(1, held), key(1, held, [4, 5, 6]), 'other seeds split otherwise');
    assert.notEqual(key(1, held), key(1, whole));
    assert.equal(key(1, whole), key(1, whole, [9]), 'in-sample: the whole trace, whatever the seeds');
    const rows = [
      { summary: { agreement: 0.9, avgCost: 0.5 }, samples: key(1, held) },
      { summary: { agreement: 0.8, avgCost: 0.4 }, samples: key(1, held) },
    ];
    assert.deepEqual([...bestPerMetric(rows).agreement!], [0]);
    assert.deepEqual(bestPerMetric([...rows, { summary: { agreement: 0.95, avgCost: 0.3 }, samples: key(1, whole) }]), {});
  });

  test("the lab's evaluation choice becomes policy.run's field, or says what is missing", () => {
    assert.equal(evaluationPayload({ mode: 'auto' }), undefined);
    assert.deepEqual(evaluationPayload({ mode: 'held-out', holdout: 0.3 }), { mode: 'held-out', holdout: 0.3 });
    assert.deepEqual(evaluationPayload({ mode: 'cross-trace', traceId: 4 }), { mode: 'cross-trace', traceId: 4 });
    assert.deepEqual(evaluationPayload({ mode: 'in-sample' }), { mode: 'in-sample' });
    assert.throws(() => evaluationPayload({ mode: 'held-out', holdout: 1 }), /between 0 and 1/);
    assert.throws(() => evaluationPayload({ mode: 'cross-trace', traceId: null }), /Choose the trace to fit on/);
  });

  test('a reopened run is evaluated again as it was', () => {
    assert.deepEqual(evaluationChoiceOf(held), { mode: 'held-out', holdout: 0.5 });
    assert.deepEqual(evaluationChoiceOf({ mode: 'held-out', calibrationSamples: 7000, evaluationSamples: 3000 }), { mode: 'held-out', holdout: 0.3 });
    assert.deepEqual(evaluationChoiceOf(whole), { mode: 'in-sample' });
    assert.deepEqual(evaluationChoiceOf({ mode: 'cross-trace', calibrationSamples: 5000, evaluationSamples: 5000, calibrationTrace: 3 }), { mode: 'cross-trace', traceId: 3 });
  });
});
