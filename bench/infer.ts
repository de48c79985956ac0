/**
 * npm run bench:infer — recording every exit vs. a bare onnxruntime-node loop.
 *
 * Both sides run the same model over the same samples with the same batch size
 * and intra-op threads, alternating, several rounds; the ratio of median
 * samples/s is printed (target: studio >= 0.95 x bare). The bare loop feeds
 * tensors already in memory and fetches every exit; the studio side reads the
 * .npy from disk in a worker, computes the features of every exit, and writes
 * the trace to SQLite, as `exit-studio infer` does.
 *
 * Then memory: the peak resident size while inferring over SAMPLES and over
 * 5 x SAMPLES samples. Inference streams the data in batches and the trace to
 * the database in chunks, so the peak must not grow with the dataset.
 *
 * Last, the embedded sample as shipped (a compressed .npz, whose one member is
 * inflated whole when opened) against the same images as a plain .npy (read
 * batch by batch at file offsets): the whole `infer` wall time per sample,
 * opening included, alternating rounds, and the peak resident size of each
 * (target: the .npz no slower per sample than the .npy).
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeNpyHeader, writeNpy } from '../src/data/npy.js';
import { readNpz } from '../src/data/npz.js';
import { runInference } from '../src/inference/job.js';
import { inspectModel } from '../src/model/inspect.js';
import { samplePaths } from '../src/paths.js';
import { openStore } from '../src/store/store.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20000);
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
const THREADS = Number(process.env.BENCH_THREADS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Writes n samples (the given ones, repeated) as an .npy, without holding them all in memory. */
function writeTiled(path: string, data: Float32Array, have: number, n: number, sampleShape: number[]): void {
  const per = data.length / have;
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, encodeNpyHeader('float', [n, ...sampleShape]));
    for (let i = 0; i < n; i += have) writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, Math.min(have, n - i) * per * 4));
  } finally {
    closeSync(fd);
  }
}

/** Peak resident set size (MB) of this process, workers included, while `job` runs. */
async function peakRss(job: () => Promise<unknown>): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    await job();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) / 2 ** 20;
}

async function main(): Promise<void> {
  const sample = samplePaths();
  const dir = mkdtempSync(join(tmpdir(), 'es-bench-'));
  try {
    const src = (await readNpz(sample.data, ['image']))['image'];
    if (src?.dtype !== 'float') throw new Error(`${sample.data}: expected a float32 array "image"`);
    const per = src.shape.slice(1).reduce((a, b) => a * b, 1);
    const n0 = src.shape[0]!;
    const data = new Float32Array(SAMPLES * per);
    for (let i = 0; i < SAMPLES; i++) data.set((src.data as Float32Array).subarray((i % n0) * per, (i % n0 + 1) * per), i * per);
    const dataPath = join(dir, 'data.npy');
    writeNpy(dataPath, 'float', [SAMPLES, ...src.shape.slice(1)], data);

    const info = await inspectModel(sample.model);
    const input = info.inputs[0]!;
    const fetches = info.exits.map((e) => e.name);
    const session = await ort.InferenceSession.create(sample.model, { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const bare = async (): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < SAMPLES; i += BATCH) {
        const n = Math.min(BATCH, SAMPLES - i);
        const t = new ort.Tensor('float32', data.subarray(i * per, (i + n) * per), [n, ...src.shape.slice(1)]);
        await session.run({ [input.name]: t }, fetches);
      }
      return SAMPLES / ((performance.now() - t0) / 1000);
    };
    const store = openStore(join(dir, 'bench.sqlite'));
    const studio = async (): Promise<number> => {
      const r = await runInference(store, { model: sample.model, data: dataPath, batch: BATCH, threads: THREADS, force: true });
      return r.samplesPerSecond;
    };
    await bare(); // warm-up
    const bareRates: number[] = [];
    const studioRates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      bareRates.push(await bare());
      studioRates.push(await studio());
    }
    const peaks: { samples: number; mb: number }[] = [];
    for (const n of [SAMPLES, 5 * SAMPLES]) {
      const p = join(dir, `data-${n}.npy`);
      writeTiled(p, data, SAMPLES, n, src.shape.slice(1));
      peaks.push({ samples: n, mb: await peakRss(() => runInference(store, { model: sample.model, data: p, batch: BATCH, threads: THREADS, force: true })) });
      rmSync(p);
    }

    // The sample as shipped (.npz) and as a plain .npy, same images, same settings; wall time of the whole job.
    const asNpy = join(dir, 'sample.npy');
    writeNpy(asNpy, 'float', src.shape, src.data as Float32Array);
    const wallMsPerSample = async (path: string): Promise<number> => {
      const t0 = performance.now();
      await runInference(store, { model: sample.model, data: path, batch: BATCH, threads: THREADS, force: true });
      return (performance.now() - t0) / n0;
    };
    const npzMs: number[] = [];
    const npyMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      npzMs.push(await wallMsPerSample(sample.data));
      npyMs.push(await wallMsPerSample(asNpy));
    }
    const npzPeak = await peakRss(() => runInference(store, { model: sample.model, data: sample.data, batch: BATCH, threads: THREADS, force: true }));
    const npyPeak = await peakRss(() => runInference(store, { model: sample.model, data: asNpy, batch: BATCH, threads: THREADS, force: true }));
    store.close();
    const b = median(bareRates);
    const s = median(studioRates);
    console.log(`bench:infer  model ${sample.model}`);
    console.log(`  ${SAMPLES} samples, batch ${BATCH}, ${THREADS} intra-op thread(s), ${info.exits.length} exits, ${ROUNDS} alternating rounds (median)`);
    console.log(`  bare onnxruntime loop      ${b.toFixed(0).padStart(8)} samples/s   [${bareRates.map((x) => x.toFixed(0)).join(', ')}]`);
    console.log(`  studio, every exit stored  ${s.toFixed(0).padStart(8)} samples/s   [${studioRates.map((x) => x.toFixed(0)).join(', ')}]`);
    console.log(`  ratio studio / bare        ${(s / b).toFixed(3)}   (target >= 0.95)`);
    for (const p of peaks) console.log(`  peak RSS, ${String(p.samples).padStart(7)} samples   ${p.mb.toFixed(0).padStart(6)} MB`);
    console.log(`  peak RSS ratio (5x the data)  ${(peaks[1]!.mb / peaks[0]!.mb).toFixed(3)}   (O(batch): about 1)`);
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(3)).join(', ');
    console.log(`  the sample's ${n0} images, whole infer (open, inflate, infer, store, latency profile), ${ROUNDS} alternating rounds (median)`);
    console.log(`  ${sample.data} (deflated, inflated whole)  ${median(npzMs).toFixed(3).padStart(7)} ms/sample   [${fmt(npzMs)}]   peak RSS ${npzPeak.toFixed(0)} MB`);
    console.log(`  the same images as .npy (read by batch)   ${median(npyMs).toFixed(3).padStart(7)} ms/sample   [${fmt(npyMs)}]   peak RSS ${npyPeak.toFixed(0)} MB`);
    console.log(`  ratio .npz / .npy time per sample  ${(median(npzMs) / median(npyMs)).toFixed(3)}   (target <= 1.05)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
