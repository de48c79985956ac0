/** Random exit: uniform over exits each round, from its own seeded stream (not the shuffle's). */
import { z } from 'zod';
import { definePolicy } from './module.js';
import { Rng } from './rng.js';
import type { LearnedPolicy, Policy, PolicyEnv } from './types.js';

export class RandomExit implements Policy {
  readonly name = 'random';
  private readonly rng: Rng;
  private readonly K: number;
  constructor(env: PolicyEnv) {
    this.K = env.exits;
    this.rng = new Rng((env.seed ^ 0x5bd1e995) >>> 0);
  }
  begin(): number {
    return this.rng.nextInt(this.K);
  }
  stop(): boolean {
    return true;
  }
  end(): void {}
  learned(): LearnedPolicy {
    return { kind: 'random', shares: new Array<number>(this.K).fill(1 / this.K) };
  }
}

export const random = definePolicy({
  id: 'random',
  title: 'Random exit',
  summary: 'A uniformly random exit each round.',
  kind: 'baseline',
  params: z.object({}),
  needs: [],
  regretKind: 'fixed-exit',
  usesHindsight: false,
  learns: ['random'],
  create: (_p, env) => new RandomExit(env),
});
