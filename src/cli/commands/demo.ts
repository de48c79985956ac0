/**
 * exit-studio demo: the main job on the embedded sample, start to finish.
 * inspect → infer (stored; reused on a second run) → diagnostics → the three
 * learned policies and the baselines side by side on the same seeds.
 */
import { existsSync } from 'node:fs';
import { call } from '../../api/commands.js';
import { StudioError } from '../../errors.js';
import { samplePaths } from '../../paths.js';
import { flag, int, parse, str } from '../args.js';
import type { CliEnv } from '../context.js';
import { seconds } from '../output.js';
import { printModel } from './inspect.js';
import { printComparison, printDiagnostics } from './policies.js';

export const usage = 'demo [--seeds S] [--db PATH] [--json]  run the whole job on the embedded sample model and data';

/** The budget EENet and the calibrated threshold baseline are held to: half the full model's cost. */
const BUDGET = 0.5;
/**
 * The trade-off the bandits optimize: error + LAMBDA * cost. At 0.3 the full
 * model's compute is worth 30 points of accuracy, which makes the second exit
 * of the sample the best fixed choice (at 1 the cheap first exit would win).
 */
const LAMBDA = 0.3;
/**
 * DEE's settings on the sample: with its defaults (alpha 1, 10 bins) DEE still
 * explores when the 10,000-image stream ends (on its learned rule in 44 % of
 * the last tenth of the rounds); with alpha 0.005 and 5 bins it settles (96 %)
 * at a regret of 19 in its units (docs/policies.md, "The sample converges").
 */
const DEE_ON_SAMPLE = { alpha: 0.005, bins: 5 };

export async function run(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const p = parse(argv, { seeds: { type: 'string' } });
  const sample = samplePaths();
  for (const f of [sample.model, sample.data, sample.labels]) {
    if (!existsSync(f)) throw new StudioError(`${f}: the embedded sample is missing; see resources/README.md to make it again`, { kind: 'internal', file: f });
  }
  const ctx = env.context(str(p, 'db'), signal);
  const o = env.out;
  const json = flag(p, 'json');

  o.line('1. Inspect the sample model');
  const info = await call(ctx, 'model.inspect', { path: sample.model });
  if (!json) printModel(info, env);

  o.line('');
  o.line('2. Run it over the sample data (every exit recorded, probabilities kept)');
  const inf = await call(ctx, 'trace.infer', { model: sample.model, data: sample.data, labels: sample.labels, probs: true, name: 'sample: Fashion-MNIST CNN, 4 exits' });
  o.endProgress();
  o.line(
    inf.reused
      ? `   trace ${inf.traceId}: already stored from an earlier demo (${inf.samples} samples × ${inf.exits} exits)`
      : `   trace ${inf.traceId}: ${inf.samples} samples × ${inf.exits} exits in ${seconds(inf.seconds)} (${inf.samplesPerSecond.toFixed(0)} samples/s)`,
  );

  o.line('');
  o.line('3. What each exit costs and how good it is');
  const diag = await call(ctx, 'trace.diagnose', { id: inf.traceId });
  if (!json) printDiagnostics(diag, env);

  o.line('');
  o.line(`4. Policies side by side on the same ${int(p, 'seeds') ?? 20} seeds (unsupervised: labels only score the runs)`);
  const seeds = int(p, 'seeds') ?? 20;
  const runs = await call(ctx, 'policy.run', {
    traceId: inf.traceId,
    policies: ['uee-ucb', { policy: 'dee', params: DEE_ON_SAMPLE }, 'ceebert', 'eenet', 'last', 'random', 'best-fixed', `maxprob@budget:${BUDGET}`, 'patience:2'],
    seeds,
    lambda: LAMBDA,
    params: { budget: BUDGET },
    name: 'demo',
  });
  o.endProgress();
  if (json) {
    o.result({ model: info.path, trace: inf.traceId, diagnostics: diag, runs: runs.runs });
    return;
  }
  printComparison(runs, env);
  o.line('');
  o.line(`Cost is the share of the full model's MACs. UEE-UCB weighs error + ${LAMBDA} × cost, DEE (alpha ${DEE_ON_SAMPLE.alpha}, ${DEE_ON_SAMPLE.bins} bins) and CeeBERT confidence − ${LAMBDA} × cost; EENet and the calibrated threshold are held to a mean cost of ${BUDGET}.`);
  o.line('Next: `exit-studio runs list`, `exit-studio export RUN --out policy.json`, or `exit-studio serve` for the studio in a browser.');
}
