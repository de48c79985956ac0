/**
 * Best fixed exit in hindsight: the exit minimizing err_k + lambda*C_k over
 * the whole trace, err from labels. A reference, not a learner: it reads the
 * trace's labels in hindsight (so it needs them), which no deployment can.
 */
import { z } from 'zod';
import { errorRates } from './reference.js';
import { FixedExit } from './fixed.js';
import { definePolicy } from './module.js';
import type { PolicyEnv } from './types.js';

export function bestFixedExit(errors: Float64Array, costs: Float64Array): number {
  let best = 0;
  for (let k = 1; k < errors.length; k++) {
    if (errors[k]! + costs[k]! < errors[best]! + costs[best]!) best = k;
  }
  return best;
}

export function oraclePolicy(env: PolicyEnv): FixedExit {
  const err = errorRates(env.hindsight, true);
  return new FixedExit(bestFixedExit(err, env.costs), 'oracle');
}

export const oracle = definePolicy({
  id: 'oracle',
  title: 'Best fixed exit (hindsight)',
  summary: 'The fixed exit with the least error + lambda cost on the whole trace, from its labels.',
  kind: 'fitted',
  params: z.object({}),
  needs: ['labels'],
  regretKind: 'fixed-exit',
  usesHindsight: true,
  learns: ['fixed'],
  create: (_p, env) => oraclePolicy(env),
});
