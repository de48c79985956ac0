/**
 * EENet in a replay (docs/policies.md): fitted on the whole trace in hindsight
 * by default, or, with a warm-up, on the fully computed samples of its first
 * rounds and refitted every R rounds; it then exits at the first exit whose
 * score reaches that exit's threshold. The fitting itself is eenet.ts.
 */
import { z } from 'zod';
import { budgetFor, budgetParam, budgetRefusal, defaultBudget } from './costs.js';
import { clamp01, eenetDataFromTrace, fitEENet, type EENetData, type EENetFit, type EENetFitOptions } from './eenet.js';
import { definePolicy } from './module.js';
import type { EENetWeights, LearnedPolicy, Observation, Policy, PolicyEnv } from './types.js';

const params = z.object({
  budget: budgetParam,
  warmup: z.number().int().min(0).default(0).meta({ title: 'Warm-up rounds', description: 'Rounds played at the last exit to collect training data before the first fit; 0 fits on the whole trace in hindsight.' }),
  refitEvery: z.number().int().min(0).default(0).meta({ title: 'Refit every (rounds)', description: 'After the warm-up, refit every R rounds on the fully computed samples seen so far; 0 never refits.' }),
  epochs: z.number().int().min(1).max(100000).default(60).meta({ title: 'Training epochs', description: 'Most epochs of a fit (it stops earlier once the budget term is small).' }),
  hidden: z.number().int().min(1).max(1024).default(16).meta({ title: 'Hidden units', description: 'Units of the assignment head\'s hidden layer, per exit.' }),
  lr: z.number().gt(0).max(1).default(0.01).meta({ title: 'Learning rate', description: 'Adam\'s step size.' }),
  beta: z.number().gt(0).max(100).default(1).meta({ title: 'β', description: 'Exponent of the scores in the KL target q^beta / sum q^beta.' }),
});

export type EENetParams = z.output<typeof params>;

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
  // Warm-up collection (fully computed samples only: earlier exits say nothing about deeper ones).
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
    if (!(params.warmup > 0)) this.refit(eenetDataFromTrace(env.hindsight, env.supervised));
  }

  private fitOptions(): EENetFitOptions {
    const p = this.params;
    const o: EENetFitOptions = { budget: budgetFor(p.budget, this.costs), costs: this.costs, seed: this.env.seed, epochs: p.epochs, hidden: p.hidden, lr: p.lr, beta: p.beta };
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
    const w = this.params.warmup;
    if (w > 0) {
      if (round <= w) return this.K - 1;
      const r = this.params.refitEvery;
      if (round === w + 1 || (r > 0 && (round - w - 1) % r === 0)) {
        if (this.collected > 0) this.refit(this.collectedData());
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

  end(obs: Observation, exit: number): void {
    if (!(this.params.warmup > 0) || exit !== this.K - 1) return;
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
  refuse: (p, _trace, costs) => budgetRefusal(p.budget, costs),
  create: (p, env, costs) => new EENetPolicy(env, p, costs),
});
