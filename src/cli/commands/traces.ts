/** exit-studio import-trace | traces list|show|delete | trace export */
import { call } from '../../api/commands.js';
import { formatList } from '../../formats/table.js';
import { describeCosts, traceCosts } from '../../trace/costs.js';
import type { TraceMeta } from '../../trace/types.js';
import { UsageError, flag, numbers, parse, positional, positiveId, str } from '../args.js';
import type { CliEnv } from '../context.js';
import { table } from '../output.js';
import { noteCosts } from '../costs-note.js';
import { interruptedLines } from './rerun.js';

export const importUsage =
  'import-trace FILE [FILE ...] [--label-column NAME | --labels FILE] [--costs c1,c2,...] [--layout KNC|NKC] [--name NAME] [--db PATH] [--json]\n' +
  `                                   store a trace file (${formatList('trace')});\n` +
  '                                   shard files (infer --shard I/N --out) merge into one trace';
export const tracesUsage = 'traces list [--interrupted]|show ID|delete ID [--db PATH] [--json]\n                                   the stored traces';
export const exportUsage = 'trace export ID --out FILE.tsv|FILE.npz [--force] [--db PATH]\n                                   write a stored trace back out (--force replaces an existing file)';

export async function runImport(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const p = parse(argv, {
    'label-column': { type: 'string' },
    labels: { type: 'string' },
    costs: { type: 'string' },
    layout: { type: 'string' },
    name: { type: 'string' },
  });
  positional(p, 0, 'FILE to import');
  const path = p.positionals.length === 1 ? p.positionals[0]! : p.positionals;
  if (str(p, 'label-column') && str(p, 'labels')) throw new UsageError('give either --label-column or --labels, not both');
  const layout = str(p, 'layout');
  if (layout !== undefined && layout !== 'KNC' && layout !== 'NKC') throw new UsageError(`--layout must be KNC or NKC; got "${layout}"`);
  const costs = numbers(p, 'costs');
  const labelColumn = str(p, 'label-column');
  const labels = str(p, 'labels');
  const name = str(p, 'name');
  const r = await call(env.context(str(p, 'db'), signal), 'trace.import', {
    path,
    ...(labelColumn ? { labelColumn } : {}),
    ...(labels ? { labels } : {}),
    ...(costs ? { costs } : {}),
    ...(layout ? { layout } : {}),
    ...(name ? { name } : {}),
  });
  noteCosts(env.out, r.costs);
  if (flag(p, 'json')) return env.out.result(r);
  env.out.line(`trace ${r.traceId}: ${r.samples} samples × ${r.exits} exits${r.hasLabels ? ', with labels' : ''}${r.hasProbs ? ', with probabilities' : ''}`);
  const m = r.merged;
  if (m) {
    const sha = (s: string): string => `sha256 ${s.slice(0, 12)}…`;
    env.out.line(`  ${m.shards > 1 ? `merged from ${m.shards} shard files` : 'recorded'}: ${m.model.name} (${sha(m.model.sha256)}) on ${m.dataset.name} (${sha(m.dataset.sha256)})`);
  }
}

export async function runTraces(argv: string[], env: CliEnv): Promise<void> {
  const p = parse(argv, { interrupted: { type: 'boolean' } });
  const verb = positional(p, 0, 'a verb: list, show ID or delete ID');
  const ctx = env.context(str(p, 'db'), undefined, 'read');
  if (verb === 'list') {
    // --interrupted: only the interrupted ones, each with the command that runs it again (--json: job.interrupted's traces).
    const stopped = (await call(ctx, 'job.interrupted', {})).traces;
    if (flag(p, 'interrupted')) {
      if (flag(p, 'json')) return env.out.result(stopped);
      return env.out.line(interruptedLines('trace', stopped).slice(1).join('\n') || 'no interrupted traces');
    }
    const all = await call(ctx, 'trace.list', {});
    if (flag(p, 'json')) return env.out.result(all);
    if (all.length === 0) env.out.line('no traces yet: run `exit-studio infer MODEL DATA` or `exit-studio import-trace FILE`');
    else env.out.line(table(['id', 'name', 'samples', 'exits', 'labels', 'probs', 'costs', 'created'], all.map((t) => [t.id, t.name, t.samples, t.exits.length, t.hasLabels ? 'yes' : 'no', t.hasProbs ? 'yes' : 'no', t.costSource, t.createdAt.slice(0, 19).replace('T', ' ')])));
    for (const l of interruptedLines('trace', stopped)) env.out.line(l);
    return;
  }
  const id = positiveId(positional(p, 1, 'a trace ID'), 'trace ID');
  if (verb === 'show') {
    const t = await call(ctx, 'trace.show', { id });
    if (flag(p, 'json')) return env.out.result(t);
    printTrace(t, env);
    return;
  }
  if (verb === 'delete') {
    const r = await call(ctx, 'trace.delete', { id });
    if (flag(p, 'json')) return env.out.result(r);
    env.out.line(`deleted trace ${id} and the runs made on it`);
    return;
  }
  throw new UsageError(`unknown verb "${verb}": use list, show ID or delete ID`);
}

export async function runExport(argv: string[], env: CliEnv): Promise<void> {
  const p = parse(argv, { out: { type: 'string' }, force: { type: 'boolean' } });
  const verb = positional(p, 0, '"export"');
  if (verb !== 'export') throw new UsageError(`unknown verb "${verb}": use trace export ID --out FILE`);
  const id = positiveId(positional(p, 1, 'a trace ID'), 'trace ID');
  const out = str(p, 'out');
  if (!out) throw new UsageError('--out FILE.tsv|FILE.npz is required');
  const r = await call(env.context(str(p, 'db'), undefined, 'read'), 'trace.export', { id, out, ...(flag(p, 'force') ? { force: true } : {}) });
  if (flag(p, 'json')) return env.out.result(r);
  env.out.line(`wrote ${r.path} (${r.samples} samples × ${r.exits} exits)`);
}

function printTrace(t: TraceMeta, env: CliEnv): void {
  const o = env.out;
  o.line(`trace ${t.id}: ${t.name}`);
  o.line(`  ${t.samples} samples, ${t.classes} classes, ${t.source}${t.hasLabels ? ', labels' : ''}${t.hasProbs ? ', probabilities' : ''}${t.hasConfidence ? '' : ', hard predictions only'}`);
  if (t.modelPath) o.line(`  model   ${t.modelPath} (sha256 ${t.modelSha256?.slice(0, 12)}…)`);
  if (t.datasetPath) o.line(`  dataset ${t.datasetPath} (sha256 ${t.datasetSha256?.slice(0, 12)}…)`);
  o.line(`  costs (cumulative, last exit = 1): ${describeCosts(traceCosts(t))}`);
  o.line(table(['#', 'exit', 'MACs', 'count', 'latency ms/sample'], t.exits.map((e, i) => [i + 1, e.name, e.macs ?? '-', e.macsSource ?? '-', e.latencyMs ?? '-'])).replace(/^/gm, '  '));
}
