/** Fixed-exit baselines: always exit k ("fixed:k", 1-based in specs) or always the last exit ("last"). */
import { z } from 'zod';
import { definePolicy } from './module.js';
import type { LearnedPolicy, Policy } from './types.js';

export class FixedExit implements Policy {
  readonly name: string;
  constructor(private readonly exit: number, name?: string) {
    this.name = name ?? `fixed:${exit + 1}`;
  }
  begin(): number {
    return this.exit;
  }
  stop(): boolean {
    return true;
  }
  end(): void {}
  learned(): LearnedPolicy {
    return { kind: 'fixed', exit: this.exit };
  }
}

export const last = definePolicy({
  id: 'last',
  title: 'Last exit',
  summary: 'Always the full model.',
  kind: 'baseline',
  params: z.object({}),
  needs: [],
  regretKind: 'fixed-exit',
  usesHindsight: false,
  learns: ['fixed'],
  create: (_p, env) => new FixedExit(env.exits - 1, 'last'),
});

export const fixed = definePolicy({
  id: 'fixed',
  title: 'Fixed exit',
  summary: 'Always exit k (fixed:K, exits numbered from 1).',
  kind: 'baseline',
  params: z.object({
    exit: z.number().int('exit numbers are whole numbers').min(1, 'exit numbers start at 1').meta({ title: 'Exit', description: 'The exit every sample takes, numbered from 1 in depth order.', examples: [1] }),
  }),
  arg: { param: 'exit', noun: 'an exit number' },
  needs: [],
  regretKind: 'fixed-exit',
  usesHindsight: false,
  learns: ['fixed'],
  refuse: (p, trace) => (p.exit > trace.exits.length ? `this trace has exits 1..${trace.exits.length}` : undefined),
  create: (p) => new FixedExit(p.exit - 1),
});
