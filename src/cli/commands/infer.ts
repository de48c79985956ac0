/** exit-studio infer MODEL DATA [...] */
import { call } from '../../api/commands.js';
import { flag, int, list, numbers, opt, parse, positional, str } from '../args.js';
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
  '      [--limit N] [--probs] [--force] [--mean m,..] [--std s,..] [--name NAME] [--db PATH] [--json]\n' +
  '                                   run the model over a dataset and store its exit trace';

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
    mean: { type: 'string' },
    std: { type: 'string' },
    name: { type: 'string' },
  });
  const model = positional(p, 0, 'MODEL (an .onnx file)');
  const data = positional(p, 1, 'DATA (.npy, .npz, .csv, .tsv, .jsonl or a folder of images)');
  const exits = list(p, 'exits').flatMap((s) => s.split(',')).filter(Boolean);
  const mean = numbers(p, 'mean');
  const std = numbers(p, 'std');
  const r = await call(env.context(str(p, 'db'), signal), 'trace.infer', {
    model,
    data,
    ...opt('labels', str(p, 'labels')),
    ...opt('labelColumn', str(p, 'label-column')),
    ...(exits.length ? { exits } : {}),
    ...opt('ep', str(p, 'ep')),
    ...opt('batch', int(p, 'batch')),
    ...opt('threads', int(p, 'threads')),
    ...opt('limit', int(p, 'limit')),
    ...opt('name', str(p, 'name')),
    probs: flag(p, 'probs'),
    force: flag(p, 'force'),
    ...(mean || std ? { image: { ...opt('mean', mean), ...opt('std', std) } } : {}),
  });
  env.out.endProgress();
  if (flag(p, 'json')) {
    env.out.result({
      traceId: r.traceId, samples: r.samples, exits: r.exits, seconds: r.seconds, jobSeconds: r.jobSeconds, samplesPerSecond: r.samplesPerSecond, threads: r.threads, threadsWhy: r.threadsWhy,
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
