/**
 * Policy benchmarks (`npm run bench:policies`): UEE-UCB decisions per second,
 * a 50,000-sample x 20-seed run, every bandit policy on a million samples and
 * an EENet fit, each against its target.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir } from '../src/paths.js';
import { readPredictionMatrix } from '../src/trace/import-matrix.js';
import {
  eenetDataFromTrace,
  fitEENet,
  replay,
  runPolicySync,
  shuffledOrder,
  syntheticTrace,
  UeeUcb,
  type PolicyEnv,
} from '../src/policies/index.js';
import type { Trace } from '../src/trace/types.js';

/** Decisions per second of the published Python code, as quoted in the issue. */
const PYTHON_DECISIONS_PER_S = 21_000;

interface Row {
  what: string;
  value: string;
  target: string;
  ok: boolean;
}
const rows: Row[] = [];

function time<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

function env(trace: Trace, seed = 1): PolicyEnv {
  return {
    exits: trace.exits.length,
    classes: trace.classes,
    costs: trace.costs,
    lambda: 1,
    seed,
    supervised: false,
    rounds: trace.samples,
    hindsight: trace,
  };
}

async function main(): Promise<void> {
  const million = syntheticTrace({ samples: 1_000_000, exits: 4, classes: 10, seed: 1, probs: false });

  // 1. UEE-UCB decisions per second through the full replay engine (observation checks included):
  // once with the stream in memory order (the decision work), once shuffled (each round then
  // reads a random row of a 16 MB array: cache misses, not decisions, dominate).
  const inMemoryOrder = Uint32Array.from({ length: million.samples }, (_, i) => i);
  const shuffled = shuffledOrder(million.samples, 1);
  for (const [label, order, target] of [
    ['memory order', inMemoryOrder, 20e6],
    ['shuffled order', shuffled, 0],
  ] as const) {
    replay(million, new UeeUcb(env(million)), { seed: 1, order }); // warm-up for the JIT
    let best = Infinity;
    for (let i = 0; i < 5; i++) best = Math.min(best, time(() => replay(million, new UeeUcb(env(million)), { seed: 1, order })).ms);
    const perS = million.samples / (best / 1000);
    rows.push({
      what: `UEE-UCB decisions/s (K=4, replay engine, ${label})`,
      value: `${(perS / 1e6).toFixed(1)} M/s (x${Math.round(perS / PYTHON_DECISIONS_PER_S).toLocaleString('en')} the Python code's ~21 k/s)`,
      target: target > 0 ? '>= 20 M/s' : '(report)',
      ok: perS >= target,
    });
  }

  // 2. 50,000 samples x 20 seeds, metrics and series included (the IMDb trace when present).
  const file = join(sharedDataDir(), 'imdb-elasticbert-4exits.tsv');
  const imdb = existsSync(file)
    ? await readPredictionMatrix(file, { costs: [1 / 12, 3 / 12, 7 / 12, 1] })
    : syntheticTrace({ samples: 50_000, exits: 4, classes: 2, seed: 2, probs: false });
  runPolicySync(imdb, 'uee-ucb', { seeds: 2 });
  const r20 = time(() => runPolicySync(imdb, 'uee-ucb', { seeds: 20 }));
  rows.push({
    what: `UEE-UCB 50,000 x 20 seeds (${existsSync(file) ? 'IMDb' : 'synthetic'}), full runPolicy`,
    value: `${r20.ms.toFixed(0)} ms`,
    target: '(report)',
    ok: true,
  });

  // 3. Every bandit / sequential policy on 1,000,000 samples, one seed, full runPolicy.
  const withConf = syntheticTrace({ samples: 1_000_000, exits: 4, classes: 10, seed: 3, probs: false });
  for (const spec of ['uee-ucb', 'dee', 'random', 'fixed:2', 'oracle', 'maxprob:0.8', 'entropy:0.3', 'patience:2', 'maxprob@budget:0.5']) {
    const r = time(() => runPolicySync(withConf, spec, { seeds: 1 }));
    rows.push({ what: `${spec} on 1,000,000 samples (1 seed)`, value: `${r.ms.toFixed(0)} ms`, target: '< 1000 ms', ok: r.ms < 1000 });
  }

  // 4. EENet fit on 10,000 samples x 4 exits x 10 classes.
  const small = syntheticTrace({ samples: 10_000, exits: 4, classes: 10, seed: 4 });
  const data = eenetDataFromTrace(small, false);
  const fit = time(() => fitEENet(data, { budget: 0.5, costs: small.costs }));
  const last = fit.value.history.at(-1)!;
  rows.push({
    what: `EENet fit 10,000 x 4 x 10 (${fit.value.history.length} epochs, cost ${last.cost.toFixed(3)} for budget 0.5)`,
    value: `${fit.ms.toFixed(0)} ms`,
    target: '< 10000 ms',
    ok: fit.ms < 10_000,
  });

  const w = Math.max(...rows.map((r) => r.what.length));
  const v = Math.max(...rows.map((r) => r.value.length));
  console.log(`${'benchmark'.padEnd(w)}  ${'result'.padEnd(v)}  target`);
  for (const r of rows) console.log(`${r.what.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target} ${r.ok ? 'ok' : 'MISSED'}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
