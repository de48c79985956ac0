/** exit-studio rerun trace|run ID: run an interrupted job again from the request stored with it. */
import { call } from '../../api/commands.js';
import type { PolicyRunOutput } from '../../api/policy-commands.js';
import { UsageError, flag, parse, positional, positiveId, str } from '../args.js';
import type { CliEnv } from '../context.js';
import { table } from '../output.js';
import { printComparison } from './policies.js';

export const rerunUsage =
  'rerun trace|run ID [--db PATH] [--json]\n' +
  '                                   run an interrupted inference, import or policy run again (see `traces list`, `runs list`)';

export async function runRerun(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const p = parse(argv, {});
  const kind = positional(p, 0, 'what to run again: trace or run');
  if (kind !== 'trace' && kind !== 'run') throw new UsageError(`unknown kind "${kind}": use rerun trace ID or rerun run ID`);
  const id = positiveId(positional(p, 1, `a ${kind} ID`), `${kind} ID`);
  const r = await call(env.context(str(p, 'db'), signal, 'read'), 'job.rerun', { kind, id });
  env.out.endProgress();
  if (flag(p, 'json')) return env.out.result(r);
  env.out.line(`interrupted ${kind} ${id} ran again as ${kind} ${r.id} (${r.command}); the interrupted one is gone`);
  if (kind === 'run') {
    const out = r.result as PolicyRunOutput;
    const runs = out.runs;
    const resumed = runs[0]?.resumedSeeds ?? 0;
    if (resumed > 0) env.out.line(`  resumed: ${resumed} of ${runs[0]!.seeds} seeds were kept from the interrupted run, the rest replayed`);
    printComparison(out, env);
  }
}

/** Lines listing interrupted traces or runs, each with the command that runs it again; empty when none. */
export function interruptedLines(kind: 'trace' | 'run', rows: { id: number; name: string; createdAt: string }[]): string[] {
  if (rows.length === 0) return [];
  return [
    '',
    kind === 'run'
      ? 'interrupted (the process stopped mid-run; the seeds it finished are kept): resume one with `exit-studio rerun run ID`'
      : 'interrupted (the process stopped mid-job; nothing of them is stored): run one again with `exit-studio rerun trace ID`',
    table(['id', 'name', 'started', 'run again with'], rows.map((r) => [r.id, r.name, r.createdAt.slice(0, 19).replace('T', ' '), `exit-studio rerun ${kind} ${r.id}`])),
  ];
}
