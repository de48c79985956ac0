/**
 * Where an ONNX model's external data may lie. The ONNX format resolves a
 * tensor's `location` relative to the model's folder; an absolute path, a
 * path climbing out with `..`, or a link inside the folder pointing out of
 * it would make the studio (and onnxruntime) read any file the user can read
 * as weights, a device like /dev/zero included. Such a location is refused,
 * and so is anything at it that is not a regular file.
 */
import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { notRegular } from '../files/regular.js';

function inside(folder: string, file: string): boolean {
  const rel = relative(folder, file);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** Why the external data file at `file` (named `location` in `model`) may not be read, or undefined when it may. */
export async function externalDataProblem(model: string, location: string, file: string): Promise<string | undefined> {
  const folder = dirname(model);
  if (isAbsolute(location) || !inside(folder, file)) {
    return `lies outside the model's folder (${folder}); ONNX external data is named relative to the model and stays beside it`;
  }
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return undefined; // missing: the caller says so, naming where it looked
  }
  if (!inside(await realpath(folder), real)) return `is a link to ${real}, outside the model's folder; external data stays beside the model`;
  return notRegular(await stat(real));
}
