/**
 * A policy is tuned on the scores of one model's exits. Bundling it with
 * another model (the same exit names, other weights) would deploy thresholds
 * learned on scores that model never produces, and the split's verification
 * could not tell: it checks the stages against the model given, not against
 * the trace. So the model's hash is compared with the one the trace recorded.
 */
import { inputError } from '../errors.js';
import { statRegular } from '../files/regular.js';
import { sha256File } from '../hash.js';
import type { TraceMeta } from '../trace/types.js';

/**
 * Refuses a model other than the trace's unless `force`; returns warnings for what cannot be checked or was forced.
 * `trace` is the stored trace, or what an exit-policy file says of the trace and model it was tuned on.
 */
export async function checkTraceModel(trace: Pick<TraceMeta, 'id' | 'modelSha256' | 'modelPath'>, modelPath: string, force: boolean): Promise<string[]> {
  if (!trace.modelSha256) {
    return [`trace ${trace.id} was imported, not recorded by the studio, so whether ${modelPath} is the model it came from cannot be checked`];
  }
  await statRegular(modelPath, 'model file');
  // The model's identity covers its external weights (model/digest.ts), as the trace recorded it. The ONNX
  // parser loads here, when a bundle is made, not with the command table.
  const [{ loadModel }, { digestFiles, externalFiles }] = await Promise.all([import('../model/load.js'), import('../model/digest.js')]);
  const weights = externalFiles(await loadModel(modelPath));
  const sha = await digestFiles(modelPath, weights);
  if (sha === trace.modelSha256) return [];
  if (weights.length && (await sha256File(modelPath)) === trace.modelSha256) {
    // Traces recorded before the identity covered external weights hold the hash of the .onnx file alone.
    return [`trace ${trace.id} records the hash of ${modelPath}'s graph alone, not of its external weights, so those were not checked against it`];
  }
  const why =
    `is not the model trace ${trace.id} was recorded with (its sha256 is ${sha.slice(0, 12)}…; the trace's model, ${trace.modelPath ?? 'unknown'}, ` +
    `has ${trace.modelSha256.slice(0, 12)}…)`;
  if (!force) {
    throw inputError(modelPath, `${why}: the policy was tuned on that model's scores; bundle that model, or force this one to be bundled anyway`, undefined, 'force');
  }
  return [`${modelPath} ${why}; bundled anyway, as forced`];
}
