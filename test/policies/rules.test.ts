/**
 * Decision rules: exit-policy files written before the rules were their own
 * modules (format version 1) still parse and decide as they did, and the
 * exporter refuses a learned rule that would not apply to its trace's exits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPolicyFile } from '../../src/export/policy-file.js';
import { policyFileSchema } from '../../src/export/policy-file-schema.js';
import { learnedPolicySchema, makeDecider, type ExitView } from '../../src/policies/rules/index.js';
import type { RunSummary } from '../../src/policies/metrics.js';
import type { CompleteRun } from '../../src/store/runs.js';
import type { TraceMeta } from '../../src/trace/types.js';

const exits = [{ name: 'e1', classes: 3 }, { name: 'e2', classes: 3 }, { name: 'e3', classes: 3 }];
const view = (maxProb: number, entropy: number, pred = 0): ExitView => ({ probs: Float32Array.from([maxProb, (1 - maxProb) / 2, (1 - maxProb) / 2]), pred, maxProb, entropy });

/** Where each of these samples exits under a rule (0-based), given its views at exits 1 and 2. */
function exitsOf(decision: unknown, samples: ExitView[][]): number[] {
  const d = makeDecider(learnedPolicySchema.parse(decision), exits);
  d.reset(samples.length);
  return samples.map((views, s) => {
    for (let k = 0; k < exits.length - 1; k++) if (d.stop(k, s, views[k]!)) return k;
    return exits.length - 1;
  });
}

const samples = [
  [view(0.95, 0.1, 2), view(0.99, 0.05, 2)],
  [view(0.6, 0.7, 1), view(0.85, 0.3, 1)],
  [view(0.4, 0.9, 0), view(0.5, 0.8, 1)],
];

test('version-1 decisions, as files hold them, decide as they did', () => {
  // JSON as the exporter wrote it before decision rules were modules (docs/formats.md, version 1).
  assert.deepEqual(exitsOf(JSON.parse('{"kind":"fixed","exit":1,"counts":[10,8,2]}'), samples), [1, 1, 1]);
  assert.deepEqual(exitsOf(JSON.parse('{"kind":"fixed","exit":0,"exitName":"e3"}'), samples), [2, 2, 2], 'by name when named');
  assert.deepEqual(exitsOf(JSON.parse('{"kind":"thresholds","measure":"maxProb","direction":"above","thresholds":[0.9,0.8,0]}'), samples), [0, 1, 2]);
  assert.deepEqual(exitsOf(JSON.parse('{"kind":"thresholds","measure":"maxProb","direction":"above","thresholds":[null,0.8,0]}'), samples), [1, 1, 2]);
  assert.deepEqual(exitsOf(JSON.parse('{"kind":"thresholds","measure":"entropy","direction":"below","thresholds":[0.2,0.35,1]}'), samples), [0, 1, 2]);
  assert.deepEqual(exitsOf(JSON.parse('{"kind":"patience","patience":2}'), samples), [1, 1, 2]);
  assert.throws(() => exitsOf(JSON.parse('{"kind":"random","shares":[0.3,0.3,0.4]}'), samples), /not something to deploy/);
  assert.throws(() => exitsOf(JSON.parse('{"kind":"thresholds","measure":"maxProb","direction":"above","thresholds":[0.9]}'), samples), /1 thresholds for 3 exits/);
  assert.equal(learnedPolicySchema.safeParse({ kind: 'fixed', exit: -1 }).success, false);
  assert.equal(learnedPolicySchema.safeParse({ kind: 'teleport' }).success, false);
});

const trace: TraceMeta = {
  id: 7, name: 't', source: 'inference', samples: 3, exits: exits.map((e) => ({ name: e.name })), classes: 3, costs: [0.2, 0.5, 1], costSource: 'user',
  hasConfidence: true, hasProbs: false, hasLabels: false, createdAt: '2024-01-01T00:00:00.000Z',
};
const stat = { mean: 0.5, ci95: 0, perSeed: [0.5] };
const summary: RunSummary = { accuracy: null, agreement: stat, avgCost: stat, exitShare: [stat, stat, stat], cumRegret: stat, regretKind: 'contextual', reference: 'final-exit' };
const run = (learned: unknown): CompleteRun => ({
  id: 3, name: 'r', traceId: 7, policy: 'x', status: 'complete', supervised: false, seeds: [1], config: { lambda: 1, costs: [0.2, 0.5, 1], costSource: 'user', params: {} },
  evaluation: { mode: 'in-sample', calibrationSamples: 3, evaluationSamples: 3 },
  appVersion: 'test', summary, learned: learned as CompleteRun['learned'], tags: [], createdAt: '2024-01-01T00:00:00.000Z',
});

test('the exporter writes the rule its decider can apply to the trace, and refuses one that cannot', () => {
  const ok = buildPolicyFile(run({ kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0.9, 0.8, 0] }), trace, 'test');
  assert.deepEqual(ok.decision, { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0.9, 0.8, 0] });
  // A random baseline exports (for comparison), though no deployment applies it.
  assert.equal(buildPolicyFile(run({ kind: 'random', shares: [0.2, 0.3, 0.5] }), trace, 'test').decision.kind, 'random');
  assert.throws(() => buildPolicyFile(run({ kind: 'fixed', exit: 5 }), trace, 'test'), /run 3: its fixed rule does not apply to trace 7's exits: .*outside 0\.\.2/);
  assert.throws(() => buildPolicyFile(run({ kind: 'thresholds', measure: 'maxProb', thresholds: [0.9] }), trace, 'test'), /run 3: what it learned is not a valid thresholds rule/);
});

test('binned thresholds (DEE): each exit and confidence bin its own threshold; a bin without one continues', () => {
  // Three classes: 4 bins over [1/3, 1], each 1/6 wide. Thresholds for exits 1 and 2; the last always exits.
  const binned = { kind: 'binned', measure: 'maxProb', classes: 3, bins: 4, thresholds: [[null, 0.55, null, 0.9], [0.4, 0.45, 0.7, 0.8]] };
  // Sample 1: 0.95 (bin 3, >= 0.9) exits at 1. Sample 2: 0.6 (bin 1, >= 0.55) exits at 1.
  // Sample 3: 0.4 (bin 0, no threshold) continues; 0.5 at exit 2 (bin 1, >= 0.45) exits there.
  assert.deepEqual(exitsOf(binned, samples), [0, 0, 1]);
  // Bin 2 of exit 1 has no threshold although bins 1 and 3 do: 0.7 there continues (then 0.3, bin 0 at exit 2, is below 0.4).
  assert.deepEqual(exitsOf(binned, [[view(0.7, 0.5), view(0.3, 0.9)]]), [2]);
  assert.throws(() => exitsOf({ ...binned, thresholds: [[0.5, 0.5, 0.5]] }, samples), /binned thresholds for 1 exits; the deployment has 3/);
  assert.throws(() => exitsOf({ ...binned, thresholds: [[0.5], [0.5]] }, samples), /exit 1 has 1 binned thresholds for 4 bins/);
});

test('a risk-controlled threshold keeps its guarantee in the rule, and decides as any thresholds rule', () => {
  const guarantee = { kind: 'risk', statement: 'disagreement with the last exit <= 0.05 with probability >= 0.9 over the draw of the 5000 calibration samples', method: 'learn-then-test', test: 'hoeffding-bentkus', risk: 'disagreement', epsilon: 0.05, delta: 0.1, n: 5000, losses: 220, empiricalRisk: 0.044, upperBound: 0.0497 };
  const rule = { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0.8, 0.8, 0], threshold: 0.8, guarantee };
  assert.deepEqual(learnedPolicySchema.parse(rule), rule);
  assert.deepEqual(exitsOf(rule, samples), [0, 1, 2]);
  assert.equal(learnedPolicySchema.safeParse({ ...rule, guarantee: { ...guarantee, test: 'vibes' } }).success, false);
  assert.equal(learnedPolicySchema.safeParse({ ...rule, guarantee: { ...guarantee, statement: '' } }).success, false, 'a guarantee says what it is in words');
});

test('the exit-policy file (version 2) says how its figures were obtained, and carries a rule\'s guarantee; its schema checks what the exporter writes', () => {
  const guarantee = { kind: 'risk', statement: 'disagreement with the last exit <= 0.05 with probability >= 0.9', method: 'learn-then-test', test: 'binomial', risk: 'disagreement', epsilon: 0.05, delta: 0.1, n: 500, losses: 12, empiricalRisk: 0.024, upperBound: 0.047 };
  const learned = { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds: [0.9, 0.8, 0], guarantee };
  const fitted = { ...run(learned), config: { ...run(learned).config, usesHindsight: true } };
  const f = buildPolicyFile(fitted, trace, 'test');
  assert.equal(f.version, 2);
  assert.deepEqual(f.guarantee, guarantee);
  assert.deepEqual(f.evaluation, { mode: 'in-sample', calibrationSamples: 3, evaluationSamples: 3, calibrationTrace: null, hindsight: true });
  assert.deepEqual(f.estimates.avgCost, { mean: 0.5, lo: 0.5, hi: 0.5 });
  assert.equal(policyFileSchema.safeParse(JSON.parse(JSON.stringify(f))).success, true);
  const held = buildPolicyFile({ ...fitted, evaluation: { mode: 'held-out', calibrationSamples: 2, evaluationSamples: 1 } }, trace, 'test');
  assert.equal(held.evaluation.hindsight, false, 'held out, the figures are estimates, not hindsight');
  assert.equal(buildPolicyFile(run({ kind: 'fixed', exit: 1 }), trace, 'test').guarantee, null);
});
