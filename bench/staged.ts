/**
 * Staged execution benchmark (`npm run bench:staged`), on the sample model (or a built CNN when
 * the sample is absent, said in the output):
 *  1. every stage run, no sample exiting, against the full model: the split must cost nothing
 *     (ratio <= 1.05);
 *  2. a maxProb threshold policy that sends about half the samples out early: measured mean
 *     latency per sample against what the stage costs and the exit shares predict (within 10%),
 *     and the realized speedup over the full model.
 * Both sides run in the same process, same EP and threads, batch by batch in alternating order;
 * each figure is the median over rounds. Settings: BENCH_THREADS (default 1), BENCH_BATCH (64),
 * BENCH_SAMPLES (1024), BENCH_ROUNDS (7), BENCH_EP (cpu).
 */
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readBundle, writeBundle } from '../src/export/bundle.js';
import { outputAsFloat } from '../src/inference/tensors.js';
import { inspectModel } from '../src/model/inspect.js';
import { describeSplit, splitStages } from '../src/model/split.js';
import { gatherRows, sessionOptions } from '../src/model/split-run.js';
import { samplePaths } from '../src/paths.js';
import { firstBatch } from '../src/runtime/data.js';
import { measureStageLatency } from '../src/runtime/latency.js';
import { EarlyExitRunner } from '../src/runtime/runner.js';
import { featuresOf, softmaxInto } from '../src/trace/features.js';
import { buildCnnMultiExit, prng, randomFloats, writeTempModel, cleanupTempModels } from '../test/helpers/onnx-builder.js';

const THREADS = Number(process.env['BENCH_THREADS'] ?? 1);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 64);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 1024);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
const EP = process.env['BENCH_EP'] ?? 'cpu';

interface Row {
  what: string;
  value: string;
  target: string;
  ok: boolean | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function batches(feeds: Record<string, ort.Tensor>, n: number, size: number): Record<string, ort.Tensor>[] {
  const out: Record<string, ort.Tensor>[] = [];
  for (let s = 0; s < n; s += size) {
    const rows = Array.from({ length: Math.min(size, n - s) }, (_, i) => s + i);
    const b: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) b[k] = gatherRows(t, 0, rows);
    out.push(b);
  }
  return out;
}

/** A maxProb threshold T (same at every exit but the last) that sends about `share` of the samples out early. */
function thresholdForShare(maxProb: Float64Array, n: number, K: number, share: number): number {
  const early = (T: number): number => {
    let c = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < K - 1; k++) if (maxProb[i * K + k]! >= T) { c++; break; }
    return c / n;
  };
  let lo = 0;
  let hi = 1;
  for (let it = 0; it < 40; it++) {
    const mid = (lo + hi) / 2;
    if (early(mid) > share) lo = mid;
    else hi = mid;
  }
  return hi;
}

async function main(): Promise<void> {
  const sample = samplePaths();
  let modelPath = sample.model;
  let source = `sample model ${sample.model}`;
  let feeds: Record<string, ort.Tensor>;
  if (existsSync(sample.model) && existsSync(sample.data)) {
    const info = await inspectModel(sample.model);
    feeds = await firstBatch(sample.data, info.inputs, SAMPLES);
  } else {
    modelPath = writeTempModel(buildCnnMultiExit({ classes: 10, exits: 4, size: 28, channels: 16, seed: 3 }));
    source = `BUILT CNN (the sample model is absent at ${sample.model}): 4 exits, 16 channels, 28x28`;
    feeds = { x: new ort.Tensor('float32', randomFloats(prng(1), SAMPLES * 28 * 28, 1), [SAMPLES, 1, 28, 28]) };
  }
  const info = await inspectModel(modelPath);
  const exits = info.exits.map((e) => e.name);
  const K = exits.length;
  const n = Number(Object.values(feeds)[0]!.dims[0]);
  const settings = { ep: EP, threads: THREADS };
  console.log(`staged execution: ${source}`);
  console.log(`${n} samples, batch ${BATCH}, ${THREADS} thread(s), ep ${EP}, ${ROUNDS} rounds, exits ${exits.join(', ')}`);
  for (const line of describeSplit(await splitStages(modelPath, exits))) console.log(`  ${line}`);

  // The full model's features, to pick the threshold.
  const full = await ort.InferenceSession.create(modelPath, sessionOptions(settings));
  const all = await full.run(feeds, exits);
  const C = info.exits[0]!.classes;
  const maxProb = new Float64Array(n * K);
  const p = new Float64Array(C);
  const f = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  exits.forEach((name, k) => {
    const d = outputAsFloat(all[name]!, name);
    for (let i = 0; i < n; i++) {
      if (info.exits[k]!.kind === 'logits') softmaxInto(d, i * C, C, p);
      else for (let c = 0; c < C; c++) p[c] = d[i * C + c]!;
      featuresOf(p, C, f);
      maxProb[i * K + k] = Math.fround(f.maxProb);
    }
  });
  const T = thresholdForShare(maxProb, n, K, 0.5);

  // Costs measured on the stages themselves: the cost model a user would tune with.
  const dir = mkdtempSync(join(tmpdir(), 'exit-studio-bench-'));
  try {
    const costFeeds = batches(feeds, n, BATCH)[0]!;
    const split = await splitStages(modelPath, exits);
    const lat = await measureStageLatency(split.stages, costFeeds, { ...settings, repeats: 15 });
    const thresholds = exits.map((_, k) => (k === K - 1 ? 0 : T));
    await writeBundle(dir, {
      modelPath,
      policy: { policy: { kind: 'thresholds', measure: 'maxProb', direction: 'above', thresholds }, exitNames: exits, costs: lat.cumulative, costUnit: 'ms' },
      verifyData: costFeeds,
      ...settings,
    });
    const bundle = await readBundle(dir);
    const spec = { stages: bundle.stages, exits: bundle.exits };
    const policyRunner = await EarlyExitRunner.create({ ...spec, policy: bundle.policy.policy }, settings);
    const allStages = await EarlyExitRunner.create({ ...spec, policy: { kind: 'fixed', exit: K - 1 } }, settings);
    const list = batches(feeds, n, BATCH);
    const last = exits[K - 1]!;
    const timeFull = async (b: Record<string, ort.Tensor>): Promise<number> => {
      const t0 = performance.now();
      await full.run(b, [last]);
      return performance.now() - t0;
    };
    const timeRunner = async (r: EarlyExitRunner, b: Record<string, ort.Tensor>): Promise<number> => {
      const t0 = performance.now();
      await r.run(b);
      return performance.now() - t0;
    };
    // Warm-up: one pass of each.
    for (const b of list.slice(0, 2)) {
      await timeFull(b);
      await timeRunner(allStages, b);
      await timeRunner(policyRunner, b);
    }
    const exitCounts = new Array<number>(K).fill(0);
    for (const b of list) {
      const r = await policyRunner.run(b);
      for (const e of r.exit) exitCounts[e]!++;
    }
    const fullR: number[] = [];
    const stagesR: number[] = [];
    const policyR: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let tf = 0;
      let ts = 0;
      let tp = 0;
      for (const [i, b] of list.entries()) {
        // Rotate the order so no side always runs on the warmest caches.
        const order = [0, 1, 2].map((j) => (j + i + round) % 3);
        for (const j of order) {
          if (j === 0) tf += await timeFull(b);
          else if (j === 1) ts += await timeRunner(allStages, b);
          else tp += await timeRunner(policyRunner, b);
        }
      }
      fullR.push(tf / n);
      stagesR.push(ts / n);
      policyR.push(tp / n);
    }
    await policyRunner.release();
    await allStages.release();

    const fullMs = median(fullR);
    const stagesMs = median(stagesR);
    const policyMs = median(policyR);
    const shares = exitCounts.map((c) => c / n);
    const predicted = shares.reduce((s, sh, k) => s + sh * lat.cumulative[k]!, 0);
    const relErr = Math.abs(policyMs - predicted) / predicted;
    const ratio = stagesMs / fullMs;
    const rows: Row[] = [
      { what: 'full model, ms/sample', value: fullMs.toFixed(4), target: '(reference)', ok: null },
      { what: 'all stages (nobody exits), ms/sample', value: stagesMs.toFixed(4), target: '', ok: null },
      { what: 'all stages / full model', value: ratio.toFixed(3), target: '<= 1.05', ok: ratio <= 1.05 },
      { what: 'stage costs, cumulative ms/sample', value: lat.cumulative.map((c) => c.toFixed(4)).join(' / '), target: '(measured at batch ' + BATCH + ')', ok: null },
      { what: `maxProb >= ${T.toFixed(4)}: exit shares`, value: shares.map((s) => `${(100 * s).toFixed(1)}%`).join(' / '), target: '~50% before the last exit', ok: null },
      { what: 'policy: predicted ms/sample (shares x costs)', value: predicted.toFixed(4), target: '', ok: null },
      { what: 'policy: measured ms/sample', value: policyMs.toFixed(4), target: '', ok: null },
      { what: 'policy: |measured - predicted| / predicted', value: `${(100 * relErr).toFixed(1)}%`, target: '<= 10%', ok: relErr <= 0.1 },
      { what: 'policy: speedup over the full model', value: `${(fullMs / policyMs).toFixed(2)}x`, target: '(report)', ok: null },
    ];
    const w = Math.max(...rows.map((r) => r.what.length));
    const v = Math.max(...rows.map((r) => r.value.length));
    console.log(`\n${'measure'.padEnd(w)}  ${'result'.padEnd(v)}  target`);
    for (const r of rows) console.log(`${r.what.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target}${r.ok === null ? '' : r.ok ? ' ok' : ' MISSED'}`);
    console.log(`\nrounds (ms/sample): full ${fullR.map((x) => x.toFixed(4)).join(' ')}; stages ${stagesR.map((x) => x.toFixed(4)).join(' ')}; policy ${policyR.map((x) => x.toFixed(4)).join(' ')}`);
  } finally {
    await full.release();
    rmSync(dir, { recursive: true, force: true });
    cleanupTempModels();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
