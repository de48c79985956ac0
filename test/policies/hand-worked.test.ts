/**
 * UEE-UCB and DEE on small streams worked out by hand (the tables below), in a fixed order:
 * every decision and every learned value is the formula's, so a changed exploration weight,
 * log term, tie rule, reference of the disagreement, update, reward or binning changes an
 * exit in the sequence or a threshold. Confidences are multiples of 1/16 and costs powers of
 * two, so float32 storage and the sums are exact where the tables say "=".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learnedPolicySchema } from '../../src/policies/rules/index.js';
import { deeOptimalRule, fillShares, parsePolicySpec, replay, runPolicySync, type PolicyEnv } from '../../src/policies/index.js';
import { lossTerms } from '../../src/policies/eenet-loss.js';
import type { Trace } from '../../src/trace/types.js';

/** A trace whose sample s has predictions preds[s] (and confidences conf[s] when given), streamed in order. */
function handTrace(costs: number[], preds: number[][], conf?: number[][]): Trace {
  const K = costs.length;
  return {
    samples: preds.length,
    exits: costs.map((_, k) => ({ name: `e${k + 1}` })),
    classes: 2,
    costs: Float64Array.from(costs),
    costSource: 'user',
    pred: Int32Array.from(preds.flat()),
    ...(conf ? { maxProb: Float32Array.from(conf.flat()), entropy: new Float32Array(preds.length * K) } : {}),
  };
}

/** lambda 1: the costs a policy trades against are the trace's. calibration throws: online policies never read it. */
function env(t: Trace): PolicyEnv {
  return {
    exits: t.exits.length, classes: t.classes, costs: Float64Array.from(t.costs), lambda: 1, seed: 1, supervised: false, rounds: t.samples,
    get calibration(): Trace { throw new Error('an online policy read the calibration data'); },
  };
}

/** Exits (1-based, as the tables write them) a policy takes on the trace in sample order, and the policy. */
function play(t: Trace, spec: string, params: Record<string, number>) {
  const policy = parsePolicySpec(spec, {}, params).create(env(t), t.costs);
  const r = replay(t, policy, { seed: 1, order: Uint32Array.from({ length: t.samples }, (_, i) => i) });
  return { exits: Array.from(r.exit, (e) => e + 1), policy };
}

test('UEE-UCB: the arm sequence of a hand-worked 10-round stream (alpha 1, costs 1/12, 3/12, 7/12)', () => {
  // Index_j = D_j/N_j + c_1 - c_j + sqrt(ln t / N_j); D_j counts y_j != y_1 among the N_j observations of y_j.
  //  t  y1 y2 y3   N        D        index (exit 1, 2, 3)       plays
  //  1  0  0  0    0 0 0    0 0 0    (round 1: the last exit)    3
  //  2  1  1  1    1 1 1    0 0 0    0.8326 0.6659 0.3326        1
  //  3  1  1  1    2 1 1    0 0 0    0.7412 0.8815 0.5481        2
  //  4  0  1  0    3 2 1    0 0 0    0.6798 0.6659 0.6774        1   (exit 3 only 0.0024 behind)
  //  5  1  0  0    4 2 1    0 0 0    0.6343 0.7304 0.7686        3
  //  6  1  0  1    5 3 2    0 1 1    0.5986 0.9395 0.9465        3
  //  7  0  1  0    6 4 3    0 2 1    0.5695 1.0308 0.6387        2
  //  8  0  1  0    7 5 3    0 3 1    0.5450 1.0782 0.6659        2
  //  9  1  0  0    8 6 3    0 4 1    0.5241 1.1051 0.6891        2
  // 10  0  1  1    9 7 3    0 5 1    0.5058 1.1212 0.7094        2
  // After round 10: N = 10 8 3, D = 0 6 1; the greedy index (no bonus) is 0, 0.5833, -0.1667: exit 2.
  const preds = [[0, 0, 0], [1, 1, 1], [1, 1, 1], [0, 1, 0], [1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 1, 1]];
  const t = handTrace([1 / 12, 3 / 12, 7 / 12], preds);
  const { exits, policy } = play(t, 'uee-ucb', { alpha: 1 });
  assert.deepEqual(exits, [3, 1, 2, 1, 3, 3, 2, 2, 2, 2]);
  assert.deepEqual(policy.learned(), { kind: 'fixed', exit: 1, counts: [10, 8, 3] });
  // alpha scales the bonus: at 0.5 and 2 the same stream is played otherwise.
  assert.deepEqual(play(t, 'uee-ucb', { alpha: 0.5 }).exits, [3, 1, 2, 1, 2, 2, 2, 2, 2, 2]);
  assert.deepEqual(play(t, 'uee-ucb', { alpha: 2 }).exits, [3, 1, 2, 3, 2, 2, 2, 2, 2, 2]);
});

test('UEE-UCB: equal indices go to the smallest exit', () => {
  // Equal costs and full agreement: at round 2 every index is 0 + 0 + sqrt(ln 2): exit 1.
  const t = handTrace([0.5, 0.5, 0.5], [[1, 1, 1], [0, 0, 0]]);
  assert.deepEqual(play(t, 'uee-ucb', { alpha: 1 }).exits, [3, 1]);
});

test('UEE-UCB learns the exit of the best greedy index, costs included, not the most disagreeing one', () => {
  // Costs .1, .2, 1. Round 1 plays exit 3 on (0, 0, 1): D = 0 0 1. Round 2: indices sqrt(ln 2) + 0, - .1, + .1: exit 3,
  // on (0, 0, 0). Then p = 0, 0, .5 and the greedy index p_j + c_1 - c_j is 0, -.1, -.4: exit 1 (by p alone: exit 3).
  const t = handTrace([0.1, 0.2, 1], [[0, 0, 1], [0, 0, 0]]);
  const { exits, policy } = play(t, 'uee-ucb', { alpha: 1 });
  assert.deepEqual(exits, [3, 3]);
  assert.deepEqual(policy.learned(), { kind: 'fixed', exit: 0, counts: [2, 2, 2] });
});

test('DEE: a hand-worked episode without exploration (alpha 0): exits, ties, running means and bins', () => {
  // Two classes, 2 bins over [1/2, 1]: bin 0 is [0.5, 0.75), bin 1 is [0.75, 1]. Costs 1/8, 1/4, 1/2.
  // Exit at k iff n(k, b) > 0 and conf_k >= Q(k, b) + c_k; the episode's reward conf_e - c_e is
  // averaged into Q of every (k, b) it continued from.
  //  t  conf_1 conf_2 conf_3   decisions                                  exit  reward   Q after (k1b0 k1b1 k2b0 k2b1)
  //  1  .9375  .9375  1        k1 b1 n=0: go; k2 b1 n=0: go                3    0.5      -     .5     -      .5
  //  2  .625   .75    .875     k1 b0 n=0: go; k2 b1: .75 >= .5+.25 = .75   2    0.5      .5    .5     -      .5
  //  3  .5625  .5625  .9375    k1 b0: .5625 < .5+.125; k2 b0 n=0: go       3    0.4375   .46875 .5   .4375  .5
  //  4  .625   .8125  .875     k1 b0: .625 >= .46875+.125 = .59375         1    0.5      (no update)
  //  5  .5625  .5625  1        k1 b0: < .59375; k2 b0: .5625 < .6875       3    0.5      .47917 .5   .46875 .5
  // Thresholds Q + c: exit 1: .60417, .625; exit 2: .71875, .75.
  const conf = [[0.9375, 0.9375, 1], [0.625, 0.75, 0.875], [0.5625, 0.5625, 0.9375], [0.625, 0.8125, 0.875], [0.5625, 0.5625, 1]];
  const t = handTrace([0.125, 0.25, 0.5], conf.map(() => [0, 0, 0]), conf);
  const { exits, policy } = play(t, 'dee', { alpha: 0, bins: 2 });
  assert.deepEqual(exits, [3, 2, 3, 1, 3]);
  const l = learnedPolicySchema.parse(policy.learned());
  assert.equal(l.kind, 'binned');
  if (l.kind !== 'binned') return;
  assert.deepEqual({ classes: l.classes, bins: l.bins }, { classes: 2, bins: 2 });
  const want = [[0.125 + (0.5 + 0.4375 + 0.5) / 3, 0.625], [0.25 + (0.4375 + 0.5) / 2, 0.75]];
  l.thresholds.forEach((row, k) => row.forEach((th, b) => assert.ok(Math.abs(th! - want[k]![b]!) < 1e-12, `exit ${k + 1} bin ${b}: ${th} vs ${want[k]![b]}`)));
});

test('DEE: a hand-worked episode with its bonus (alpha 1): the bonus keeps it going, then it exits at exit 1 from bin 1', () => {
  // As above, with the bonus sqrt(ln t / n(k, b)) added to every threshold. Rounds 1-5 continue to exit 3
  // (e.g. round 3, exit 1 bin 1: .875 < .1875 + .125 + sqrt(ln 3 / 1) = 1.3606). Round 6: exit 1 bin 1 has
  // n = 4, Q = (.1875 + .125 + .1875 + .125) / 4 = .15625, so 1 >= .15625 + .125 + sqrt(ln 6 / 4) = .9505: exit 1.
  // Round 7 too (.9787); round 8's threshold is 1.0023 > 1: it goes on to exit 3 (reward .0625).
  const conf = [
    [1, 0.875, 0.6875], [0.6875, 0.6875, 0.75], [0.875, 0.75, 0.625], [0.75, 0.6875, 0.6875],
    [1, 0.875, 0.625], [1, 0.625, 0.9375], [1, 0.625, 0.625], [1, 0.8125, 0.5625],
  ];
  const t = handTrace([0.125, 0.25, 0.5], conf.map(() => [0, 0, 0]), conf);
  const { exits, policy } = play(t, 'dee', { alpha: 1, bins: 2 });
  assert.deepEqual(exits, [3, 3, 3, 3, 3, 1, 1, 3]);
  const l = policy.learned();
  assert.ok(l.kind === 'binned');
  // Q(1, b0) = .25 (round 2); Q(1, b1) = mean(.1875, .125, .1875, .125, .0625) = .1375;
  // Q(2, b0) = mean(.25, .1875) = .21875; Q(2, b1) = mean(.1875, .125, .125, .0625) = .125.
  const want = [[0.25 + 0.125, 0.1375 + 0.125], [0.21875 + 0.25, 0.125 + 0.25]];
  l.thresholds.forEach((row, k) => row.forEach((th, b) => assert.ok(Math.abs(th! - want[k]![b]!) < 1e-12, `exit ${k + 1} bin ${b}: ${th} vs ${want[k]![b]}`)));
});

test('DEE\'s regret reference: the best per-bin rule by backward induction, worked by hand; a tie exits', () => {
  // Costs 1/8, 1/4, 1/2; 2 bins. Exit 3 always: values .375, .25, .4375, .5.
  // Exit 2, bin 0 (s0 .625): exit .375 vs continue .375, a tie: exit. Bin 1 (s1 .875, s2 .875, s3 .75):
  //   exit .625 + .625 + .5 = 1.75 vs continue .25 + .4375 + .5 = 1.1875: exit. Values .375, .625, .625, .5.
  // Exit 1, bin 0 (s0, s1 at .5625): exit .4375 + .4375 = .875 vs continue .375 + .625 = 1: continue.
  //   Bin 1 (s2 .875, s3 .8125): exit .75 + .6875 = 1.4375 vs .625 + .5 = 1.125: exit. Values .375, .625, .75, .6875.
  const conf = [[0.5625, 0.625, 0.875], [0.5625, 0.875, 0.75], [0.875, 0.875, 0.9375], [0.8125, 0.75, 1]];
  const t = handTrace([0.125, 0.25, 0.5], conf.map(() => [0, 0, 0]), conf);
  const r = deeOptimalRule(t, t.costs, 2);
  assert.deepEqual(Array.from(r.exitHere), [0, 1, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(r.value), [0.375, 0.625, 0.75, 0.6875]);
  assert.equal(r.meanValue, (0.375 + 0.625 + 0.75 + 0.6875) / 4);
  // On samples 1 and 3 alone, exit 1 bin 1 holds s3 only: .6875 vs .5, still exit; bin 0 holds s1: .4375 vs .625.
  const some = deeOptimalRule(t, t.costs, 2, [1, 3]);
  assert.equal(some.meanValue, (0.625 + 0.6875) / 2);
});

test('share filling, by hand: each exit takes its count of the highest scores left, ties at the threshold go too', () => {
  // Scores at exits 1 and 2 of six samples (the last exit's do not matter).
  const s = [[0.9, 0.1], [0.8, 0.7], [0.3, 0.6], [0.5, 0.7], [0.2, 0.65], [0.1, 0.1]];
  const score = Float64Array.from(s.flatMap(([a, b]) => [a!, b!, 0]));
  // Exit 1 takes 2: .9 and .8, threshold .8. Exit 2 takes 2 of s2..s5: .7 and .65, threshold .65. The last takes the rest.
  assert.deepEqual(Array.from(fillShares(score, [2, 2, 2], 6, 3)), [0.8, 0.65, 0]);
  // Exit 1 takes 1 but .7 and .7 tie at exit 2 (count 1): both go, threshold .7.
  assert.deepEqual(Array.from(fillShares(score, [1, 1, 4], 6, 3)), [0.9, 0.7, 0]);
  // A count of 0: nobody exits there (threshold above any score); exit 2 then takes 3 of all six: .7, .7, .65.
  assert.deepEqual(Array.from(fillShares(score, [0, 3, 3], 6, 3)), [2, 0.65, 0]);
});

test('EENet\'s loss terms on two samples worked by hand (BCE, KL to q^beta normalized, budget term relative to the budget)', () => {
  // K = 2, costs .5 and 1, budget .6, beta 1, no smoothing. q and a per sample; correct per exit.
  const q = Float64Array.of(0.8, 0.5, 0.2, 0.9);
  const a = Float64Array.of(0.75, 0.25, 0.5, 0.5);
  const correct = Uint8Array.of(1, 1, 0, 1);
  const data = { n: 2, exits: 2, classes: 2, probs: new Float64Array(8), maxProb: new Float64Array(4), entropy: new Float64Array(4), correct };
  const got = lossTerms(q, a, data, { costs: Float64Array.of(0.5, 1), budget: 0.6, beta: 1, klWeight: 1, costWeight: 1, smooth: 0 });
  const bce = (0.75 * -Math.log(0.8) + 0.25 * -Math.log(0.5) + 0.5 * -Math.log(1 - 0.2) + 0.5 * -Math.log(0.9)) / 2;
  const kl = (0.75 * Math.log(0.75 / (0.8 / 1.3)) + 0.25 * Math.log(0.25 / (0.5 / 1.3)) + 0.5 * Math.log(0.5 / (0.2 / 1.1)) + 0.5 * Math.log(0.5 / (0.9 / 1.1))) / 2;
  // Expected cost (.625 + .75) / 2 = .6875: |.6875 - .6| / .6.
  assert.ok(Math.abs(got.bce - bce) < 1e-12, `bce ${got.bce} vs ${bce}`);
  assert.ok(Math.abs(got.kl - kl) < 1e-12, `kl ${got.kl} vs ${kl}`);
  assert.ok(Math.abs(got.costTerm - 0.0875 / 0.6) < 1e-12, `cost term ${got.costTerm}`);
});

test('risk control: a threshold kept at a confidence the data holds exactly exits those samples when deployed, as calibrated', () => {
  // Two exits. 500 samples at exit-1 confidence .875 agree with the last exit; 500 at .8745 (just under grid point
  // .875, above .874) disagree. The walk passes every threshold down to .875 (no loss) and fails at .874 (500
  // losses): it keeps .875, which half the samples reach exactly, and they must exit there.
  const n = 1000;
  const conf = Array.from({ length: n }, (_, s) => (s % 2 === 0 ? [0.875, 1] : [0.8745, 1]));
  const preds = Array.from({ length: n }, (_, s) => (s % 2 === 0 ? [1, 1] : [0, 1]));
  const t = handTrace([0.25, 1], preds, conf);
  const r = runPolicySync(t, 'risk:0.05', { seeds: 1, evaluation: { mode: 'in-sample' } });
  assert.ok(r.learned.kind === 'thresholds');
  assert.equal(r.learned.threshold, 0.875);
  assert.equal(r.learned.guarantee?.losses, 0);
  assert.deepEqual(r.summary.exitShare.map((e) => e.mean), [0.5, 0.5]);
  assert.equal(r.summary.agreement.mean, 1, 'what it certified (no disagreement) is what it does');
});
