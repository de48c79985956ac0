/**
 * Best fixed exit: the exit minimizing err_k + lambda*C_k on the calibration
 * data, err from its labels. A reference, not a learner: it needs labels no
 * deployment has. Scored on the samples it was chosen on (in-sample), its
 * figures are hindsight. It was called `oracle` before the per-sample oracle
 * (oracle.ts) took that name.
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

export function bestFixedPolicy(env: PolicyEnv): FixedExit {
  const err = errorRates(env.calibration, true);
  return new FixedExit(bestFixedExit(err, env.costs), 'best-fixed');
}

export const bestFixed = definePolicy({
  id: 'best-fixed',
  renamedFrom: [
    {
      head: 'oracle',
      note: '`oracle` was renamed `best-fixed` (the best fixed exit, chosen from labels); the per-sample oracle (the cheapest correct exit of each sample) is drawn as the ceiling of the accuracy–cost charts and reported by `diagnose`',
    },
  ],
  title: 'Best fixed exit',
  summary: 'The fixed exit with the least error + lambda cost on the calibration data, from its labels.',
  kind: 'fitted',
  params: z.object({}),
  needs: ['labels'],
  regretKind: 'fixed-exit',
  usesHindsight: true,
  learns: ['fixed'],
  create: (_p, env) => bestFixedPolicy(env),
});
