/**
 * Commands that take a tuned policy to deployment: a staged bundle, and
 * applying it to data with measured savings. The bundle code (onnxruntime,
 * the stage splitter) loads when one of them runs.
 */
import { resolve } from 'node:path';
import { bundlePolicyOf, readPolicyFile } from '../export/policy-file-read.js';
import { policyFileOf } from './policy-commands.js';
import { appVersion } from '../version.js';
import { command } from './command.js';
import { phaseEvent } from './context.js';
import { checkTraceModel } from './model-match.js';
import { applyInput, bundleInput } from './schemas.js';

export const deployCommands = {
  'run.bundle': command(
    bundleInput,
    async (ctx, input) => {
      // A run is bundled as its exit-policy file would be: the same rule, exits, costs and estimates.
      const read = input.policyFile !== undefined ? readPolicyFile(resolve(input.policyFile)) : ({ version: 2, file: policyFileOf(ctx, input.runId!) } as const);
      const modelPath = resolve(input.model);
      const force = input.force === true;
      // The file names the model its trace was recorded with (null for an imported trace), as the store does.
      const { trace, model } = read.file;
      const checked = await checkTraceModel({ id: trace.id, ...(model ? { modelSha256: model.sha256, modelPath: model.path } : {}) }, modelPath, force);
      const { writeBundle } = await import('../export/bundle.js');
      const written = await writeBundle(resolve(input.out), {
        modelPath,
        policy: bundlePolicyOf(read),
        appVersion,
        ...(input.verifyData ? { verifyData: resolve(input.verifyData) } : {}),
        ...(input.ep ? { ep: input.ep } : {}),
        ...(input.threads ? { threads: input.threads } : {}),
        ...(input.overwrite || force ? { overwrite: true } : {}),
      }, (p) => ctx.emit(phaseEvent('bundle', p)));
      return { ...written, warnings: [...checked, ...written.warnings] };
    },
    true,
  ),
  'bundle.apply': command(
    applyInput,
    async (ctx, { dir, data, ...options }) =>
      (await import('../export/bundle.js')).applyBundle(resolve(dir), resolve(data), {
        ...options,
        ...(options.labels ? { labels: resolve(options.labels) } : {}),
        ...(options.model ? { model: resolve(options.model) } : {}),
      }, (p) => ctx.emit(phaseEvent('apply', p))),
    true,
  ),
};
