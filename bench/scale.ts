/**
 * Scale benchmark (`npm run bench:scale`): a trace of 10,000,000 samples x 8
 * exits (hard predictions plus confidence, labels) is stored through the real
 * store chunk by chunk as an import does, loaded, and replayed by UEE-UCB and
 * DEE with 20 seeds each, side by side in worker threads through the path the
 * app uses (runPolicyInWorker). It reports wall times, decisions per second,
 * the size of the series a chart gets, and the process's peak resident memory
 * against the 2 GB target (workers share the process, so one figure covers all).
 *
 * Environment knobs for a quick look: SCALE_SAMPLES (default 10000000),
 * SCALE_SEEDS (default 20), SCALE_DIR (where the temporary SQLite file goes).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Rng } from '../src/policies/rng.js';
import { runPolicyInWorker, isSharedTrace } from '../src/policies/run-job.js';
import { runPolicySync } from '../src/policies/run.js';
import { openStore } from '../src/store/store.js';
import type { Trace } from '../src/trace/types.js';

const N = Number(process.env.SCALE_SAMPLES ?? 10_000_000);
const SEEDS = Number(process.env.SCALE_SEEDS ?? 20);
const K = 8;
const C = 10;
const CHUNK = 250_000;
const TARGET_BYTES = 2 * 1024 ** 3;
const POLICIES = ['uee-ucb', 'dee'] as const;

const MB = (b: number): string => `${(b / 1024 ** 2).toFixed(0)} MB`;
const fmt = (x: number): string => x.toLocaleString('en');

/**
 * Peak RSS, sampled every 2 ms from a worker thread: the main thread is busy
 * (storing, loading) in some phases, and RSS is the whole process's. Peak is
 * kept in a shared cell and reset per phase.
 */
class RssSampler {
  private readonly cell = new Float64Array(new SharedArrayBuffer(16));
  private readonly worker: Worker;
  constructor() {
    this.worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const cell = new Float64Array(workerData);
       setInterval(() => { const r = process.memoryUsage.rss(); if (r > cell[0]) cell[0] = r; if (cell[1] === 1) process.exit(0); }, 2);`,
      { eval: true, workerData: this.cell.buffer },
    );
    this.worker.unref();
  }
  /** Peak since the last reset, and resets it to the current RSS. */
  take(): number {
    const now = process.memoryUsage.rss();
    const peak = Math.max(this.cell[0]!, now);
    this.cell[0] = now;
    return peak;
  }
  stop(): void {
    this.cell[1] = 1;
  }
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Fills one chunk of a seeded hard-prediction-plus-confidence trace (sample-major). */
function fillChunk(rng: Rng, n: number, out: { pred: Int32Array; maxProb: Float32Array; entropy: Float32Array; margin: Float32Array; labels: Int32Array }): void {
  const u = (): number => rng.nextU32() / 4294967296;
  const lo = 1 / C;
  for (let s = 0; s < n; s++) {
    const y = rng.nextInt(C);
    out.labels[s] = y;
    const difficulty = u();
    for (let k = 0; k < K; k++) {
      const depth = (k + 1) / K;
      // Deeper exits are more accurate, hard samples less; confidence follows correctness with noise.
      const q = Math.min(0.98, Math.max(0.05, 0.45 + 0.55 * depth - 0.5 * difficulty));
      const correct = u() < q;
      const i = s * K + k;
      out.pred[i] = correct ? y : (y + 1 + rng.nextInt(C - 1)) % C;
      const c = Math.min(1, Math.max(0, (correct ? q : 0.6 * q) + 0.3 * (u() - 0.5)));
      const mp = lo + (1 - lo) * c;
      out.maxProb[i] = mp;
      out.entropy[i] = Math.min(1, Math.max(0, 1 - c * (0.8 + 0.2 * u())));
      out.margin[i] = mp * c;
    }
  }
}

function chunkArrays(n: number): { pred: Int32Array; maxProb: Float32Array; entropy: Float32Array; margin: Float32Array; labels: Int32Array } {
  return { pred: new Int32Array(n * K), maxProb: new Float32Array(n * K), entropy: new Float32Array(n * K), margin: new Float32Array(n * K), labels: new Int32Array(n) };
}

/** An in-memory trace of the same generator (the single-thread baseline). */
function memoryTrace(n: number, seed: number): Trace {
  const a = chunkArrays(n);
  fillChunk(new Rng(seed), n, a);
  return {
    samples: n,
    exits: Array.from({ length: K }, (_, k) => ({ name: `exit${k + 1}` })),
    classes: C,
    costs: Float64Array.from({ length: K }, (_, k) => (k + 1) / K),
    costSource: 'uniform',
    ...a,
  };
}

interface Row {
  what: string;
  value: string;
  note: string;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const sampler = new RssSampler();
  const dir = mkdtempSync(join(process.env.SCALE_DIR ?? tmpdir(), 'es-scale-'));
  const baseRss = process.memoryUsage.rss();
  try {
    const store = openStore(join(dir, 'studio.sqlite'));

    // 1. Import: generate chunk by chunk and store through the real store, as an import does.
    sampler.take();
    let genMs = 0;
    const t0 = performance.now();
    const id = store.traces.begin({
      name: `scale ${N} x ${K}`,
      source: 'import',
      samples: N,
      classes: C,
      exits: Array.from({ length: K }, (_, k) => ({ name: `exit${k + 1}` })),
      costs: Array.from({ length: K }, (_, k) => (k + 1) / K),
      costSource: 'uniform',
      hasConfidence: true,
      hasProbs: false,
      hasLabels: true,
    });
    const rng = new Rng(20250101);
    const full = chunkArrays(CHUNK);
    for (let s0 = 0, seq = 0; s0 < N; s0 += CHUNK, seq++) {
      const n = Math.min(CHUNK, N - s0);
      const a = n === CHUNK ? full : { pred: full.pred.subarray(0, n * K), maxProb: full.maxProb.subarray(0, n * K), entropy: full.entropy.subarray(0, n * K), margin: full.margin.subarray(0, n * K), labels: full.labels.subarray(0, n) };
      const g0 = performance.now();
      fillChunk(rng, n, a);
      genMs += performance.now() - g0;
      store.traces.append(id, seq, a);
    }
    store.traces.finish(id);
    const importMs = performance.now() - t0;
    const importPeak = sampler.take();
    const dbBytes = statSync(join(dir, 'studio.sqlite')).size + (statSync(join(dir, 'studio.sqlite-wal'), { throwIfNoEntry: false })?.size ?? 0);
    rows.push({ what: `import: generate + store ${fmt(N)} x ${K} in ${Math.ceil(N / CHUNK)} chunks`, value: `${(importMs / 1000).toFixed(1)} s`, note: `generation ${(genMs / 1000).toFixed(1)} s, store ${((importMs - genMs) / 1000).toFixed(1)} s; file ${MB(dbBytes)}; peak RSS ${MB(importPeak)}` });

    // 2. Load into SharedArrayBuffer-backed arrays.
    gc();
    sampler.take();
    const l0 = performance.now();
    const trace = store.traces.load(id);
    const loadMs = performance.now() - l0;
    const loadPeak = sampler.take();
    const traceBytes = [trace.pred, trace.maxProb, trace.entropy, trace.margin, trace.labels].reduce((s, a) => s + (a?.byteLength ?? 0), 0);
    rows.push({ what: 'load (TraceStore.load)', value: `${(loadMs / 1000).toFixed(1)} s`, note: `trace arrays ${MB(traceBytes)}, shared: ${isSharedTrace(trace)}; peak RSS ${MB(loadPeak)}` });
    store.close();

    // 3. Replays side by side, each in its worker, through the app's path.
    gc();
    sampler.take();
    const r0 = performance.now();
    const runs = await Promise.all(
      POLICIES.map(async (spec) => {
        const s0 = performance.now();
        let seriesBytes = 0;
        const result = await runPolicyInWorker(trace, spec, { seeds: SEEDS }, { onSeed: (r) => (seriesBytes += r.series.byteLength) });
        return { spec, result, seriesBytes, ms: performance.now() - s0 };
      }),
    );
    const replayMs = performance.now() - r0;
    const replayPeak = sampler.take();
    const workerPerS = new Map<string, number>();
    for (const { spec, result, seriesBytes, ms } of runs) {
      const perS = (N * SEEDS) / (ms / 1000);
      workerPerS.set(spec, perS);
      rows.push({
        what: `${spec} ${SEEDS} seeds x ${fmt(N)} (worker, side by side)`,
        value: `${(ms / 1000).toFixed(1)} s`,
        note: `${(perS / 1e6).toFixed(2)} M decisions/s (against this machine's one-thread rate: see its baseline row); series ${MB(seriesBytes)} as stored; avg cost ${result.summary.avgCost.mean.toFixed(3)}, acc ${((result.summary.accuracy?.mean ?? NaN) * 100).toFixed(1)} %`,
      });
    }
    rows.push({ what: 'both replays, wall', value: `${(replayMs / 1000).toFixed(1)} s`, note: `peak RSS ${MB(replayPeak)}` });

    const peak = Math.max(importPeak, loadPeak, replayPeak);
    const maxRss = process.resourceUsage().maxRSS * 1024;
    rows.push({
      what: 'peak RSS of the process (import, load, replays)',
      value: MB(peak),
      note: `target < ${MB(TARGET_BYTES)}: ${peak < TARGET_BYTES ? 'ok' : 'MISSED'} (kernel high-water mark ${MB(maxRss)}; at start ${MB(baseRss)})`,
    });

    // 4. Baseline on this machine, outside the measured peak: one seed of each policy in this thread on a
    // 1,000,000 x 8 trace of the same generator (what bench:policies' per-policy figure measures, at K = 8).
    const million = memoryTrace(Math.min(N, 1_000_000), 7);
    for (const spec of POLICIES) {
      runPolicySync(million, spec, { seeds: 1 });
      const times = [0, 1, 2].map(() => {
        const b0 = performance.now();
        runPolicySync(million, spec, { seeds: 1 });
        return performance.now() - b0;
      });
      const ms = times.sort((a, b) => a - b)[1]!;
      const perS = (million.samples / ms) * 1000;
      rows.push({
        what: `${spec} baseline: 1 seed x ${fmt(million.samples)} x ${K}, runPolicySync, one thread (median of 3)`,
        value: `${ms.toFixed(0)} ms`,
        note: `${(perS / 1e6).toFixed(2)} M decisions/s, measured in this run; the ${SEEDS}-seed worker run above went at ${(workerPerS.get(spec)! / perS).toFixed(2)}x this rate`,
      });
    }
  } finally {
    sampler.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const w = Math.max(...rows.map((r) => r.what.length));
  const v = Math.max(...rows.map((r) => r.value.length));
  console.log(`${'step'.padEnd(w)}  ${'time'.padEnd(v)}  notes`);
  for (const r of rows) console.log(`${r.what.padEnd(w)}  ${r.value.padEnd(v)}  ${r.note}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
