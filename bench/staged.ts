/**
 * Staged execution benchmark (`npm run bench:staged`). For each model (the sample model, or a
 * built CNN when the sample is absent; then a larger residual CNN the bench builds):
 *  1. every stage run, no sample exiting, against the full model: the split must cost nothing
 *     (ratio <= 1.05). The stages are those a deployment runs (EarlyExitRunner: re-cut from
 *     onnxruntime's optimized graph for this CPU, split-optimize.ts); the portable stages (cut
 *     from the original graph, as a bundle stores them) are timed beside them for comparison;
 *  2. a maxProb threshold policy that sends about half the samples out early (as many at each
 *     early exit): measured mean latency per sample against what the stage costs (StageTimer,
 *     timed in the same rounds) and the exit shares predict (within 10%), and the realized
 *     speedup over the full model.
 * The full model runs at its best graph optimization level (each level is timed first). Every
 * side runs in the same process, same EP and threads, same batches, warm sessions, in a fresh
 * random order batch by batch; ms/sample figures are medians over rounds, ratios medians of the
 * per-batch ratios (both sides run back to back on the same batch), which a busy machine's load
 * swings disturb least. One more side times the full model also fetching the tensors that cross
 * the cuts: onnxruntime-node copies every fetched output into JavaScript memory, so this is the
 * floor of what any split costs on that model (docs/deploy.md, "What the split costs").
 * Settings: BENCH_THREADS (default 1), BENCH_BATCH (64), BENCH_SAMPLES (1024), BENCH_ROUNDS (9),
 * BENCH_EP (cpu), BENCH_MODELS (sample,resnet), BENCH_RESNET_SAMPLES (128), BENCH_RESNET_BATCH (32).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readBundle, writeBundle } from '../src/export/bundle.js';
import { outputAsFloat } from '../src/inference/tensors.js';
import { inspectModel } from '../src/model/inspect.js';
import { proto } from '../src/model/proto.js';
import { mergeStages, prepareStages, standalone } from '../src/model/split-optimize.js';
import { describeSplit, splitStages } from '../src/model/split.js';
import { gatherRows, sessionOptions, type SessionSettings, type StageIO } from '../src/model/split-run.js';
import { samplePaths } from '../src/paths.js';
import { firstBatch } from '../src/runtime/data.js';
import { measureStageLatency, StageTimer } from '../src/runtime/latency.js';
import { EarlyExitRunner } from '../src/runtime/runner.js';
import { featuresOf, softmaxInto } from '../src/trace/features.js';
import { buildCnnMultiExit, cleanupTempModels, floatTensor, makeModel, node, prng, randomFloats, valueInfo, writeTempModel } from '../test/helpers/onnx-builder.js';
import type { onnx } from '../src/model/proto.js';
import { median } from './median.js';

const THREADS = Number(process.env['BENCH_THREADS'] ?? 1);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 64);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 1024);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 9);
const EP = process.env['BENCH_EP'] ?? 'cpu';
const MODELS = (process.env['BENCH_MODELS'] ?? 'sample,resnet').split(',').map((s) => s.trim());
const LEVELS = ['all', 'extended', 'basic', 'disabled'] as const;
type Level = (typeof LEVELS)[number];

interface Row {
  what: string;
  value: string;
  target: string;
  ok: boolean | null;
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

/** 0..n-1 in a random order (Fisher-Yates). */
function shuffled(n: number, rand: () => number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * maxProb thresholds, one per exit but the last, that send about `share` of the samples out early,
 * the same number at each early exit: exit k's threshold is the maxProb quantile, among the samples
 * still running there, that lets its part go.
 */
function thresholdsForShare(maxProb: Float64Array, n: number, K: number, share: number): number[] {
  const running = Array.from({ length: n }, (_, i) => i);
  const per = Math.round((share * n) / (K - 1));
  const out: number[] = [];
  let alive = running;
  for (let k = 0; k < K - 1; k++) {
    const values = alive.map((i) => maxProb[i * K + k]!).sort((x, y) => y - x);
    // Exit when maxProb >= T: T is the per-th largest value (ties may let a few more go).
    const T = values.length > per ? values[Math.max(0, per - 1)]! : 0;
    out.push(T);
    alive = alive.filter((i) => !(maxProb[i * K + k]! >= T));
  }
  out.push(0);
  return out;
}

/**
 * A residual CNN of realistic proportions for 32x32 RGB images (a half-width ResNet-18): per stage a
 * stride-2 3x3 conv (a stride-1 stem in stage 1), then `blocks` basic blocks
 * (relu(conv(relu(conv(x))) + x)), and an exit head (global average pool, linear) after every stage.
 */
function buildResidualCnn(o: { widths: number[]; blocks: number; size: number; classes: number; seed: number }): Uint8Array {
  const rand = prng(o.seed);
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let id = 0;
  const conv = (x: string, cin: number, cout: number, stride: number, relu: boolean): string => {
    const k = id++;
    const he = Math.sqrt(6 / (cin * 9)); // uniform He init: activations keep their scale
    inits.push(floatTensor(`w${k}`, [cout, cin, 3, 3], randomFloats(rand, cout * cin * 9, he)));
    inits.push(floatTensor(`b${k}`, [cout], randomFloats(rand, cout, 0.05)));
    nodes.push(node('Conv', [x, `w${k}`, `b${k}`], [`c${k}`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [stride, stride] }));
    if (!relu) return `c${k}`;
    nodes.push(node('Relu', [`c${k}`], [`r${k}`]));
    return `r${k}`;
  };
  let h = 'x';
  let cin = 3;
  const outputs: onnx.IValueInfoProto[] = [];
  o.widths.forEach((w, s) => {
    h = conv(h, cin, w, s === 0 ? 1 : 2, true);
    cin = w;
    for (let b = 0; b < o.blocks; b++) {
      const y = conv(conv(h, w, w, 1, true), w, w, 1, false);
      nodes.push(node('Add', [y, h], [`add${s}_${b}`]));
      nodes.push(node('Relu', [`add${s}_${b}`], [`s${s}_${b}`]));
      h = `s${s}_${b}`;
    }
    nodes.push(node('GlobalAveragePool', [h], [`gap${s}`]));
    nodes.push(node('Flatten', [`gap${s}`], [`flat${s}`], { axis: 1 }));
    // Activations grow with depth (random weights, residual sums): smaller heads deeper keep the
    // logits' spread alike at every exit, so maxProb thresholds split the samples at each.
    const head = [3, 3, 0.8, 0.4][Math.min(s, 3)]!;
    inits.push(floatTensor(`hw${s}`, [o.classes, w], randomFloats(rand, o.classes * w, head / Math.sqrt(w))));
    inits.push(floatTensor(`hb${s}`, [o.classes], randomFloats(rand, o.classes, 0.1)));
    nodes.push(node('Gemm', [`flat${s}`, `hw${s}`, `hb${s}`], [`exit_${s + 1}`], { transB: 1 }));
    outputs.push(valueInfo(`exit_${s + 1}`, ['batch', o.classes]));
  });
  return makeModel({ nodes, initializers: inits, inputs: [valueInfo('x', ['batch', 3, o.size, o.size])], outputs });
}

/** Random images with a random contrast each (x0.1 to x2), so the exits' confidence varies from sample to sample. */
function contrasted(data: Float32Array, count: number): Float32Array {
  const rand = prng(5);
  const per = data.length / count;
  for (let i = 0; i < count; i++) {
    const f = 0.1 + 1.9 * rand();
    for (let j = i * per; j < (i + 1) * per; j++) data[j]! *= f;
  }
  return data;
}

/** The optimized stages merged back (the optimized full model), also outputting every cut tensor. */
async function fullWithCutTensors(modelPath: string, exits: string[], settings: SessionSettings): Promise<{ bytes: Uint8Array; names: string[]; layout: string }> {
  const split = await splitStages(modelPath, exits);
  const prepared = await prepareStages(split.stages.map((s) => ({ ...s, carriedOut: s.carriedOut.map((b) => ({ name: b.name, batchAxis: 0 })) })), settings);
  const parts: (StageIO & { bytes: Uint8Array })[] = [];
  for (const s of prepared.stages) parts.push({ ...s, bytes: await standalone(s) });
  const model = proto.ModelProto.decode(mergeStages(parts));
  const names: string[] = [];
  for (const s of parts) {
    const outs = proto.ModelProto.decode(s.bytes).graph?.output ?? [];
    for (const o of outs.slice(1)) {
      if (o.name && !names.includes(o.name)) {
        names.push(o.name);
        model.graph!.output!.push(o);
      }
    }
  }
  return { bytes: proto.ModelProto.encode(model).finish(), names, layout: prepared.layout };
}

interface Case {
  label: string;
  modelPath: string;
  feeds: Record<string, ort.Tensor>;
  batch: number;
  rounds: number;
}

async function bench(c: Case): Promise<boolean> {
  const { modelPath, feeds, batch } = c;
  const info = await inspectModel(modelPath);
  const exits = info.exits.map((e) => e.name);
  const K = exits.length;
  const n = Number(Object.values(feeds)[0]!.dims[0]);
  const settings: SessionSettings = { ep: EP, threads: THREADS };
  const list = batches(feeds, n, batch);
  console.log(`\n=== ${c.label}`);
  console.log(`${n} samples, batch ${batch}, ${THREADS} thread(s), ep ${EP}, ${c.rounds} rounds, exits ${exits.join(', ')}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs`);
  console.log('portable split (what a bundle stores):');
  for (const line of describeSplit(await splitStages(modelPath, exits))) console.log(`  ${line}`);

  // The full model at its best graph optimization level on this machine.
  const levelMs: Record<string, number> = {};
  const sessions = new Map<Level, ort.InferenceSession>();
  for (const level of LEVELS) sessions.set(level, await ort.InferenceSession.create(modelPath, { ...sessionOptions(settings), graphOptimizationLevel: level }));
  const last = exits[K - 1]!;
  const levelTimes = new Map<Level, number[]>(LEVELS.map((l) => [l, []]));
  for (let pass = 0; pass < 3; pass++) {
    for (const b of list) {
      for (const level of LEVELS) {
        const t0 = performance.now();
        await sessions.get(level)!.run(b, [last]);
        if (pass > 0) levelTimes.get(level)!.push(performance.now() - t0);
      }
    }
  }
  for (const level of LEVELS) levelMs[level] = (median(levelTimes.get(level)!) * list.length) / n;
  const best = LEVELS.reduce((a, b) => (levelMs[b]! < levelMs[a]! ? b : a));
  for (const level of LEVELS) if (level !== best) await sessions.get(level)!.release();
  const full = sessions.get(best)!;
  console.log(`full model by optimization level, ms/sample: ${LEVELS.map((l) => `${l} ${levelMs[l]!.toFixed(4)}`).join(', ')}; reference: '${best}'`);

  // The full model's features, to pick the threshold.
  const all = await full.run(feeds, exits);
  const C = info.exits[0]!.classes;
  const maxProb = new Float64Array(n * K);
  const p = new Float64Array(C);
  const f = { pred: 0, maxProb: 0, entropy: 0, margin: 0 };
  exits.forEach((name, k) => {
    const d = outputAsFloat(all[name]!, name);
    for (let i = 0; i < n; i++) {
      if (info.exits[k]!.kind === 'logits') softmaxInto(d, i * C, C, p);
      else for (let cc = 0; cc < C; cc++) p[cc] = d[i * C + cc]!;
      featuresOf(p, C, f);
      maxProb[i * K + k] = Math.fround(f.maxProb);
    }
  });
  const thresholds = thresholdsForShare(maxProb, n, K, 0.5);

  const dir = mkdtempSync(join(tmpdir(), 'exit-studio-bench-'));
  try {
    // Costs measured on the deployed stages themselves: the cost model a user would tune with.
    const costFeeds = list[0]!;
    const split = await splitStages(modelPath, exits);
    const lat = await measureStageLatency(split.stages, costFeeds, { ...settings, repeats: 15 });
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
    const portable = await EarlyExitRunner.create({ ...spec, policy: { kind: 'fixed', exit: K - 1 } }, { ...settings, optimize: false });
    if (allStages.note) console.log(`note: ${allStages.note}`);
    const floor = await fullWithCutTensors(modelPath, exits, settings);
    const floorSession = await ort.InferenceSession.create(floor.bytes, sessionOptions(settings));
    const floorFetch = [last, ...floor.names];
    console.log(`deployed stages: ${allStages.layout}; tensors crossing the cuts: ${floor.names.join(', ')}`);

    const timeFull = async (s: ort.InferenceSession, b: Record<string, ort.Tensor>, fetch: string[]): Promise<number> => {
      const t0 = performance.now();
      await s.run(b, fetch);
      return performance.now() - t0;
    };
    const timeRunner = async (r: EarlyExitRunner, b: Record<string, ort.Tensor>): Promise<number> => {
      const t0 = performance.now();
      await r.run(b);
      return performance.now() - t0;
    };
    // The cost model, timed in the same rounds: measureStageLatency's pass (each stage with its
    // exit's features and the hand-over of its carried tensors), batch by batch.
    const timer = await StageTimer.create(split.stages, settings);
    let lastStageMs: number[] = [];
    const timeCosts = async (b: Record<string, ort.Tensor>): Promise<number> => {
      const t0 = performance.now();
      lastStageMs = await timer.time(b);
      return performance.now() - t0;
    };
    const sides: ((b: Record<string, ort.Tensor>) => Promise<number>)[] = [
      (b) => timeFull(full, b, [last]),
      (b) => timeRunner(allStages, b),
      (b) => timeRunner(policyRunner, b),
      (b) => timeRunner(portable, b),
      (b) => timeFull(floorSession, b, floorFetch),
      timeCosts,
    ];
    const FULL = 0, STAGES = 1, POLICY = 2, PORTABLE = 3, FLOOR = 4, COSTS = 5;
    // Warm-up: two passes of each.
    for (const b of list.slice(0, 2)) for (const side of sides) await side(b);
    const exitCounts = new Array<number>(K).fill(0);
    for (const b of list) {
      const r = await policyRunner.run(b);
      for (const e of r.exit) exitCounts[e]!++;
    }
    const shares = exitCounts.map((x) => x / n);
    // perRound[side][round]: ms/sample; pairs[side]: side / full, batch by batch (run back to back).
    const perRound: number[][] = sides.map(() => []);
    const pairs: number[][] = sides.map(() => []);
    const rand = prng(20240611);
    const costRounds: number[][] = []; // cumulative ms/sample per exit, per round, from the all-stages runs
    const predictedRounds: number[] = [];
    for (let round = 0; round < c.rounds; round++) {
      const tot = sides.map(() => 0);
      const stageTot = new Array<number>(K).fill(0);
      for (const b of list) {
        // A fresh random order every batch: no side always runs first, or always right after the
        // same other side (whose data in the caches would help or hurt it). A fixed rotation
        // does that and biased the ratios by several percent here.
        const t = sides.map(() => 0);
        for (const s of shuffled(sides.length, rand)) {
          t[s] = await sides[s]!(b);
          if (s === COSTS) lastStageMs.forEach((ms, k) => (stageTot[k]! += ms));
        }
        t.forEach((x, s) => {
          tot[s]! += x;
          pairs[s]!.push(x / t[FULL]!);
        });
      }
      tot.forEach((x, s) => perRound[s]!.push(x / n));
      const cum: number[] = [];
      stageTot.reduce((acc, x) => (cum.push((acc + x) / n), acc + x), 0);
      costRounds.push(cum);
      predictedRounds.push(shares.reduce((sum, sh, k) => sum + sh * cum[k]!, 0));
    }
    await policyRunner.release();
    await allStages.release();
    await portable.release();
    await floorSession.release();
    await timer.release();

    const ms = perRound.map(median);
    const ratio = median(pairs[STAGES]!);
    const costs = exits.map((_, k) => median(costRounds.map((r) => r[k]!)));
    const predicted = median(predictedRounds);
    const relErr = Math.abs(median(perRound[POLICY]!.map((x, r) => x / predictedRounds[r]! - 1)));
    const rows: Row[] = [
      { what: `full model ('${best}'), ms/sample`, value: ms[FULL]!.toFixed(4), target: '(reference)', ok: null },
      { what: `all stages (nobody exits), ms/sample`, value: ms[STAGES]!.toFixed(4), target: `(${allStages.layout} stages)`, ok: null },
      { what: 'all stages / full model', value: ratio.toFixed(3), target: '<= 1.05', ok: ratio <= 1.05 },
      { what: 'portable stages / full model', value: median(pairs[PORTABLE]!).toFixed(3), target: '(for comparison: cut from the original graph)', ok: null },
      { what: 'full model fetching the cut tensors / full model', value: median(pairs[FLOOR]!).toFixed(3), target: '(copy-out floor of any split here)', ok: null },
      { what: 'stage costs, cumulative ms/sample', value: costs.map((x) => x.toFixed(4)).join(' / '), target: `(StageTimer in the same rounds, batch ${batch})`, ok: null },
      { what: 'measureStageLatency, cumulative ms/sample', value: lat.cumulative.map((x) => x.toFixed(4)).join(' / '), target: '(the bundle\'s cost model, timed before the rounds)', ok: null },
      { what: `maxProb >= ${thresholds.slice(0, -1).map((t) => t.toFixed(3)).join('/')}: exit shares`, value: shares.map((s) => `${(100 * s).toFixed(1)}%`).join(' / '), target: '~50% before the last exit', ok: null },
      { what: 'policy: predicted ms/sample (shares x costs)', value: predicted.toFixed(4), target: '', ok: null },
      { what: 'policy: measured ms/sample', value: ms[POLICY]!.toFixed(4), target: '', ok: null },
      { what: 'policy: |measured - predicted| / predicted', value: `${(100 * relErr).toFixed(1)}%`, target: '<= 10%', ok: relErr <= 0.1 },
      { what: 'policy: speedup over the full model', value: `${(1 / median(pairs[POLICY]!)).toFixed(2)}x`, target: `(ideal, costs x shares: ${(costs[K - 1]! / predicted).toFixed(2)}x)`, ok: null },
    ];
    const w = Math.max(...rows.map((r) => r.what.length));
    const v = Math.max(...rows.map((r) => r.value.length));
    console.log(`\n${'measure'.padEnd(w)}  ${'result'.padEnd(v)}  target`);
    for (const r of rows) console.log(`${r.what.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target}${r.ok === null ? '' : r.ok ? ' ok' : ' MISSED'}`);
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(4)).join(' ');
    console.log(`\nrounds (ms/sample): full ${fmt(perRound[FULL]!)}; stages ${fmt(perRound[STAGES]!)}; policy ${fmt(perRound[POLICY]!)}; portable ${fmt(perRound[PORTABLE]!)}; full+cut tensors ${fmt(perRound[FLOOR]!)}`);
    return ratio <= 1.05 && relErr <= 0.1;
  } finally {
    await full.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const cases: Case[] = [];
  if (MODELS.includes('sample')) {
    const sample = samplePaths();
    if (existsSync(sample.model) && existsSync(sample.data)) {
      const info = await inspectModel(sample.model);
      cases.push({ label: `sample model ${sample.model}`, modelPath: sample.model, feeds: await firstBatch(sample.data, info.inputs, SAMPLES), batch: BATCH, rounds: ROUNDS });
    } else {
      cases.push({
        label: `BUILT CNN (the sample model is absent at ${sample.model}): 4 exits, 16 channels, 28x28`,
        modelPath: writeTempModel(buildCnnMultiExit({ classes: 10, exits: 4, size: 28, channels: 16, seed: 3 })),
        feeds: { x: new ort.Tensor('float32', randomFloats(prng(1), SAMPLES * 28 * 28, 1), [SAMPLES, 1, 28, 28]) },
        batch: BATCH,
        rounds: ROUNDS,
      });
    }
  }
  if (MODELS.includes('resnet')) {
    // ~170 MMACs per sample, ~65x the sample model: fewer samples keep the run short.
    const count = Math.min(SAMPLES, Number(process.env['BENCH_RESNET_SAMPLES'] ?? 128));
    cases.push({
      label: 'built residual CNN (ResNet-18-like: widths 32/64/128/256, 2 basic blocks per stage, 3x32x32 input, random weights, random inputs of random contrast)',
      modelPath: writeTempModel(buildResidualCnn({ widths: [32, 64, 128, 256], blocks: 2, size: 32, classes: 10, seed: 7 })),
      feeds: { x: new ort.Tensor('float32', contrasted(randomFloats(prng(2), count * 3 * 32 * 32, 1), count), [count, 3, 32, 32]) },
      batch: Math.min(BATCH, Number(process.env['BENCH_RESNET_BATCH'] ?? 32)),
      rounds: ROUNDS,
    });
  }
  const ok: boolean[] = [];
  try {
    for (const c of cases) ok.push(await bench(c));
  } finally {
    cleanupTempModels();
  }
  console.log(`\n${cases.map((c, i) => `${c.label.split(' (')[0]}: ${ok[i] ? 'targets met' : 'target MISSED'}`).join('; ')}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
