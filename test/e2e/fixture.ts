/**
 * What the end-to-end tests open: the embedded sample when it is built
 * (resources/sample), else a small multi-exit MLP and random data made here,
 * so the suite runs on a fresh clone too.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNpy } from '../../src/data/npy.js';
import { samplePaths } from '../../src/paths.js';
import { buildMlpMultiExit, prng } from '../helpers/onnx-builder.js';

export interface Fixture {
  model: string;
  data: string;
  labels: string;
  /** True when these are the real sample's files (the "Use the sample" buttons work). */
  sample: boolean;
}

export function fixture(dir: string, samples = 600): Fixture {
  const s = samplePaths();
  if (existsSync(s.model) && existsSync(s.data)) return { ...s, sample: true };
  mkdirSync(dir, { recursive: true });
  const inputDim = 16;
  const classes = 5;
  const model = join(dir, 'mlp4.onnx');
  writeFileSync(model, buildMlpMultiExit({ inputDim, hidden: 24, classes, exits: 4, seed: 7 }));
  const rand = prng(11);
  const x = new Float32Array(samples * inputDim);
  for (let i = 0; i < x.length; i++) x[i] = rand() * 2 - 1;
  const y = new Int32Array(samples);
  for (let i = 0; i < samples; i++) y[i] = Math.floor(rand() * classes);
  const data = join(dir, 'data.npy');
  const labels = join(dir, 'labels.npy');
  writeNpy(data, 'float', [samples, inputDim], x);
  writeNpy(labels, 'int64', [samples], y);
  return { model, data, labels, sample: false };
}
