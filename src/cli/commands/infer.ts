/** exit-studio infer MODEL DATA [...] */
import { call } from '../../api/commands.js';
import { flag, int, list, numbers, opt, parse, positional, str } from '../args.js';
import type { CliEnv } from '../context.js';
import { seconds } from '../output.js';

export const usage =
  'infer MODEL DATA [--labels FILE] [--label-column NAME] [--exits a,b,..] [--ep cpu|cuda|...] [--batch N] [--threads N]\n' +
  '      [--limit N] [--probs] [--force] [--allow-nan] [--mean m,..] [--std s,..] [--name NAME] [--db PATH] [--json]\n' +
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
    'allow-nan': { type: 'boolean' },
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
    ...(flag(p, 'allow-nan') ? { allowNonFinite: true } : {}),
    ...(mean || std ? { image: { ...opt('mean', mean), ...opt('std', std) } } : {}),
  });
  env.out.endProgress();
  if (flag(p, 'json')) {
    env.out.result({
      traceId: r.traceId, samples: r.samples, exits: r.exits, seconds: r.seconds, samplesPerSecond: r.samplesPerSecond,
      exitLatencyMs: r.exitLatencyMs, reused: r.reused, ep: r.ep,
    });
    return;
  }
  if (r.reused) {
    env.out.line(`trace ${r.traceId}: the same inference is already stored (${r.samples} samples × ${r.exits} exits); --force runs it again`);
    return;
  }
  env.out.line(`trace ${r.traceId}: ${r.samples} samples × ${r.exits} exits in ${seconds(r.seconds)} (${r.samplesPerSecond.toFixed(0)} samples/s on ${r.ep})`);
  env.out.line(`  latency to each exit (ms/sample): ${r.exitLatencyMs.map((x) => x.toFixed(4)).join(', ')}`);
}
