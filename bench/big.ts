/**
 * npm run bench:big — a real-size model, as whole processes, against a bare onnxruntime-node loop.
 *
 * Makes a BERT-base-shaped 6-exit text classifier with random weights (bench/bert-model.py:
 * PyTorch exports it with about 450 MB of external data; nothing is downloaded) and tokenized
 * inputs, then runs, each as its own process, measuring wall time and the kernel's peak
 * resident memory of the process (bench/peak-rss.ts):
 *
 *  - the bare loop (bench/bare-loop.ts: read the data, one session, every batch) and
 *    `exit-studio infer`, alternating, ROUNDS times each: the whole job (hashing, the latency
 *    profile, storing) against the bare loop, time and peak memory;
 *  - `exit-studio bundle` of a fixed-exit-1 policy and `exit-studio apply` of that bundle: peak
 *    memory against one session of the model (the bare loop's peak), and apply's measured
 *    speedup against what the latency profile of the infer job predicts (exit 6 / exit 1).
 *
 * Targets (issue "Real-size models"): infer <= 1.15x the bare loop's time and <= 1.5x its peak
 * memory + 200 MB; bundle and apply peak <= 2x one session; apply's speedup within 15 % of the
 * profile's prediction.
 *
 * Settings: BENCH_SAMPLES (256), BENCH_BATCH (16), BENCH_THREADS (the machine's cores),
 * BENCH_ROUNDS (2), BENCH_BIG_DIR (keep the model there between runs; default a temporary
 * folder, removed after), BENCH_PYTHON (a python3 with torch and onnx; default /usr/bin/python3,
 * then python3).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/paths.js';
import { median } from './median.js';

const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 256);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 16);
const THREADS = Number(process.env['BENCH_THREADS'] ?? availableParallelism());
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);

const root = projectRoot();
const cli = join(root, 'bin', 'exit-studio.js');
const peakRss = join(root, 'dist', 'bench', 'peak-rss.js');
const bareLoop = join(root, 'dist', 'bench', 'bare-loop.js');

interface Measured {
  seconds: number;
  peakMb: number;
  stdout: string;
}

/** Runs `node args...` as a child process: its wall time, its peak RSS, its stdout. */
function measure(what: string, args: string[]): Measured {
  const rssFile = join(tmpdir(), `es-bench-rss-${process.pid}-${Date.now()}.json`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', peakRss, ...args], { env: { ...process.env, BENCH_RSS_FILE: rssFile }, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stderr}`);
  const peakMb = (JSON.parse(readFileSync(rssFile, 'utf8')) as { maxRssKb: number }).maxRssKb / 1024;
  rmSync(rssFile, { force: true });
  return { seconds, peakMb, stdout: r.stdout };
}

function python(): string {
  const candidates = [process.env['BENCH_PYTHON'], '/usr/bin/python3', 'python3'].filter((p): p is string => Boolean(p));
  for (const p of candidates) {
    if (spawnSync(p, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0) return p;
  }
  throw new Error(`bench:big needs a python3 with PyTorch and onnx to make the model (Debian: apt-get install python3-torch python3-onnx); tried ${candidates.join(', ')}; BENCH_PYTHON names another`);
}

function makeModel(dir: string): { model: string; data: string } {
  const model = join(dir, 'bert-6exit.onnx');
  const data = join(dir, `tokens-${SAMPLES}.npz`);
  if (existsSync(model) && existsSync(`${model}.data`) && existsSync(data)) return { model, data };
  const t0 = performance.now();
  const r = spawnSync(python(), [join(root, 'bench', 'bert-model.py'), model, data, String(SAMPLES)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`making the model failed:\n${r.stderr}`);
  console.log(`  made the model in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { model, data };
}

interface Row {
  what: string;
  studio: string;
  bare: string;
  ratio: string;
  target: string;
  ok: boolean | null;
}

async function main(): Promise<void> {
  const keep = process.env['BENCH_BIG_DIR'];
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'es-bench-big-'));
  if (keep) mkdirSync(keep, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'es-bench-big-work-'));
  try {
    console.log(`bench:big  ${SAMPLES} samples, batch ${BATCH}, ${THREADS} intra-op thread(s), ${ROUNDS} alternating rounds; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`);
    const { model, data } = makeModel(dir);
    console.log(`  model ${model}: ${(statSync(`${model}.data`).size / 2 ** 20).toFixed(0)} MB of external weights`);
    const db = join(work, 'bench.sqlite');
    const common = ['--batch', String(BATCH), '--threads', String(THREADS)];

    const bare: Measured[] = [];
    const infer: Measured[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const runBare = (): number => bare.push(measure('the bare loop', [bareLoop, model, data, String(BATCH), String(THREADS)]));
      const runInfer = (): number => infer.push(measure('infer', [cli, 'infer', model, data, ...common, '--db', db, '--force', '--json']));
      // Alternate which side goes first: a side that follows another finds the page cache as that one left it.
      if (r % 2 === 0) (runBare(), runInfer());
      else (runInfer(), runBare());
      console.log(`  round ${r + 1}: bare ${bare.at(-1)!.seconds.toFixed(1)} s ${bare.at(-1)!.peakMb.toFixed(0)} MB, infer ${infer.at(-1)!.seconds.toFixed(1)} s ${infer.at(-1)!.peakMb.toFixed(0)} MB`);
    }
    const lastInfer = JSON.parse(infer.at(-1)!.stdout) as { traceId: number; seconds: number; jobSeconds: number; latency: { ms: number[]; q1: number[]; q3: number[]; repeats: number; seconds: number; method: string } | null };
    const bareLast = JSON.parse(bare.at(-1)!.stdout) as { loadSeconds: number; loopSeconds: number };

    const run = spawnSync(process.execPath, [cli, 'run', String(lastInfer.traceId), '--policy', 'fixed:1', '--seeds', '1', '--db', db, '--json'], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`run failed:\n${run.stderr}`);
    const runId = (JSON.parse(run.stdout) as { runs: { runId: number }[] }).runs[0]!.runId;
    const bundleDir = join(work, 'bundle');
    const bundle = measure('bundle', [cli, 'bundle', String(runId), '--model', model, '--out', bundleDir, '--threads', String(THREADS), '--db', db, '--json']);
    const apply = measure('apply', [cli, 'apply', bundleDir, data, ...common, '--json']);
    const applied = JSON.parse(apply.stdout) as { speedup: number; exitShares: number[]; stages: string };

    const bareS = median(bare.map((m) => m.seconds));
    const bareMb = median(bare.map((m) => m.peakMb));
    const inferS = median(infer.map((m) => m.seconds));
    const inferMb = median(infer.map((m) => m.peakMb));
    const lat = lastInfer.latency;
    const predicted = lat ? lat.ms.at(-1)! / lat.ms[0]! : NaN;
    const rows: Row[] = [
      { what: 'infer, whole process, s', studio: inferS.toFixed(1), bare: bareS.toFixed(1), ratio: (inferS / bareS).toFixed(3), target: '<= 1.15', ok: inferS / bareS <= 1.15 },
      { what: 'infer, peak memory, MB', studio: inferMb.toFixed(0), bare: bareMb.toFixed(0), ratio: (inferMb / bareMb).toFixed(3), target: `<= 1.5x + 200 MB (${(1.5 * bareMb + 200).toFixed(0)})`, ok: inferMb <= 1.5 * bareMb + 200 },
      { what: '  of which inference loop, s', studio: lastInfer.seconds.toFixed(1), bare: bareLast.loopSeconds.toFixed(1), ratio: (lastInfer.seconds / bareLast.loopSeconds).toFixed(3), target: '(last round)', ok: null },
      { what: '  latency profile added, s', studio: lat ? lat.seconds.toFixed(1) : '-', bare: '', ratio: lat ? `${lat.repeats} passes, ${lat.method}` : '', target: '(small against the job)', ok: null },
      { what: 'bundle, peak memory, MB', studio: bundle.peakMb.toFixed(0), bare: bareMb.toFixed(0), ratio: (bundle.peakMb / bareMb).toFixed(3), target: '<= 2x one session', ok: bundle.peakMb <= 2 * bareMb },
      { what: 'bundle, whole process, s', studio: bundle.seconds.toFixed(1), bare: '', ratio: '', target: '', ok: null },
      { what: 'apply, peak memory, MB', studio: apply.peakMb.toFixed(0), bare: bareMb.toFixed(0), ratio: (apply.peakMb / bareMb).toFixed(3), target: '<= 2x one session', ok: apply.peakMb <= 2 * bareMb },
      { what: 'apply, whole process, s', studio: apply.seconds.toFixed(1), bare: '', ratio: '', target: '', ok: null },
      {
        what: 'apply, speedup of exit 1 (measured)',
        studio: `${applied.speedup.toFixed(2)}x`,
        bare: `${predicted.toFixed(2)}x predicted`,
        ratio: (applied.speedup / predicted).toFixed(3),
        target: 'within 15 % of the profile',
        ok: Math.abs(applied.speedup / predicted - 1) <= 0.15,
      },
    ];
    if (lat) console.log(`  latency profile (ms/sample, median [q1-q3]): ${lat.ms.map((m, k) => `${m.toFixed(1)} [${lat.q1[k]!.toFixed(1)}-${lat.q3[k]!.toFixed(1)}]`).join(', ')}`);
    console.log(`  apply ran the ${applied.stages} stages; one session of the model = the bare loop's peak (${bareMb.toFixed(0)} MB)`);
    const w = [38, 10, 18, 22, 32];
    console.log(['', 'studio', 'bare loop', 'ratio', 'target'].map((h, i) => h.padEnd(w[i]!)).join(''));
    for (const r of rows) console.log([r.what, r.studio, r.bare, r.ratio, `${r.target}${r.ok === null ? '' : r.ok ? '  ok' : '  MISSED'}`].map((c, i) => c.padEnd(w[i]!)).join(''));
    console.log(`  load average after: ${loadavg()[0]!.toFixed(1)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
