/**
 * npm run bench:infer — recording every exit vs. a bare onnxruntime-node loop, on the sample model.
 *
 * 1. The inference loop at BENCH_THREADS (default 1) intra-op threads: both sides run the same
 *    model over the same SAMPLES samples, batch BATCH, after one warm-up run each, alternating
 *    which goes first, several rounds; the ratio of median samples/s is printed (target: studio >= 0.95 x bare). The bare loop feeds tensors
 *    already in memory and fetches every exit; the studio side reads the .npy from disk, computes
 *    the features of every exit, and writes the trace to SQLite, as `exit-studio infer` does.
 * 2. Whole jobs at as many threads as cores: WHOLE_SAMPLES (50,000) samples, batch WHOLE_BATCH
 *    (256). The bare side reads the .npy, makes its session and runs every batch; the studio side
 *    is runInference from the call to its result (inspecting and hashing the model, hashing the
 *    data, the latency profile, storing). Target: studio >= 0.95 x bare, as wall time ratio
 *    bare / studio. The studio's jobs run on data it hashed before (an untimed job first), so
 *    they recall its hash (src/store/file-hashes.ts); a job on a fresh copy of the data, which
 *    it must hash, is timed beside them. The studio's default thread count (no --threads) is
 *    timed too, against the faster of the two bare settings (1 thread, all cores): what a user
 *    who leaves the default gets against the best the bare loop does.
 * 3. Memory: the peak resident size while inferring over SAMPLES and over 5 x SAMPLES samples.
 *    Inference streams the data in batches and the trace to the database in chunks, so the peak
 *    must not grow with the dataset.
 * 4. The embedded sample as shipped (a compressed .npz, whose one member is inflated whole when
 *    opened) against the same images as a plain .npy (read batch by batch at file offsets),
 *    alternating rounds: the time to open each, the inference's time per sample once open
 *    (target: the .npz no slower than the .npy), the whole `infer` job's wall time per sample,
 *    opening included, and the peak resident size of each.
 *
 * Settings: BENCH_SAMPLES (20000), BENCH_BATCH (64), BENCH_THREADS (1), BENCH_ROUNDS (3),
 * BENCH_WHOLE_SAMPLES (50000), BENCH_WHOLE_BATCH (256), BENCH_SAMPLE_ROUNDS (7),
 * BENCH_PARTS (loop,whole,memory,sample).
 */
import { closeSync, copyFileSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as ort from 'onnxruntime-node';
import { encodeNpyHeader, readNpyArray, writeNpy } from '../src/data/npy.js';
import { openDataset } from '../src/data/open.js';
import { readNpz } from '../src/data/npz.js';
import { SETTLE_MS } from '../src/hash.js';
import { defaultThreads, runInference } from '../src/inference/job.js';
import { inspectModel } from '../src/model/inspect.js';
import { samplePaths } from '../src/paths.js';
import { openStore, type Store } from '../src/store/store.js';
import { median } from './median.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20000);
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
const THREADS = Number(process.env.BENCH_THREADS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WHOLE_SAMPLES = Number(process.env.BENCH_WHOLE_SAMPLES ?? 50000);
const WHOLE_BATCH = Number(process.env.BENCH_WHOLE_BATCH ?? 256);
const PARTS = (process.env.BENCH_PARTS ?? 'loop,whole,memory,sample').split(',');
/** The .npz against .npy comparison runs 10,000 samples a round, short enough to take more rounds against noise. */
const SAMPLE_ROUNDS = Number(process.env.BENCH_SAMPLE_ROUNDS ?? 7);
const CORES = availableParallelism();

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

/** The bare loop over data in memory: samples/s of the loop alone. */
async function bareLoop(session: ort.InferenceSession, input: string, data: Float32Array, n: number, shape: number[], batch: number, fetches: string[]): Promise<number> {
  const per = shape.reduce((a, b) => a * b, 1);
  const t0 = performance.now();
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    await session.run({ [input]: new ort.Tensor('float32', data.subarray(i * per, (i + m) * per), [m, ...shape]) }, fetches);
  }
  return n / ((performance.now() - t0) / 1000);
}

/** A bare whole job: read the .npy, make the session, run every batch. Wall seconds. */
async function bareJob(model: string, dataPath: string, threads: number, batch: number, fetches: string[]): Promise<number> {
  const t0 = performance.now();
  const arr = await readNpyArray(dataPath, 'float');
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const [n, ...shape] = arr.shape;
  const input = session.inputNames[0]!;
  await bareLoop(session, input, arr.data as Float32Array, n!, shape, batch, fetches);
  await session.release();
  return (performance.now() - t0) / 1000;
}

async function studioJob(store: Store, model: string, dataPath: string, threads: number | undefined, batch: number): Promise<{ seconds: number; threads: number }> {
  const t0 = performance.now();
  const r = await runInference(store, { model, data: dataPath, batch, ...(threads ? { threads } : {}), force: true });
  return { seconds: (performance.now() - t0) / 1000, threads: r.threads };
}

async function main(): Promise<void> {
  const sample = samplePaths();
  const dir = mkdtempSync(join(tmpdir(), 'es-bench-'));
  try {
    const src = (await readNpz(sample.data, ['image']))['image'];
    if (src?.dtype !== 'float') throw new Error(`${sample.data}: expected a float32 array "image"`);
    const shape = src.shape.slice(1);
    const per = shape.reduce((a, b) => a * b, 1);
    const n0 = src.shape[0]!;
    const data = new Float32Array(SAMPLES * per);
    for (let i = 0; i < SAMPLES; i++) data.set((src.data as Float32Array).subarray((i % n0) * per, (i % n0 + 1) * per), i * per);
    const dataPath = join(dir, 'data.npy');
    writeNpy(dataPath, 'float', [SAMPLES, ...shape], data);
    const info = await inspectModel(sample.model);
    const fetches = info.exits.map((e) => e.name);
    const store = openStore(join(dir, 'bench.sqlite'));
    console.log(`bench:infer  model ${sample.model}, ${info.exits.length} exits; ${CORES} cores, load average ${loadavg()[0]!.toFixed(1)}`);

    if (PARTS.includes('loop')) {
      const session = await ort.InferenceSession.create(sample.model, { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      const bare = (): Promise<number> => bareLoop(session, info.inputs[0]!.name, data, SAMPLES, shape, BATCH, fetches);
      const studio = async (): Promise<number> => (await runInference(store, { model: sample.model, data: dataPath, batch: BATCH, threads: THREADS, force: true })).samplesPerSecond;
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
      await session.release();
      const b = median(bareRates);
      const s = median(studioRates);
      console.log(`  1. the inference loop: ${SAMPLES} samples, batch ${BATCH}, ${THREADS} intra-op thread(s), ${ROUNDS} alternating rounds (median)`);
      console.log(`  bare onnxruntime loop      ${b.toFixed(0).padStart(8)} samples/s   [${bareRates.map((x) => x.toFixed(0)).join(', ')}]`);
      console.log(`  studio, every exit stored  ${s.toFixed(0).padStart(8)} samples/s   [${studioRates.map((x) => x.toFixed(0)).join(', ')}]`);
      console.log(`  ratio studio / bare        ${(s / b).toFixed(3)}   (target >= 0.95)`);
    }

    if (PARTS.includes('whole')) {
      const wholePath = join(dir, 'whole.npy');
      writeTiled(wholePath, data, SAMPLES, WHOLE_SAMPLES, shape);
      const bareAt: Record<number, number[]> = { 1: [], [CORES]: [] };
      const studioAt: number[] = [];
      const studioFirst: number[] = [];
      const studioDefault: number[] = [];
      let chosen = 0;
      const t0 = performance.now();
      await bareJob(sample.model, wholePath, CORES, WHOLE_BATCH, fetches); // warm-up (page cache)
      // The store keeps the hash of a file that has settled (SETTLE_MS): one untimed job, once it has, keeps this one's.
      await sleep(Math.max(0, SETTLE_MS + 100 - (performance.now() - t0)));
      await studioJob(store, sample.model, wholePath, CORES, WHOLE_BATCH);
      const freshPath = join(dir, 'fresh.npy');
      for (let r = 0; r < ROUNDS; r++) {
        // A fresh order each round, so no side always follows the same other one.
        const sides = [
          async () => bareAt[CORES]!.push(await bareJob(sample.model, wholePath, CORES, WHOLE_BATCH, fetches)),
          async () => bareAt[1]!.push(await bareJob(sample.model, wholePath, 1, WHOLE_BATCH, fetches)),
          async () => studioAt.push((await studioJob(store, sample.model, wholePath, CORES, WHOLE_BATCH)).seconds),
          async () => {
            // A new file (a new inode, just written): its hash cannot be recalled. The copy is not timed.
            rmSync(freshPath, { force: true });
            copyFileSync(wholePath, freshPath);
            studioFirst.push((await studioJob(store, sample.model, freshPath, CORES, WHOLE_BATCH)).seconds);
          },
          async () => {
            const d = await studioJob(store, sample.model, wholePath, undefined, WHOLE_BATCH);
            chosen = d.threads;
            studioDefault.push(d.seconds);
          },
        ];
        for (let i = sides.length - 1; i > 0; i--) {
          const j = (r * 7 + i * 3) % (i + 1);
          [sides[i], sides[j]] = [sides[j]!, sides[i]!];
        }
        for (const side of sides) await side();
      }
      rmSync(wholePath);
      rmSync(freshPath, { force: true });
      const bc = median(bareAt[CORES]!);
      const b1 = median(bareAt[1]!);
      const sc = median(studioAt);
      const sf = median(studioFirst);
      const sd = median(studioDefault);
      const best = Math.min(bc, b1);
      const list = (xs: number[]): string => `[${xs.map((x) => x.toFixed(2)).join(', ')}]`;
      console.log(`  2. whole jobs: ${WHOLE_SAMPLES} samples, batch ${WHOLE_BATCH}, ${ROUNDS} rounds in a fresh order (median wall seconds)`);
      console.log(`  bare job, ${CORES} threads (= cores)   ${bc.toFixed(2).padStart(7)} s   ${list(bareAt[CORES]!)}`);
      console.log(`  bare job, 1 thread             ${b1.toFixed(2).padStart(7)} s   ${list(bareAt[1]!)}`);
      console.log(`  studio job, ${CORES} threads           ${sc.toFixed(2).padStart(7)} s   ${list(studioAt)}   (the data's hash recalled)`);
      console.log(`  studio job, ${CORES} threads, new data ${sf.toFixed(2).padStart(7)} s   ${list(studioFirst)}   (a fresh copy: hashed)`);
      console.log(`  studio job, default (${chosen} thread${chosen === 1 ? '' : 's'})  ${sd.toFixed(2).padStart(7)} s   ${list(studioDefault)}   (defaultThreads: ${defaultThreads().threads}, "${defaultThreads().why}")`);
      // On a shared machine a run is slowed now and then by other work, in bursts: the fastest run of
      // each side is the least disturbed, and their ratio is printed beside the medians'.
      const fastest = (xs: number[]): number => Math.min(...xs);
      console.log(`  ratio at threads = cores, bare / studio          ${(bc / sc).toFixed(3)}   (target >= 0.95; fastest runs: ${(fastest(bareAt[CORES]!) / fastest(studioAt)).toFixed(3)})`);
      console.log(`  the same, data the studio has not hashed before  ${(bc / sf).toFixed(3)}   (fastest runs: ${(fastest(bareAt[CORES]!) / fastest(studioFirst)).toFixed(3)})`);
      console.log(`  ratio of the default, best bare / studio default ${(best / sd).toFixed(3)}   (the best bare is ${best === bc ? `${CORES} threads` : '1 thread'})`);
    }

    if (PARTS.includes('memory')) {
      const peaks: { samples: number; mb: number }[] = [];
      for (const n of [SAMPLES, 5 * SAMPLES]) {
        const p = join(dir, `data-${n}.npy`);
        writeTiled(p, data, SAMPLES, n, shape);
        peaks.push({ samples: n, mb: await peakRss(() => runInference(store, { model: sample.model, data: p, batch: BATCH, threads: THREADS, force: true })) });
        rmSync(p);
      }
      console.log(`  3. memory, batch ${BATCH}, ${THREADS} thread(s)`);
      for (const p of peaks) console.log(`  peak RSS, ${String(p.samples).padStart(7)} samples   ${p.mb.toFixed(0).padStart(6)} MB`);
      console.log(`  peak RSS ratio (5x the data)  ${(peaks[1]!.mb / peaks[0]!.mb).toFixed(3)}   (O(batch): about 1)`);
    }
    if (PARTS.includes('sample')) {
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
      console.log(`  4. the sample's ${n0} images: ${sample.data} (its member inflated whole when opened) and the same images as .npy (read by batch), ${SAMPLE_ROUNDS} alternating rounds (median)`);
      console.log(`          open (ms)   inference (ms/sample)   whole infer job (ms/sample)   peak RSS`);
      for (const [f, peak] of [['npz', npzPeak], ['npy', npyPeak]] as const) {
        const t = times[f];
        console.log(`  .${f}  ${median(t.open).toFixed(0).padStart(9)}   ${median(t.infer).toFixed(4).padStart(21)}   ${median(t.whole).toFixed(4).padStart(27)}   ${peak.toFixed(0).padStart(5)} MB`);
      }
      const ratio = (k: 'infer' | 'whole'): string => (median(times.npz[k]) / median(times.npy[k])).toFixed(3);
      console.log(`  ratio .npz / .npy: inference per sample ${ratio('infer')} (target <= 1.05); whole job per sample ${ratio('whole')} (the .npz pays its open once)`);
    }
    store.close();
    console.log(`  load average after: ${loadavg()[0]!.toFixed(1)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
