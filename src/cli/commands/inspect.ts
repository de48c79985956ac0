/** exit-studio inspect MODEL [--json] */
import { call } from '../../api/commands.js';
import type { ModelInfo } from '../../model/types.js';
import { flag, parse, positional, str } from '../args.js';
import type { CliEnv } from '../context.js';
import { table } from '../output.js';

export const usage = 'inspect MODEL [--json]            inputs, outputs and detected exits of an ONNX model';

export async function run(argv: string[], env: CliEnv): Promise<void> {
  const p = parse(argv, {});
  const path = positional(p, 0, 'MODEL (an .onnx file)');
  const info = await call(env.context(str(p, 'db'), undefined, 'read'), 'model.inspect', { path });
  if (flag(p, 'json')) {
    env.out.result(toJson(info));
    return;
  }
  printModel(info, env);
}

/** The documented --json shape. */
export function toJson(info: ModelInfo): unknown {
  return {
    path: info.path,
    sha256: info.sha256,
    inputs: info.inputs,
    outputs: info.outputs,
    exits: info.exits.map((e) => ({ index: e.index, name: e.name, classes: e.classes, kind: e.kind, macs: e.macs })),
    ignored: info.ignored,
  };
}

const shape = (s: (number | string | null)[]): string => `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;

export function printModel(info: ModelInfo, env: CliEnv): void {
  const o = env.out;
  o.line(`${info.path}`);
  o.line(`  ${info.producer}, opset ${info.opset}, ${info.totalMacs.toLocaleString('en-US')} MACs in all (batch 1)`);
  o.line('');
  o.line('Inputs');
  o.line(indent(table(['name', 'type', 'shape'], info.inputs.map((t) => [t.name, t.type, shape(t.shape)]))));
  o.line('');
  o.line('Exits (depth order)');
  o.line(
    indent(
      table(
        ['#', 'output', 'classes', 'kind', 'MACs', 'share of full'],
        info.exits.map((e) => [e.index + 1, e.name, e.classes, e.kind, e.macs, info.totalMacs > 0 ? `${((100 * e.macs) / info.totalMacs).toFixed(1)}%` : '?']),
      ),
    ),
  );
  if (info.ignored.length) {
    o.line('');
    o.line('Ignored outputs');
    for (const g of info.ignored) o.line(`  ${g.name}: ${g.reason}`);
  }
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}
