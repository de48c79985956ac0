/** exit-studio bundle RUN --model MODEL --out DIR | apply DIR DATA */
import { call } from '../../api/commands.js';
import { UsageError, flag, int, opt, parse, positional, positiveId, str } from '../args.js';
import type { CliEnv } from '../context.js';
import { table } from '../output.js';

export const bundleUsage =
  'bundle RUN|FILE.json --model MODEL --out DIR [--verify-data DATA] [--ep EP] [--threads N] [--overwrite] [--force] [--db PATH] [--json]\n' +
  '                                   split the model into stages and write a deployable early-exit bundle (of a run, or of an exit-policy file)\n' +
  '                                   (--overwrite replaces a bundle in DIR; --force also bundles a model other than the trace\'s)';
export const applyUsage =
  'apply DIR DATA [--labels FILE] [--model MODEL] [--no-optimize] [--ep EP] [--threads N] [--batch N] [--limit N] [--json]\n' +
  '                                   run a bundle over data: accuracy, exit shares, latency and the measured speedup\n' +
  '                                   (--model: the full model, when it is not where the bundle recorded it; --no-optimize: run the portable stages)';

export async function runBundle(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const p = parse(argv, {
    model: { type: 'string' },
    out: { type: 'string' },
    'verify-data': { type: 'string' },
    ep: { type: 'string' },
    threads: { type: 'string' },
    overwrite: { type: 'boolean' },
    force: { type: 'boolean' },
  });
  const what = positional(p, 0, 'RUN (a run ID) or FILE.json (an exit-policy file)');
  const source = /^\d+$/.test(what) ? { runId: positiveId(what, 'run ID') } : { policyFile: what };
  const model = str(p, 'model');
  const out = str(p, 'out');
  if (!model) throw new UsageError('--model MODEL is required (the .onnx the policy was tuned on)');
  if (!out) throw new UsageError('--out DIR is required');
  const verifyData = str(p, 'verify-data');
  const ep = str(p, 'ep');
  const threads = int(p, 'threads');
  const r = await call(env.context(str(p, 'db'), signal, 'read'), 'run.bundle', {
    ...source, model, out,
    ...(verifyData ? { verifyData } : {}),
    ...(ep ? { ep } : {}),
    ...(threads ? { threads } : {}),
    ...(flag(p, 'overwrite') ? { overwrite: true } : {}),
    ...(flag(p, 'force') ? { force: true } : {}),
  });
  if (flag(p, 'json')) return env.out.result({ dir: r.dir, files: r.files, manifest: r.manifest, verification: r.verification, ep: r.ep, warnings: r.warnings });
  for (const w of r.warnings) env.out.note(`warning: ${w}`);
  env.out.line(`wrote ${r.dir}: ${r.files.join(', ')}`);
  env.out.line(`  every stage verified against the full model (${JSON.stringify(r.verification).slice(0, 200)})`);
}

export async function runApply(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const p = parse(argv, {
    labels: { type: 'string' },
    model: { type: 'string' },
    'no-optimize': { type: 'boolean' },
    ep: { type: 'string' },
    threads: { type: 'string' },
    batch: { type: 'string' },
    limit: { type: 'string' },
  });
  const dir = positional(p, 0, 'DIR (a bundle folder)');
  const data = positional(p, 1, 'DATA');
  const r = await call(env.context(str(p, 'db'), signal, 'read'), 'bundle.apply', {
    dir, data,
    ...opt('labels', str(p, 'labels')),
    ...opt('model', str(p, 'model')),
    ...(flag(p, 'no-optimize') ? { optimize: false } : {}),
    ...opt('ep', str(p, 'ep')),
    ...opt('threads', int(p, 'threads')),
    ...opt('batch', int(p, 'batch')),
    ...opt('limit', int(p, 'limit')),
  });
  if (flag(p, 'json')) return env.out.result(r);
  const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);
  env.out.line(`${r.samples} samples on ${r.ep}: accuracy ${pct(r.accuracy)} (full model ${pct(r.fullAccuracy)}), agreement with the full model ${pct(r.agreement)}`);
  env.out.line(table(['exit', 'samples', 'share'], r.exits.map((e, k) => [e, r.exitCounts[k]!, pct(r.exitShares[k]!)])).replace(/^/gm, '  '));
  env.out.line(`  ${r.meanLatencyMs.toFixed(4)} ms/sample early exit vs ${r.fullLatencyMs.toFixed(4)} ms/sample ${r.baseline === 'model' ? 'full model' : 'all stages'}: speedup ${r.speedup.toFixed(2)}×`);
  if (r.expected) {
    const { evaluation: e, estimates: x } = r.expected;
    const range = (i: { lo: number; hi: number } | null, f: (v: number) => string): string => (i ? `${f(i.lo)}–${f(i.hi)}` : '-');
    const quality = x.accuracy ? `accuracy ${range(x.accuracy, pct)}` : `agreement ${range(x.agreement, pct)}`;
    const how = e.hindsight ? 'in-sample, hindsight: not a forecast' : e.mode;
    env.out.line(`  the policy's run expected ${quality} at mean cost ${range(x.avgCost, (v) => v.toFixed(4))} (${how}, 95 % interval over ${x.seeds} seeds); measured here: mean cost ${r.expectedCost.toFixed(4)}`);
  }
  for (const w of r.warnings) env.out.note(`warning: ${w}`);
}
