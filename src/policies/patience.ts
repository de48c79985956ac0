/**
 * Patience (PABEE, Zhou et al., NeurIPS 2020): exit once P consecutive exits
 * agree on the class. The studio's P counts agreeing exits (P = 1 exits at the
 * first exit); PABEE's patience t counts unchanged steps, so t = P - 1.
 */
import { z } from 'zod';
import { definePolicy } from './module.js';
import type { LearnedPolicy, Observation, Policy } from './types.js';

export class PatiencePolicy implements Policy {
  readonly name: string;
  private run = 0;
  private prev = -1;
  constructor(private readonly patience: number) {
    this.name = `patience:${patience}`;
  }
  begin(): number {
    this.run = 0;
    this.prev = -1;
    return 0;
  }
  stop(obs: Observation): boolean {
    const y = obs.pred(obs.depth - 1);
    this.run = y === this.prev ? this.run + 1 : 1;
    this.prev = y;
    return this.run >= this.patience;
  }
  end(): void {}
  learned(): LearnedPolicy {
    return { kind: 'patience', patience: this.patience };
  }
}

export const patience = definePolicy({
  id: 'patience',
  title: 'Patience',
  summary: 'Exit once P consecutive exits agree on the class (PABEE, Zhou et al., NeurIPS 2020).',
  kind: 'baseline',
  params: z.object({
    patience: z.number().int().min(1).meta({ title: 'Patience', description: 'How many consecutive exits must agree (1 exits at the first exit; PABEE\'s t is P - 1).', examples: [2] }),
  }),
  arg: { param: 'patience', noun: 'a patience' },
  needs: [],
  regretKind: 'contextual',
  usesHindsight: false,
  learns: ['patience'],
  create: (p) => new PatiencePolicy(p.patience),
});
