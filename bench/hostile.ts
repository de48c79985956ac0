/**
 * Hostile-input benchmark (`npm run bench:hostile`). Two kinds of figure,
 * each measured side by side in this one run:
 *
 * - The bounded line reader every text format now uses, against the
 *   node:readline loop it replaced, on a prediction matrix of 1.5 million
 *   rows: the safety must not cost the common case.
 * - What refusing a hostile file costs, against what the file claims: 1.9 GB
 *   of zeros named .onnx (refused from its first bytes) against reading it
 *   whole as before; a 1 MB .npz whose member inflates to 1 GiB against the
 *   gibibyte; a 600 MB line with no break against its size. Time and the
 *   process's peak resident memory (sampled every 2 ms from a worker).
 *
 * Temporary files go to BENCH_DIR (default: the OS temp folder); the zeros
 * are a sparse file, so the disk holds little of them.
 */
import { createReadStream, linkSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { eachLine } from '../src/data/lines.js';
import { encodeNpy } from '../src/data/npy.js';
import { openDataset } from '../src/data/open.js';
import { isStudioError } from '../src/errors.js';
import { loadModel } from '../src/model/load.js';
import { deflatedZeros, rawZip } from '../test/robustness/hostile.js';
import { median } from './median.js';

const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'exit-studio-bench-hostile-'));
const MB = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;

/** Peak RSS since the last take(), sampled from a worker thread (the main thread is busy reading). */
class RssSampler {
  private readonly cell = new Float64Array(new SharedArrayBuffer(8));
  private readonly worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const cell = new Float64Array(workerData);
     setInterval(() => { const r = process.memoryUsage.rss(); if (r > cell[0]) cell[0] = r; }, 2);`,
    { eval: true, workerData: this.cell.buffer },
  );
  /** The peak since the last take(); the next peak counts from now. */
  take(): number {
    const peak = Math.max(this.cell[0]!, process.memoryUsage.rss());
    this.cell[0] = process.memoryUsage.rss();
    return peak;
  }
  stop(): Promise<number> {
    return this.worker.terminate();
  }
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

/** Runs `f`, which must be refused as bad input; the time, the peak RSS above the start, and the message. */
async function refusal(rss: RssSampler, f: () => Promise<unknown>): Promise<{ ms: number; peak: number; message: string }> {
  global.gc?.();
  rss.take();
  const base = process.memoryUsage.rss();
  const { ms, value } = await timed(async () => {
    try {
      await f();
      return 'accepted!';
    } catch (e) {
      if (!isStudioError(e)) throw e;
      return e.message;
    }
  });
  return { ms, peak: rss.take() - base, message: value };
}

async function main(): Promise<void> {
  const rss = new RssSampler();
  try {
    // 1. The bounded reader against node:readline, on the same file, alternating.
    const rows = 1_500_000;
    const matrix = join(dir, 'matrix.tsv');
    let text = 'e1\te2\te3\tlabel\n';
    for (let i = 0; i < rows; i++) text += `${i % 10}\t${(i * 7) % 10}\t${(i * 3) % 10}\t${i % 10}\n`;
    writeFileSync(matrix, text);
    const count = {
      bounded: async (): Promise<number> => {
        let n = 0;
        await eachLine(matrix, (text) => void (n += text.length), 1 << 20);
        return n;
      },
      readline: async (): Promise<number> => {
        let n = 0;
        for await (const l of createInterface({ input: createReadStream(matrix, { encoding: 'utf8' }), crlfDelay: Infinity })) n += l.length;
        return n;
      },
    };
    // Alternating rounds, the median of each side (one round on a shared machine can be off by a factor).
    const rounds: Record<'bounded' | 'readline', number[]> = { bounded: [], readline: [] };
    for (let r = 0; r < 5; r++) {
      for (const k of ['bounded', 'readline'] as const) {
        const { ms, value } = await timed(count[k]);
        rounds[k].push(ms);
        if (value !== text.length - rows - 1) throw new Error(`${k} read ${value} characters`);
      }
    }
    const mid = { bounded: median(rounds.bounded), readline: median(rounds.readline) };
    console.log(`lines of a ${MB(text.length)} matrix (${rows.toLocaleString('en')} rows), median of 5 alternating rounds:`);
    console.log(`  bounded reader ${mid.bounded.toFixed(0)} ms, node:readline ${mid.readline.toFixed(0)} ms: ratio ${(mid.bounded / mid.readline).toFixed(2)}`);

    // 2. Refusing hostile files.
    const zeros = join(dir, 'zeros.onnx');
    writeFileSync(zeros, '');
    truncateSync(zeros, Math.floor(1.9 * 2 ** 30));
    const refused = await refusal(rss, () => loadModel(zeros));
    global.gc?.();
    rss.take();
    const base = process.memoryUsage.rss();
    const whole = await timed(() => readFile(zeros));
    const wholePeak = rss.take() - base;
    console.log(`1.9 GB of zeros named .onnx: refused in ${refused.ms.toFixed(1)} ms, +${MB(refused.peak)} peak; reading it whole (as before) ${whole.ms.toFixed(0)} ms, +${MB(wholePeak)}: ${(whole.ms / refused.ms).toFixed(0)}x faster`);
    console.log(`  ${refused.message}`);

    const header = encodeNpy('float', [8, 4], new Float32Array(32));
    const stream = deflatedZeros(header, 1 << 30);
    const bomb = join(dir, 'bomb.npz');
    writeFileSync(bomb, rawZip([{ name: 'x.npy', data: stream, deflated: true, declaredSize: header.length }]));
    const inputs = [{ name: 'x', type: 'float' as const, shape: ['batch', 4] }];
    const b = await refusal(rss, () => openDataset(bomb, inputs));
    console.log(`a ${MB(stream.length + 150)} .npz inflating to 1 GiB: refused in ${b.ms.toFixed(0)} ms, +${MB(b.peak)} peak (${((b.peak / 2 ** 30) * 100).toFixed(1)}% of the gibibyte)`);
    console.log(`  ${b.message}`);

    const long = join(dir, 'long.csv');
    writeFileSync(long, Buffer.alloc(600 * 2 ** 20, '1,'));
    linkSync(long, join(dir, 'long.jsonl'));
    for (const file of [long, join(dir, 'long.jsonl')]) {
      const l = await refusal(rss, () => openDataset(file, inputs));
      console.log(`a 600 MB line without a break (${file.slice(-5)}): refused in ${l.ms.toFixed(0)} ms, +${MB(l.peak)} peak (${((l.peak / (600 * 2 ** 20)) * 100).toFixed(0)}% of the file)`);
      console.log(`  ${l.message}`);
    }
  } finally {
    await rss.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
