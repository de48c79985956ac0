/** exit-studio infer MODEL DATA [...] */
import { call, type CommandInput } from '../../api/commands.js';
import { formatList } from '../../formats/table.js';
import { describeShard, type ShardSpec } from '../../trace/shards.js';
import { UsageError, flag, int, list, numbers, opt, parse, positional, str, type Parsed } from '../args.js';
import type { CliEnv } from '../context.js';
import type { LatencyProfile } from '../../model/timing.js';
import { seconds } from '../output.js';

/** One line saying what a profile measured and what it cost, for the CLI and messages. */
export function describeProfile(p: LatencyProfile): string {
  const how = p.method === 'staged' ? `as ${p.ms.length} stages${p.layout ? ` (${p.layout})` : ''}` : `exit by exit as pruned models`;
  const on = p.inputs === 'inference' ? 'batches of this job' : 'made-up inputs';
  return `median of ${p.repeats} pass${p.repeats === 1 ? '' : 'es'} over ${on} of ${p.batch}, timed ${how}; took ${p.seconds.toFixed(1)} s`;
}

/** Four significant digits: latencies run from microseconds to seconds per sample. */
const fixed = (x: number): string => x.toPrecision(4);

export const usage =
  'infer MODEL DATA [--labels FILE] [--label-column NAME] [--exits a,b,..] [--ep cpu|cuda|...] [--batch N] [--threads N]\n' +
  '      [--limit N] [--probs] [--force] [--allow-nan] [--mean m,..] [--std s,..] [--name NAME] [--db PATH] [--json]\n' +
  '      [--shard I/N] [--out FILE.npz]\n' +
  '                                   run the model over a dataset and store its exit trace; with --out, write it\n' +
  '                                   to a file instead (the database untouched), with --shard only shard I of N';

export async function run(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const p = parse(argv, {
    labels: { type: 'string' },
    'label-column': { type: 'string' },
    exits: { type: 'string', multiple: true },
    ep: { type: 'string' },
    batch: { type: 'string' },
    threads: { type: 'string' },
    limit: { type: 'string' },
    probs: { type: 'boolean' },
    force: { type: 'boolean' },
    'allow-nan': { type: 'boolean' },
    mean: { type: 'string' },
    std: { type: 'string' },
    name: { type: 'string' },
    shard: { type: 'string' },
    out: { type: 'string' },
  });
  const model = positional(p, 0, 'MODEL (an .onnx file)');
  const data = positional(p, 1, `DATA (${formatList('dataset')})`);
  const exits = list(p, 'exits').flatMap((s) => s.split(',')).filter(Boolean);
  const mean = numbers(p, 'mean');
  const std = numbers(p, 'std');
  const request = {
    model,
    data,
    ...opt('labels', str(p, 'labels')),
    ...opt('labelColumn', str(p, 'label-column')),
    ...(exits.length ? { exits } : {}),
    ...opt('ep', str(p, 'ep')),
    ...opt('batch', int(p, 'batch')),
    ...opt('threads', int(p, 'threads')),
    ...opt('limit', int(p, 'limit')),
    probs: flag(p, 'probs'),
    ...(flag(p, 'allow-nan') ? { allowNonFinite: true } : {}),
    ...(mean || std ? { image: { ...opt('mean', mean), ...opt('std', std) } } : {}),
  };
  const out = str(p, 'out');
  if (out !== undefined) return record(p, env, signal, { ...request, out, force: flag(p, 'force'), ...opt('shard', shardFlag(p)) });
  if (str(p, 'shard') !== undefined) throw new UsageError('--shard needs --out FILE.npz: each shard is written to its own file, and import-trace merges the files');
  const r = await call(env.context(str(p, 'db'), signal), 'trace.infer', { ...request, ...opt('name', str(p, 'name')), force: flag(p, 'force') });
  env.out.endProgress();
  if (flag(p, 'json')) {
    env.out.result({
      traceId: r.traceId, samples: r.samples, exits: r.exits, seconds: r.seconds, jobSeconds: r.jobSeconds, samplesPerSecond: r.samplesPerSecond, threads: r.threads, threadsWhy: r.threadsWhy, pipeline: r.pipeline,
      exitLatencyMs: r.exitLatencyMs, latency: r.latency, reused: r.reused, ep: r.ep,
    });
    return;
  }
  if (r.reused) {
    env.out.line(`trace ${r.traceId}: the same inference is already stored (${r.samples} samples × ${r.exits} exits); --force runs it again`);
    return;
  }
  env.out.line(`trace ${r.traceId}: ${r.samples} samples × ${r.exits} exits in ${seconds(r.seconds)} (${r.samplesPerSecond.toFixed(0)} samples/s on ${r.ep}, ${r.threads} thread${r.threads === 1 ? '' : 's'}: ${r.threadsWhy}); the whole job took ${seconds(r.jobSeconds)}`);
  if (r.latency) {
    const l = r.latency;
    env.out.line(`  latency to each exit (ms/sample): ${l.ms.map((x, k) => `${fixed(x)} [${fixed(l.q1[k]!)}–${fixed(l.q3[k]!)}]`).join(', ')}`);
    env.out.line(`    median [interquartile range]: ${describeProfile(l)}`);
  }
}

/** infer --out: the trace goes to a file, never to a database (so --db and --name have nothing to act on); --force replaces the file. */
async function record(p: Parsed, env: CliEnv, signal: AbortSignal, payload: CommandInput<'trace.record'>): Promise<void> {
  for (const name of ['db', 'name']) {
    if (p.values[name] !== undefined) throw new UsageError(`--${name} does not apply with --out, which writes the trace to the file only; store it with \`exit-studio import-trace ${payload.out}\``);
  }
  const r = await call(env.context(undefined, signal), 'trace.record', payload);
  env.out.endProgress();
  if (flag(p, 'json')) return env.out.result(r);
  env.out.line(`wrote ${r.path}: ${describeShard(r.shard)} × ${r.exits} exits in ${seconds(r.seconds)} (${r.samplesPerSecond.toFixed(0)} samples/s on ${r.ep})`);
}

/** "--shard I/N", I from 0 to N-1. */
function shardFlag(p: Parsed): ShardSpec | undefined {
  const v = str(p, 'shard');
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1 && index < count)) throw new UsageError(`--shard must be I/N with N ≥ 1 and I from 0 to N-1 (0/4 is the first of four shards); got "${v}"`);
  return { index, count };
}
