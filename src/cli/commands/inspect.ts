/** exit-studio inspect MODEL [--data FILE] [--dim NAME=N ...] [--json] */
import { call } from '../../api/commands.js';
import type { MacsBasis, ModelInfo } from '../../model/types.js';
import { flag, list, opt, parse, positional, str, UsageError } from '../args.js';
import type { CliEnv } from '../context.js';
import { table } from '../output.js';

export const usage = 'inspect MODEL [--data FILE] [--dim NAME=N] [--json]   inputs, outputs, detected exits and their MACs';

export async function run(argv: string[], env: CliEnv): Promise<void> {
  const p = parse(argv, { data: { type: 'string' }, dim: { type: 'string', multiple: true } });
  const path = positional(p, 0, 'MODEL (an .onnx file)');
  const dims = parseDims(list(p, 'dim'));
  const info = await call(env.context(str(p, 'db'), undefined, 'read'), 'model.inspect', { path, ...opt('data', str(p, 'data')), ...opt('dims', dims) });
  if (flag(p, 'json')) {
    env.out.result(toJson(info));
    return;
  }
  printModel(info, env);
}

/** "seq=256" (repeatable) → { seq: 256 }. */
function parseDims(items: string[]): Record<string, number> | undefined {
  if (items.length === 0) return undefined;
  const out: Record<string, number> = {};
  for (const item of items) {
    const m = /^([^=]+)=(\d+)$/.exec(item.trim());
    if (!m || Number(m[2]) < 1) throw new UsageError(`--dim takes NAME=N with N a positive whole number (e.g. --dim seq=256); got "${item}"`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** The documented --json shape. */
export function toJson(info: ModelInfo): unknown {
  return {
    path: info.path,
    sha256: info.sha256,
    inputs: info.inputs,
    outputs: info.outputs,
    exits: info.exits.map((e) => ({ index: e.index, name: e.name, classes: e.classes, kind: e.kind, macs: e.macs, macsSource: e.macsSource })),
    ignored: info.ignored,
    totalMacs: info.totalMacs,
    macsBasis: info.macsBasis,
  };
}

const shape = (s: (number | string | null)[]): string => `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;

/** One line on what the MAC counts are for: the shapes, where a dim's value came from, and how many nodes a run sized. */
export function describeBasis(b: MacsBasis): string {
  const at = b.inputs.map((i) => `${i.name} ${shape(i.shape)}`).join(', ');
  const dims = b.dims.map((d) => `${d.name} = ${d.value} (${d.from === 'data' ? 'from the data' : d.from === 'user' ? 'given' : 'assumed: no data given, pass --data or --dim'})`);
  const parts = [`counted per sample at ${at}`, ...dims];
  if (b.probed) parts.push(`${b.probed} of ${b.nodes} arithmetic nodes sized by one run on ${b.probeFeed === 'data' ? 'the first sample' : 'zeros'}`);
  if (b.unsized) parts.push(`${b.unsized} of ${b.nodes} arithmetic nodes could not be sized and count 0`);
  return parts.join('; ');
}

export function printModel(info: ModelInfo, env: CliEnv): void {
  const o = env.out;
  o.line(`${info.path}`);
  o.line(`  ${info.producer}, opset ${info.opset}, ${info.totalMacs.toLocaleString('en-US')} MACs in all`);
  o.line(`  MACs ${describeBasis(info.macsBasis)}`);
  o.line('');
  o.line('Inputs');
  o.line(indent(table(['name', 'type', 'shape'], info.inputs.map((t) => [t.name, t.type, shape(t.shape)]))));
  o.line('');
  o.line('Exits (depth order)');
  o.line(
    indent(
      table(
        ['#', 'output', 'classes', 'kind', 'MACs', 'share of full', 'count'],
        info.exits.map((e) => [
          e.index + 1, e.name, e.classes, e.kind, e.macs,
          info.totalMacs > 0 ? `${((100 * e.macs) / info.totalMacs).toFixed(1)}%` : '?', e.macsSource,
        ]),
      ),
    ),
  );
  if (info.ignored.length) {
    o.line('');
    o.line('Ignored outputs');
    for (const g of info.ignored) o.line(`  ${g.name}: ${g.reason}`);
  }
  if (info.warnings?.length) {
    o.line('');
    o.line('Warnings');
    for (const w of info.warnings) o.line(`  ${w}`);
  }
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}
