/** Where the project's own files are, from source (tsx) or compiled (dist/) code alike. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding the project's package.json. */
export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  root = dir;
  return dir;
}

/**
 * The embedded sample: the model, the whole Fashion-MNIST test set (10,000
 * images; one compressed .npz member, `image`, named after the model's input)
 * and its labels.
 */
export function samplePaths(): { model: string; data: string; labels: string } {
  const dir = join(projectRoot(), 'resources', 'sample');
  return { model: join(dir, 'model.onnx'), data: join(dir, 'data.npz'), labels: join(dir, 'labels.npy') };
}

/** The shared data folder beside the checkout (present in CI, absent in a user's clone). */
export function sharedDataDir(): string {
  return join(projectRoot(), '..', 'shared', 'data');
}
