/** Small synthetic traces for tests of the store and exports (values from a seeded generator). */
import type { Trace } from '../../src/trace/types.js';

export function syntheticTrace(samples: number, exits: number, classes: number, opts: { probs?: boolean; labels?: boolean; seed?: number } = {}): Trace {
  let s = opts.seed ?? 1;
  const rand = (): number => {
    // mulberry32: tiny, seeded, good enough for test data.
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = samples * exits;
  const t: Trace = {
    samples,
    exits: Array.from({ length: exits }, (_, k) => ({ name: `exit_${k + 1}`, macs: (k + 1) * 1000 })),
    classes,
    costs: Float64Array.from({ length: exits }, (_, k) => (k + 1) / exits),
    costSource: 'macs',
    pred: Int32Array.from({ length: n }, () => Math.floor(rand() * classes)),
    maxProb: Float32Array.from({ length: n }, () => 1 / classes + rand() * (1 - 1 / classes)),
    entropy: Float32Array.from({ length: n }, () => rand()),
    margin: Float32Array.from({ length: n }, () => rand() * 0.5),
  };
  if (opts.probs) {
    const p = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += p[i * classes + c] = rand();
      for (let c = 0; c < classes; c++) p[i * classes + c]! /= sum;
    }
    t.probs = p;
  }
  if (opts.labels) t.labels = Int32Array.from({ length: samples }, () => Math.floor(rand() * classes));
  return t;
}
