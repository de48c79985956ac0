/** A python3 with torch and onnx, for the tests that export models with torch.onnx.export on the fly. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';

/** A python3 that imports torch and onnx ($PYTHON when set; Debian's when a python3 earlier on the PATH lacks them), or why there is none. */
export function findPython(): { python: string } | { missing: string } {
  const tried: string[] = [];
  for (const python of process.env.PYTHON ? [process.env.PYTHON] : ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
    if (r.status === 0) return { python };
    tried.push(python);
  }
  return { missing: `no python3 with torch and onnx (tried ${tried.join(', ')}); install python3-torch and python3-onnx` };
}

/** Runs test/fixtures/make_torch_models.py into `dir` (only the named models when some are given); throws with its stderr when it fails. */
export function makeTorchModels(python: string, dir: string, names: string[] = []): void {
  const r = spawnSync(python, [join(projectRoot(), 'test', 'fixtures', 'make_torch_models.py'), dir, ...names], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`make_torch_models.py failed:\n${r.stderr}`);
}
