/**
 * Commands that take a tuned policy to deployment: a staged bundle, and
 * applying it to data with measured savings. The bundle code (onnxruntime,
 * the stage splitter) loads when one of them runs.
 */
import { resolve } from 'node:path';
import { appVersion } from '../version.js';
import { command } from './command.js';
import { checkTraceModel } from './model-match.js';
import { applyInput, bundleInput } from './schemas.js';

export const deployCommands = {
  'run.bundle': command(
    bundleInput,
    async (ctx, input) => {
      const run = ctx.store.runs.getComplete(input.runId);
      const trace = ctx.store.traces.meta(run.traceId);
      const modelPath = resolve(input.model);
      const force = input.force === true;
      const checked = await checkTraceModel(trace, modelPath, force);
      const { writeBundle } = await import('../export/bundle.js');
      const written = await writeBundle(resolve(input.out), {
        modelPath,
        policy: {
          policy: run.learned,
          exitNames: trace.exits.map((e) => e.name),
          costs: run.config.costs ?? trace.costs,
          costUnit: run.config.costSource ?? trace.costSource,
          name: run.policy,
        },
        appVersion,
        ...(input.verifyData ? { verifyData: resolve(input.verifyData) } : {}),
        ...(input.ep ? { ep: input.ep } : {}),
        ...(input.threads ? { threads: input.threads } : {}),
        ...(input.overwrite || force ? { overwrite: true } : {}),
      });
      return { ...written, warnings: [...checked, ...written.warnings] };
    },
    true,
  ),
  'bundle.apply': command(
    applyInput,
    async (_ctx, input) =>
      (await import('../export/bundle.js')).applyBundle(resolve(input.dir), resolve(input.data), {
        ...(input.labels ? { labels: resolve(input.labels) } : {}),
        ...(input.ep ? { ep: input.ep } : {}),
        ...(input.threads ? { threads: input.threads } : {}),
        ...(input.batch ? { batch: input.batch } : {}),
        ...(input.limit ? { limit: input.limit } : {}),
      }),
    true,
  ),
};
