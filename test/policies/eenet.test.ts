/**
 * EENet's training, checked where a wrong formula or a dead optimizer shows:
 * the analytic gradient against finite differences of the loss written out
 * here on its own; a trained scorer that must beat the one it starts from
 * (max probability) at the same exit shares, on data where max probability
 * misleads; the definition's defaults (share filling, the last epoch); and
 * refits in a stream that see a fair draw of it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchGradient, BatchWork, type EENetLoss } from '../../src/policies/eenet-loss.js';
import { EENetModel, type EENetData } from '../../src/policies/eenet-model.js';
import { EENetPolicy, eenetDataFromTrace, eenetForward, fillThresholds, fitEENet, parsePolicySpec, replay, Rng, runPolicySync, syntheticTrace, type PolicyEnv } from '../../src/policies/index.js';
import { evaluateRule } from '../../src/policies/eenet.js';
import type { Trace } from '../../src/trace/types.js';
import { subTrace } from '../helpers/split.js';

/** A small data set for the gradient check: random inputs, targets, K = 3 exits, C = 4 classes. */
function randomData(n: number, seed: number): EENetData {
  const rng = new Rng(seed);
  const K = 3;
  const C = 4;
  const probs = new Float64Array(n * K * C);
  for (let i = 0; i < n * K; i++) {
    let sum = 0;
    for (let c = 0; c < C; c++) sum += probs[i * C + c] = 0.05 + rng.nextFloat();
    for (let c = 0; c < C; c++) probs[i * C + c]! /= sum;
  }
  return {
    n,
    exits: K,
    classes: C,
    probs,
    maxProb: Float64Array.from({ length: n * K }, () => 0.3 + 0.7 * rng.nextFloat()),
    entropy: Float64Array.from({ length: n * K }, () => rng.nextFloat()),
    correct: Uint8Array.from({ length: n * K }, () => (rng.nextFloat() < 0.6 ? 1 : 0)),
  };
}

/**
 * The loss as docs/policies.md defines it, written out independently of the product's forward and
 * backward code, over samples 0..n-1. `fixed` holds what the backward pass treats as constants,
 * computed at the point of the check: the earlier exits' scores in each input, and the KL target r.
 */
function referenceLoss(model: EENetModel, d: EENetData, loss: EENetLoss, fixed: { q: Float64Array; r: Float64Array }): number {
  const { exits: K, classes: C, n } = d;
  let bce = 0;
  let kl = 0;
  let cost = 0;
  for (let s = 0; s < n; s++) {
    const q: number[] = [];
    const g: number[] = [];
    for (let k = 0; k < K; k++) {
      const x = [...d.probs.subarray((s * K + k) * C, (s * K + k + 1) * C), d.maxProb[s * K + k]!, 1 - d.entropy[s * K + k]!];
      for (let j = 0; j < k; j++) x.push(fixed.q[s * K + j]!);
      const l = model.layers[k]!;
      const u = x.reduce((acc, xi, i) => acc + l.linW[i]! * xi, l.linB[0]!);
      q.push(Math.min(1, Math.max(0, u)));
      let logit = l.b2[0]!;
      for (let h = 0; h < model.hidden; h++) {
        const z = x.reduce((acc, xi, i) => acc + l.w1[h * x.length + i]! * xi, l.b1[h]!);
        logit += l.w2[h]! * Math.max(0, z);
      }
      g.push(logit);
    }
    const top = Math.max(...g);
    const e = g.map((v) => Math.exp(v - top));
    const a = e.map((v) => v / e.reduce((p, c) => p + c, 0));
    for (let k = 0; k < K; k++) {
      const z = d.correct[s * K + k] ? 1 - loss.smooth : loss.smooth;
      bce += a[k]! * -(z * Math.log(q[k]!) + (1 - z) * Math.log(1 - q[k]!));
      kl += a[k]! * (Math.log(a[k]!) - Math.log(fixed.r[s * K + k]!));
      cost += a[k]! * loss.costs[k]!;
    }
  }
  return bce / n + loss.klWeight * (kl / n) + loss.costWeight * (Math.abs(cost / n - loss.budget) / loss.budget);
}

test('EENet: the gradient of the training loss matches finite differences of the loss, every parameter', () => {
  const d = randomData(24, 5);
  const K = d.exits;
  const model = new EENetModel(K, d.classes, 5, 3, 'random');
  for (const beta of [1, 2]) {
    const loss: EENetLoss = { costs: Float64Array.of(0.2, 0.5, 1), budget: 0.45, beta, klWeight: 0.7, costWeight: 10, smooth: 0.05 };
    // The constants of the backward pass, at this point: scores (inputs of later exits) and the KL target.
    const { q } = eenetForward(model, { ...d, correct: d.correct });
    const r = new Float64Array(q.length);
    for (let s = 0; s < d.n; s++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += q[s * K + k]! ** beta;
      for (let k = 0; k < K; k++) r[s * K + k] = q[s * K + k]! ** beta / sum;
    }
    // Every score inside (1e-4, 1 - 1e-4): no clamp between the two sides of a difference.
    for (const v of q) assert.ok(v > 0.01 && v < 0.99, `score ${v} near a clamp`);
    const params = model.params();
    const grads = params.map((p) => new Float64Array(p.length));
    const idx = Uint32Array.from({ length: d.n }, (_, i) => i);
    batchGradient(model, d, idx, 0, d.n, loss, new BatchWork(d.n, K, d.classes + 2 + K, model.hidden), grads);
    const h = 1e-6;
    let checked = 0;
    params.forEach((p, a) => {
      for (let j = 0; j < p.length; j++) {
        const x0 = p[j]!;
        p[j] = x0 + h;
        const up = referenceLoss(model, d, loss, { q, r });
        p[j] = x0 - h;
        const down = referenceLoss(model, d, loss, { q, r });
        p[j] = x0;
        const fd = (up - down) / (2 * h);
        const g = grads[a]![j]!;
        assert.ok(Math.abs(fd - g) <= 1e-6 + 1e-4 * Math.abs(fd), `beta ${beta}, parameter array ${a} [${j}]: analytic ${g}, finite difference ${fd}`);
        checked++;
      }
    });
    assert.equal(checked, 162, 'every parameter: 3 exits of (C + 2 + k) linear weights, a bias, a 5-unit head');
  }
});

/**
 * Three exits, five classes, where max probability misleads: a prediction of class 0 always comes
 * with probability 0.95 to 0.99, right or wrong, while other classes' confidence tells right from
 * wrong. A scorer that reads the probability vector can learn to discount class 0; max probability cannot.
 */
function misleadingTrace(n: number, seed: number): Trace {
  const K = 3;
  const C = 5;
  const rng = new Rng(seed);
  const pred = new Int32Array(n * K);
  const maxProb = new Float32Array(n * K);
  const entropy = new Float32Array(n * K);
  const probs = new Float32Array(n * K * C);
  const labels = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    const y = rng.nextInt(C);
    labels[s] = y;
    const difficulty = rng.nextFloat();
    for (let k = 0; k < K; k++) {
      const right = rng.nextFloat() < 0.35 + ((0.6 * (k + 1)) / K) * (1 - 0.5 * difficulty);
      const p = right ? y : (y + 1 + rng.nextInt(C - 1)) % C;
      const m = p === 0 ? 0.95 + 0.04 * rng.nextFloat() : right ? 0.55 + 0.44 * rng.nextFloat() : 0.25 + 0.5 * rng.nextFloat();
      const i = s * K + k;
      pred[i] = p;
      maxProb[i] = m;
      const rest = (1 - m) / (C - 1);
      entropy[i] = -(m * Math.log(m) + (C - 1) * rest * Math.log(rest)) / Math.log(C);
      for (let c = 0; c < C; c++) probs[i * C + c] = c === p ? m : rest;
    }
  }
  return { samples: n, exits: [{ name: 'e1' }, { name: 'e2' }, { name: 'e3' }], classes: C, costs: Float64Array.of(0.2, 0.5, 1), costSource: 'user', pred, maxProb, entropy, probs, labels };
}

test('EENet: the trained scorer beats the one it starts from (max probability) at the same exit shares, fitted and held out', (tc) => {
  const t = misleadingTrace(6000, 5);
  const fitPart = subTrace(t, Uint32Array.from({ length: 3000 }, (_, i) => i));
  const heldOut = subTrace(t, Uint32Array.from({ length: 3000 }, (_, i) => 3000 + i));
  for (const seed of [1, 2, 3]) {
    const data = eenetDataFromTrace(fitPart, true);
    const ev = eenetDataFromTrace(heldOut, true);
    const fit = fitEENet(data, { budget: 0.5, costs: t.costs, seed }, true);
    // Epoch 0's scorer: the fit's own start (same seed), q_k = max probability.
    const start = new EENetModel(3, 5, 16, seed, 'maxprob');
    const { q, a } = eenetForward(fit.model, data);
    const q0 = eenetForward(start, data).q;
    // Both scorers share-filled to the trained assignment's shares: the same costs, so accuracy alone compares them.
    const th = fillThresholds(q, a, data.n, 3);
    const th0 = fillThresholds(q0, a, data.n, 3);
    const trained = evaluateRule(q, th, data, t.costs);
    const initial = evaluateRule(q0, th0, data, t.costs);
    const trainedOut = evaluateRule(eenetForward(fit.model, ev).q, th, ev, t.costs);
    const initialOut = evaluateRule(eenetForward(start, ev).q, th0, ev, t.costs);
    const line = `seed ${seed}: trained ${trained.accuracy.toFixed(4)} at ${trained.cost.toFixed(3)} vs start ${initial.accuracy.toFixed(4)} at ${initial.cost.toFixed(3)} (in-sample); held out ${trainedOut.accuracy.toFixed(4)} vs ${initialOut.accuracy.toFixed(4)}`;
    tc.diagnostic(line);
    assert.ok(Math.abs(trained.cost - 0.5) <= 0.01, `the trained rule meets the budget (in-sample): ${line}`);
    assert.ok(trained.accuracy >= initial.accuracy + 0.015, `in-sample: ${line}`);
    assert.ok(trainedOut.accuracy >= initialOut.accuracy + 0.015, `held out: ${line}`);
    // The budget term falls to the early stop's tolerance, well below where it starts.
    const h = fit.history;
    assert.ok(h.at(-1)!.costTerm < Math.min(0.005, h[0]!.costTerm / 5), `budget term ${h[0]!.costTerm} -> ${h.at(-1)!.costTerm}`);
  }
});

test('EENet follows its definition by default: share-filled thresholds, training stopped once the budget term is small, the last epoch kept', () => {
  const t = syntheticTrace({ samples: 3000, exits: 4, classes: 10, seed: 3 });
  const data = eenetDataFromTrace(t, false);
  const fit = fitEENet(data, { budget: 0.5, costs: t.costs, seed: 2 });
  const last = fit.history.at(-1)!;
  assert.equal(fit.epoch, last.epoch);
  assert.deepEqual(fit.history.filter((e) => e.kept).map((e) => e.epoch), [last.epoch]);
  assert.ok(last.epoch < 60 && last.costTerm < 0.005, `stopped at epoch ${last.epoch}, budget term ${last.costTerm}`);
  // The thresholds are the share-filled ones of the kept model, and the rule deployed is that one.
  const { q, a } = eenetForward(fit.model, data);
  assert.deepEqual(fit.thresholds, fillThresholds(q, a, data.n, 4));
  assert.equal(last.cost, last.shareCost);
  // The options beyond the definition change that: the refined rule lands in [0.99 B, B] on the data.
  const refined = fitEENet(data, { budget: 0.5, costs: t.costs, seed: 2, refine: true, keepEpoch: 'most-accurate' });
  const kept = refined.history[refined.epoch]!;
  assert.ok(kept.cost <= 0.5 + 1e-9 && kept.cost >= 0.495 - 1e-9, `refined cost ${kept.cost}`);
  assert.ok(refined.history.every((e) => e.accuracy <= kept.accuracy || e.cost > 0.5 + 1e-9 || e.cost < 0.495 - 1e-9), 'the most accurate epoch in the band is kept');
  // A run's parameters carry them.
  assert.deepEqual(
    [parsePolicySpec('eenet:0.5').params.refine, parsePolicySpec('eenet:0.5').params.keepEpoch],
    [false, 'last'],
  );
});

test('EENet fit is seeded (deterministic) and a budget of 1 sends almost everything to the last exit', () => {
  const t = syntheticTrace({ samples: 3000, exits: 4, classes: 10, seed: 3 });
  const data = eenetDataFromTrace(t, false);
  const a = fitEENet(data, { budget: 0.5, costs: t.costs, epochs: 3, seed: 4 });
  const b = fitEENet(data, { budget: 0.5, costs: t.costs, epochs: 3, seed: 4 });
  assert.deepEqual(a.history, b.history);
  assert.deepEqual(a.thresholds, b.thresholds);
  const full = runPolicySync(t, 'eenet:1', { seeds: 1, params: { epochs: 20 } });
  assert.ok(full.summary.avgCost.mean > 0.9, `cost ${full.summary.avgCost.mean}`);
});

test('EENet in a stream: warm-up at the last exit, then refits on the warm-up and on explored rounds only, a fair share of the stream', () => {
  const t = syntheticTrace({ samples: 8000, exits: 4, classes: 10, seed: 3 });
  const K = 4;
  const p = parsePolicySpec('eenet:0.5', {}, { warmup: 1000, refitEvery: 2000, explore: 0.1, epochs: 6 });
  assert.equal(p.usesHindsight, false);
  const env: PolicyEnv = { exits: K, classes: t.classes, costs: t.costs, lambda: 1, seed: 3, supervised: false, rounds: t.samples, calibration: t };
  const policy = p.create(env, t.costs) as EENetPolicy;
  const rec = replay(t, policy, { seed: 3 });
  // Warm-up rounds play the last exit.
  assert.ok(rec.exit.subarray(0, 1000).every((e) => e === K - 1));
  // Refits at rounds 1001, 3001, 5001, 7001; each on the warm-up and the explored rounds before it.
  assert.equal(policy.fits.length, 4);
  const sizes = policy.fits.map((f) => f.samples);
  assert.equal(sizes[0], 1000);
  for (let i = 1; i < 4; i++) {
    const explored = sizes[i]! - sizes[i - 1]!;
    // About 10 % of the 2,000 rounds between refits (binomial: 200 +- 13).
    assert.ok(explored > 150 && explored < 250, `refit ${i + 1}: ${explored} explored rounds since the last`);
  }
  // The rule is fitted to what the explored rounds leave of the budget: (0.5 - 0.1 * 1) / 0.9.
  assert.ok(Math.abs(policy.fits[0]!.budget - 0.4 / 0.9) < 1e-12);
  // Realised cost after the warm-up, explored rounds included, near the budget.
  let cost = 0;
  for (let r = 1000; r < t.samples; r++) cost += t.costs[rec.exit[r]!]!;
  const after = cost / (t.samples - 1000);
  assert.ok(Math.abs(after - 0.5) <= 0.03 * 0.5, `cost after warm-up ${after}`);
  // A budget the explored rounds alone would spend is refused.
  assert.match(parsePolicySpec('eenet:0.3', {}, { warmup: 10, refitEvery: 10, explore: 0.5 }).refuse(t, t.costs, false) ?? '', /budget must be at least 0\.6250/);
});
