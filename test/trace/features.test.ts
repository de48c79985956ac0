/**
 * softmaxInto and featuresOf against the definitions written out in test/helpers/features.ts:
 * probabilities, predicted class (ties to the first), max probability, normalized entropy and
 * margin, on logits of every kind a model gives (ties, huge values, two classes, one certain class).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { featuresOf, softmaxInto } from '../../src/trace/features.js';
import { ofProbabilities, plainFeatures } from '../helpers/features.js';

function product(logits: number[]): { probs: number[]; pred: number; maxProb: number; entropy: number; margin: number } {
  const C = logits.length;
  const p = new Float64Array(C);
  softmaxInto(logits, 0, C, p);
  const f = { pred: -1, maxProb: 0, entropy: 0, margin: 0 };
  featuresOf(p, C, f);
  return { probs: Array.from(p), ...f };
}

function same(logits: number[], what: string): void {
  const got = product(logits);
  const want = plainFeatures(logits, 0, logits.length);
  got.probs.forEach((p, c) => assert.ok(Math.abs(p - want.probs[c]!) < 1e-12, `${what}: p[${c}] ${p} vs ${want.probs[c]}`));
  assert.equal(got.pred, want.pred, `${what}: predicted class`);
  for (const k of ['maxProb', 'entropy', 'margin'] as const) assert.ok(Math.abs(got[k] - want[k]) < 1e-12, `${what}: ${k} ${got[k]} vs ${want[k]}`);
}

test('features of logits match their definitions', () => {
  let s = 3;
  const rand = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  for (const C of [2, 3, 10, 100]) for (let i = 0; i < 50; i++) same(Array.from({ length: C }, () => (rand() - 0.5) * 12), `C ${C} #${i}`);
  same([1000, 999, -1000], 'huge logits (a softmax without the max shift overflows)');
  same([2, 5, 5, 1], 'a tie for the top: the first class, margin 0');
  same([0, 0, 0, 0], 'uniform: entropy 1, margin 0');
  same([50, 0], 'two classes, nearly certain');
});

test('values worked by hand: uniform, certain, and two classes at ln 3', () => {
  const u = product([0, 0, 0, 0]);
  assert.deepEqual([u.pred, u.maxProb, u.margin], [0, 0.25, 0]);
  assert.ok(Math.abs(u.entropy - 1) < 1e-12);
  // Logits (ln 3, 0): p = (3/4, 1/4); entropy (3/4 ln 4/3 + 1/4 ln 4) / ln 2 = 0.811278; margin 1/2.
  const two = product([Math.log(3), 0]);
  assert.ok(Math.abs(two.maxProb - 0.75) < 1e-12 && Math.abs(two.margin - 0.5) < 1e-12);
  assert.ok(Math.abs(two.entropy - 0.8112781244591328) < 1e-12, `${two.entropy}`);
  // featuresOf on probabilities with a zero: 0 ln 0 counts 0; the margin is to the runner-up, not the last.
  const f = { pred: -1, maxProb: 0, entropy: 0, margin: 0 };
  featuresOf([0.5, 0, 0.3, 0.2], 4, f);
  const want = ofProbabilities([0.5, 0, 0.3, 0.2]);
  assert.equal(f.pred, 0);
  assert.ok(Math.abs(f.margin - 0.2) < 1e-12 && Math.abs(f.entropy - want.entropy) < 1e-12);
});
