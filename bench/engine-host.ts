/**
 * Engine-host benchmark (`npm run build && node dist/bench/engine-host.js`):
 * how long the desktop main process's event loop, the one that draws the
 * window and answers its menus and dialogs, is blocked while the engine works.
 * The same jobs run side by side in one run, two ways:
 *
 * - in process: the job runner and SQLite in the measuring process, as the
 *   desktop main process ran them before the engine moved out;
 * - engine host: the same commands sent through the desktop's EngineClient to
 *   dist/src/server/engine-process.js in a child process (child_process.fork
 *   stands in for Electron's utilityProcess, the same module on both).
 *
 * The jobs: importing a prediction matrix of HOST_ROWS rows (default
 * 1,000,000) x 4 exits (parsing and SQLite writes), then `run.show` of a
 * 20-seed replay with every seed's series (a large result), then listing.
 * The event loop's delay is sampled every 10 ms (perf_hooks); the longest
 * stall and the 99th percentile are printed for each way, and their ratio.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { EngineClient } from '../src/server/engine-client.js';
import { forkEngine } from '../src/server/engine-fork.js';
import { JobRunner, type JobOutcome } from '../src/server/jobs.js';
import { openStore, type Store } from '../src/store/store.js';

const ROWS = Number(process.env.HOST_ROWS ?? 1_000_000);
const EXITS = 4;
const dir = mkdtempSync(join(tmpdir(), 'es-bench-host-'));

/** A prediction matrix whose later exits agree with the label more often, like a real model's. */
function writeMatrix(path: string): void {
  let s = 7;
  const rand = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const lines = [`${Array.from({ length: EXITS }, (_, k) => `exit_${k + 1}`).join('\t')}\tlabel`];
  for (let i = 0; i < ROWS; i++) {
    const label = Math.floor(rand() * 10);
    const row = Array.from({ length: EXITS }, (_, k) => (rand() < 0.6 + 0.1 * k ? label : Math.floor(rand() * 10)));
    lines.push(`${row.join('\t')}\t${label}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

type Run = (id: string, command: string, payload: unknown) => Promise<JobOutcome>;

interface Measured {
  seconds: number;
  maxMs: number;
  p99Ms: number;
}

async function measure(run: Run, matrix: string): Promise<Measured> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t0 = performance.now();
  const must = async (id: string, command: string, payload: unknown): Promise<unknown> => {
    const o = await run(id, command, payload);
    if (!o.ok) throw new Error(`${command}: ${o.error.message}`);
    return o.result;
  };
  const imported = (await must('import', 'trace.import', { path: matrix, labelColumn: 'label', name: 'bench' })) as { traceId: number };
  const replay = (await must('replay', 'policy.run', { traceId: imported.traceId, policies: ['uee-ucb'], seeds: 20, name: 'bench' })) as { runs: { runId: number }[] };
  await must('show', 'run.show', { id: replay.runs[0]!.runId, perSeed: true });
  await must('list', 'trace.list', {});
  const seconds = (performance.now() - t0) / 1000;
  h.disable();
  return { seconds, maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 };
}

async function inProcess(matrix: string): Promise<Measured> {
  let store: Store | undefined;
  const runner = new JobRunner(() => (store ??= openStore(join(dir, 'in-process.sqlite'))));
  try {
    return await measure((id, c, p) => runner.run(id, c, p, () => {}), matrix);
  } finally {
    store?.close();
  }
}

async function engineHost(matrix: string): Promise<Measured> {
  const client = new EngineClient(() => forkEngine({ env: { ...process.env, EXIT_STUDIO_DB: join(dir, 'engine-host.sqlite') } }));
  // Started (and loaded) before the clock runs, as the app starts it with the window.
  await client.run('warm', 'trace.list', {}, () => {});
  try {
    return await measure((id, c, p) => client.run(id, c, p, () => {}), matrix);
  } finally {
    await client.close();
  }
}

const matrix = join(dir, 'matrix.tsv');
writeMatrix(matrix);
const a = await inProcess(matrix);
const b = await engineHost(matrix);
const row = (name: string, m: Measured): string => `${name.padEnd(12)} ${m.seconds.toFixed(1).padStart(7)} s   ${m.maxMs.toFixed(0).padStart(7)} ms   ${m.p99Ms.toFixed(0).padStart(7)} ms`;
console.log(`import ${ROWS.toLocaleString('en')} x ${EXITS} exits, replay 20 seeds, show every seed, list: the measuring process's event loop`);
console.log(`${''.padEnd(12)} ${'jobs'.padStart(9)}   ${'longest'.padStart(10)}   ${'p99 delay'.padStart(10)}`);
console.log(row('in process', a));
console.log(row('engine host', b));
console.log(`longest stall: ${(a.maxMs / Math.max(b.maxMs, 1)).toFixed(0)}x shorter with the engine host; p99 ${(a.p99Ms / Math.max(b.p99Ms, 1)).toFixed(0)}x`);
rmSync(dir, { recursive: true, force: true });
