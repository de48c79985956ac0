/**
 * EENet in a replay (docs/policies.md): fitted on the run's calibration data
 * by default (evaluation.ts), or, with a warm-up, on the samples of its first
 * rounds (played at the last exit) and, with refits, every R rounds on those
 * and on a seeded share of later rounds also played to the last exit; it then
 * exits at the first exit whose score reaches that exit's threshold. The
 * fitting itself is eenet.ts.
 *
 * Why the explored rounds: a round the rule sends to the last exit is a hard
 * sample, so refitting on the rounds that happened to go deep fits the hard
 * ones alone, and the refitted rule spends under its budget. Rounds picked at
 * random, whatever the sample, are a fair draw of the stream. They cost the
 * last exit's price, so the rule between them is fitted to the budget that
 * leaves: B' with explore * C_K + (1 - explore) * B' = B.
 */
import { z } from 'zod';
import { StudioError } from '../errors.js';
import { budgetFor, budgetParam, budgetRefusal, defaultBudget } from './costs.js';
import { clamp01, eenetDataFromTrace, fitEENet, type EENetData, type EENetFit, type EENetFitOptions } from './eenet.js';
import { definePolicy } from './module.js';
import { Rng } from './rng.js';
import type { EENetWeights, LearnedPolicy, Observation, Policy, PolicyEnv } from './types.js';

const params = z.object({
  budget: budgetParam,
  warmup: z.number().int().min(0).default(0).meta({ title: 'Warm-up rounds', description: 'Rounds played at the last exit to collect training data before the first fit; 0 fits on the calibration data before the stream starts.' }),
  refitEvery: z.number().int().min(0).default(0).meta({ title: 'Refit every (rounds)', description: 'After the warm-up, refit every R rounds on the warm-up and the explored rounds seen so far; 0 never refits.' }),
  explore: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.05)
    .meta({ title: 'Explored share', description: 'With refits: the share of rounds after the warm-up played to the last exit at random (seeded), whatever the sample, so refits see a fair draw of the stream; the rule is fitted to the budget those rounds leave.' }),
  epochs: z.number().int().min(1).max(100000).default(60).meta({ title: 'Training epochs', description: 'Most epochs of a fit (it stops earlier once the budget term is small).' }),
  hidden: z.number().int().min(1).max(1024).default(16).meta({ title: 'Hidden units', description: 'Units of the assignment head\'s hidden layer, per exit.' }),
  lr: z.number().gt(0).max(1).default(0.01).meta({ title: 'Learning rate', description: 'Adam\'s step size.' }),
  beta: z.number().gt(0).max(100).default(1).meta({ title: 'β', description: 'Exponent of the scores in the KL target q^beta / sum q^beta.' }),
  refine: z
    .boolean()
    .default(false)
    .meta({ title: 'Refine thresholds', description: 'Beyond the definition: search the per-exit thresholds for the most right answers on the fitting data with the cost in [0.99 B, B], instead of share filling alone.' }),
  keepEpoch: z
    .enum(['last', 'most-accurate'])
    .default('last')
    .meta({ title: 'Epoch kept', description: 'last: where training stopped (the definition: once the budget term is small); most-accurate (beyond the definition): the epoch whose rule, within the budget, is right most often on the fitting data.' }),
});

export type EENetParams = z.output<typeof params>;

/** Why a budget leaves no room for the explored rounds: they alone would spend it. */
function exploreRefusal(p: EENetParams, costs: ArrayLike<number>): string | undefined {
  if (!(p.warmup > 0 && p.refitEvery > 0)) return undefined;
  const K = costs.length;
  const least = p.explore * costs[K - 1]! + (1 - p.explore) * costs[0]!;
  return budgetFor(p.budget, costs) < least
    ? `with ${p.explore} of the rounds explored at the last exit, the budget must be at least ${least.toFixed(4)} (explore × last exit's cost + the rest at exit 1); lower explore or raise the budget`
    : undefined;
}

export class EENetPolicy implements Policy {
  readonly name = 'eenet';
  private readonly K: number;
  private readonly C: number;
  private fit: EENetFit | undefined;
  readonly fits: EENetFit[] = [];
  private readonly q: Float64Array;
  private readonly x: Float64Array;
  private readonly pre: Float64Array;
  private readonly ug = new Float64Array(2);
  /** Exploration draws, seeded apart from the stream's shuffle. */
  private readonly rng: Rng;
  /** Refits happen, so rounds are explored after the warm-up. */
  private readonly exploring: boolean;
  /** The budget the rule is fitted to: what the explored rounds leave of the run's. */
  private readonly ruleBudget: number;
  /** The round in progress is collected (a warm-up or explored round). */
  private collecting = false;
  private frozen = false;
  // Collected samples (fully computed: earlier exits say nothing about deeper ones).
  private probs: number[] = [];
  private maxProb: number[] = [];
  private entropy: number[] = [];
  private correct: number[] = [];
  private collected = 0;

  constructor(
    private readonly env: PolicyEnv,
    private readonly params: EENetParams,
    /** Costs in the budget's units (not lambda-scaled). */
    private readonly costs: Float64Array,
  ) {
    this.K = env.exits;
    this.C = env.classes;
    this.q = new Float64Array(this.K);
    this.x = new Float64Array(this.C + 2 + this.K);
    this.pre = new Float64Array(params.hidden);
    this.rng = new Rng((env.seed ^ 0x3c6ef372) >>> 0);
    this.exploring = params.warmup > 0 && params.refitEvery > 0;
    const why = exploreRefusal(params, costs);
    if (why) throw new StudioError(`eenet: ${why}`, { kind: 'input' });
    const e = this.exploring ? params.explore : 0;
    this.ruleBudget = (budgetFor(params.budget, costs) - e * costs[this.K - 1]!) / (1 - e);
    if (!(params.warmup > 0)) this.refit(eenetDataFromTrace(env.calibration, env.supervised));
  }

  private fitOptions(): EENetFitOptions {
    const p = this.params;
    const o: EENetFitOptions = {
      budget: this.ruleBudget,
      costs: this.costs,
      seed: this.env.seed,
      epochs: p.epochs,
      hidden: p.hidden,
      lr: p.lr,
      beta: p.beta,
      refine: p.refine,
      keepEpoch: p.keepEpoch,
    };
    if (this.env.signal !== undefined) o.signal = this.env.signal;
    return o;
  }

  private refit(data: EENetData): void {
    this.fit = fitEENet(data, this.fitOptions(), this.env.supervised);
    this.fits.push(this.fit);
  }

  private collectedData(): EENetData {
    return {
      n: this.collected,
      exits: this.K,
      classes: this.C,
      probs: Float64Array.from(this.probs),
      maxProb: Float64Array.from(this.maxProb),
      entropy: Float64Array.from(this.entropy),
      correct: Uint8Array.from(this.correct),
    };
  }

  begin(round: number): number {
    this.collecting = false;
    if (this.frozen) return 0;
    const w = this.params.warmup;
    if (w > 0) {
      if (round <= w) {
        this.collecting = true;
        return this.K - 1;
      }
      const r = this.params.refitEvery;
      if (round === w + 1 || (r > 0 && (round - w - 1) % r === 0)) {
        if (this.collected > 0) this.refit(this.collectedData());
      }
      if (this.exploring && this.rng.nextFloat() < this.params.explore) {
        this.collecting = true;
        return this.K - 1;
      }
    }
    return 0;
  }

  stop(obs: Observation): boolean {
    const fit = this.fit;
    if (!fit) return false;
    const k = obs.depth - 1;
    const C = this.C;
    const x = this.x;
    for (let c = 0; c < C; c++) x[c] = obs.prob(k, c);
    x[C] = obs.maxProb(k);
    x[C + 1] = 1 - obs.entropy(k);
    for (let j = 0; j < k; j++) x[C + 2 + j] = this.q[j]!;
    fit.model.exitForward(k, x, this.pre, this.ug);
    const q = clamp01(this.ug[0]!);
    this.q[k] = q;
    return q >= fit.thresholds[k]!;
  }

  end(obs: Observation): void {
    if (!this.collecting) return;
    const K = this.K;
    const y = this.env.supervised && obs.label() >= 0 ? obs.label() : obs.pred(K - 1);
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < this.C; c++) this.probs.push(obs.prob(k, c));
      this.maxProb.push(obs.maxProb(k));
      this.entropy.push(obs.entropy(k));
      this.correct.push(obs.pred(k) === y ? 1 : 0);
    }
    this.collected++;
  }

  freeze(): void {
    this.frozen = true;
  }

  learned(): LearnedPolicy {
    const fit = this.fit;
    if (!fit) return { kind: 'fixed', exit: this.K - 1 };
    const model: EENetWeights = fit.model.toJSON();
    return { kind: 'eenet', model, thresholds: Array.from(fit.thresholds) };
  }
}

export const eenet = definePolicy({
  id: 'eenet',
  title: 'EENet',
  summary: 'Trained, budgeted exit scheduler: per-exit scores and thresholds that meet a mean cost (Ilhan et al., WACV 2024).',
  kind: 'fitted',
  params,
  arg: { param: 'budget', noun: 'a budget' },
  // It reads each exit's probability vector, max probability and entropy.
  needs: ['probs', 'confidence', 'entropy'],
  regretKind: 'contextual',
  usesHindsight: (p) => p.warmup === 0,
  learns: ['eenet', 'fixed'],
  costDefaults: (costs) => ({ budget: defaultBudget(costs) }),
  refuse: (p, _trace, costs) => budgetRefusal(p.budget, costs) ?? exploreRefusal(p, costs),
  create: (p, env, costs) => new EENetPolicy(env, p, costs),
});
