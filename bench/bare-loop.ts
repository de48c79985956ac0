/**
 * The bare onnxruntime-node loop bench:big compares the studio against, as its own process:
 * read the .npz, make one session of the model, run every batch fetching every output. What a
 * user would write by hand to run the model, nothing more.
 *
 * Usage: node dist/bench/bare-loop.js MODEL DATA.npz BATCH THREADS; prints JSON timings.
 */
import * as ort from 'onnxruntime-node';
import { readNpz } from '../src/data/npz.js';

const [model, data, batchArg, threadsArg] = process.argv.slice(2);
const batch = Number(batchArg);
const threads = Number(threadsArg);
const t0 = performance.now();
const arrays = await readNpz(data!);
const session = await ort.InferenceSession.create(model!, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
const t1 = performance.now();
const names = session.inputNames;
const n = arrays[names[0]!]!.shape[0]!;
for (let i = 0; i < n; i += batch) {
  const m = Math.min(batch, n - i);
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of names) {
    const a = arrays[name]!;
    const per = a.shape.slice(1).reduce((x, y) => x * y, 1);
    feeds[name] = new ort.Tensor(a.dtype === 'int64' ? 'int64' : 'float32', a.data.subarray(i * per, (i + m) * per) as never, [m, ...a.shape.slice(1)]);
  }
  await session.run(feeds, session.outputNames);
}
const t2 = performance.now();
await session.release();
console.log(JSON.stringify({ samples: n, loadSeconds: (t1 - t0) / 1000, loopSeconds: (t2 - t1) / 1000 }));
