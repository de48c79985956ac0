/**
 * npm run bench:infer — recording every exit vs. a bare onnxruntime-node loop.
 *
 * Both sides run the same model over the same samples with the same batch size
 * and intra-op threads, after one warm-up run each, alternating which goes
 * first, several rounds; the ratio of median
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
 * batch by batch at file offsets), alternating rounds: the time to open each,
 * the inference's time per sample once open (target: the .npz no slower than
 * the .npy), the whole `infer` job's wall time per sample, opening included,
 * and the peak resident size of each.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeNpyHeader, writeNpy } from '../src/data/npy.js';
import { openDataset } from '../src/data/open.js';
import { readNpz } from '../src/data/npz.js';
import { runInference } from '../src/inference/job.js';
import { inspectModel } from '../src/model/inspect.js';
import { samplePaths } from '../src/paths.js';
import { openStore } from '../src/store/store.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20000);
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
const THREADS = Number(process.env.BENCH_THREADS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** The .npz against .npy comparison runs 10,000 samples a round, short enough to take more rounds against noise. */
const SAMPLE_ROUNDS = Number(process.env.BENCH_SAMPLE_ROUNDS ?? 7);

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
    // Both sides warm up (the studio's first run also opens its sessions and caches), and each round
    // alternates which side goes first, so neither gets a warmer machine by its place in the order.
    await bare();
    await studio();
    const bareRates: number[] = [];
    const studioRates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        bareRates.push(await bare());
        studioRates.push(await studio());
      } else {
        studioRates.push(await studio());
        bareRates.push(await bare());
      }
    }
    const peaks: { samples: number; mb: number }[] = [];
    for (const n of [SAMPLES, 5 * SAMPLES]) {
      const p = join(dir, `data-${n}.npy`);
      writeTiled(p, data, SAMPLES, n, src.shape.slice(1));
      peaks.push({ samples: n, mb: await peakRss(() => runInference(store, { model: sample.model, data: p, batch: BATCH, threads: THREADS, force: true })) });
      rmSync(p);
    }

    // The sample as shipped (.npz) and as a plain .npy, same images, same settings.
    const asNpy = join(dir, 'sample.npy');
    writeNpy(asNpy, 'float', src.shape, src.data as Float32Array);
    const formats = { npz: sample.data, npy: asNpy };
    const times = { npz: { open: [] as number[], infer: [] as number[], whole: [] as number[] }, npy: { open: [] as number[], infer: [] as number[], whole: [] as number[] } };
    for (let r = 0; r < SAMPLE_ROUNDS; r++) {
      for (const f of r % 2 ? (['npz', 'npy'] as const) : (['npy', 'npz'] as const)) {
        let t0 = performance.now();
        await (await openDataset(formats[f], info.inputs)).close();
        times[f].open.push(performance.now() - t0);
        t0 = performance.now();
        const res = await runInference(store, { model: sample.model, data: formats[f], batch: BATCH, threads: THREADS, force: true });
        times[f].whole.push((performance.now() - t0) / n0);
        times[f].infer.push((res.seconds * 1000) / res.samples);
      }
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
    console.log(`  the sample's ${n0} images: ${sample.data} (its member inflated whole when opened) and the same images as .npy (read by batch), ${SAMPLE_ROUNDS} alternating rounds (median)`);
    console.log(`          open (ms)   inference (ms/sample)   whole infer job (ms/sample)   peak RSS`);
    for (const [f, peak] of [['npz', npzPeak], ['npy', npyPeak]] as const) {
      const t = times[f];
      console.log(`  .${f}  ${median(t.open).toFixed(0).padStart(9)}   ${median(t.infer).toFixed(4).padStart(21)}   ${median(t.whole).toFixed(4).padStart(27)}   ${peak.toFixed(0).padStart(5)} MB`);
    }
    const ratio = (k: 'infer' | 'whole'): string => (median(times.npz[k]) / median(times.npy[k])).toFixed(3);
    console.log(`  ratio .npz / .npy: inference per sample ${ratio('infer')} (target <= 1.05); whole job per sample ${ratio('whole')} (the .npz pays its open once)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
