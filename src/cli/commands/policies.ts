/** exit-studio run | runs | export | diagnose */
import { existsSync } from 'node:fs';
import { call } from '../../api/commands.js';
import type { PolicyRunOutput } from '../../api/policy-commands.js';
import { StudioError } from '../../errors.js';
import type { CostChoice } from '../../policies/costs.js';
import { describeCosts, macsEstimated, type ResolvedCosts } from '../../trace/costs.js';
import type { TraceDiagnostics } from '../../trace/diagnostics.js';
import { UsageError, flag, int, list, num, numbers, opt, parse, positional, positiveId, str, type Parsed } from '../args.js';
import type { Evaluation } from '../../policies/evaluation.js';
import type { CliEnv } from '../context.js';
import { table } from '../output.js';
import { needsHint } from '../hints.js';
import type { CommandContext } from '../../api/context.js';
import { kebab, paramFlags, readParams, unreadParams } from '../policy-params.js';
import { noteCosts } from '../costs-note.js';
import { interruptedLines } from './rerun.js';

export const runUsage =
  'run TRACE --policy NAME [--policy NAME ...] [--seeds S] [--lambda L] [--costs c1,..|macs|latency|uniform] [--supervised]\n' +
  '      [--holdout F | --calibrate-on TRACE | --in-sample]\n' +
  '      [--PARAMETER VALUE ...] [--param [POLICY.]NAME=VALUE ...] [--label-column NAME] [--db PATH] [--json]\n' +
  '                                   replay policies side by side on the same seeds (TRACE: a stored trace id or a file to import)';
/** What `run --help` says about evaluation modes (docs/policies.md, "How a figure is obtained"). */
export const evaluationHelp = [
  'How the figures are obtained (one of these; docs/policies.md):',
  '  --holdout F           held-out: per seed, a seeded split of the trace; F is the share kept aside to score on (the',
  '                        evaluation part, default 0.5), the rest is the calibration part fitted policies fit on; every',
  '                        policy of the run, online ones too, is scored on the same evaluation part. The default whenever',
  '                        a fitted policy (EENet, best-fixed, maxprob@budget, ...) is in the run.',
  '  --calibrate-on TRACE  cross-trace: fitted policies fit on TRACE (a stored trace id or a file to import: the same model',
  '                        and exits), and every policy is scored on the whole of this trace.',
  '  --in-sample           fit and score on the whole trace; a fitted policy\'s figures are then hindsight. The default',
  '                        for a run of online policies and fixed baselines only.',
].join('\n');

export const runsUsage = 'runs list [--interrupted]|show ID|compare ID ID...|delete ID [--db PATH] [--json]\n                                   the stored policy runs';
export const exportUsage = 'export RUN --out FILE.json [--force] [--db PATH]\n                                   write what a run learned as an exit-policy file (--force replaces an existing file)';
export const diagnoseUsage = 'diagnose TRACE [--costs c1,..|macs|latency|uniform] [--db PATH] [--json]\n                                   per-exit accuracy, strong dominance, confidence, cost-accuracy front';

/** A run's costs in a word for a table: where they came from, and whether they were assumed or estimated. */
function costsWord(c: ResolvedCosts): string {
  return c.costsAssumed ? 'uniform (assumed)' : macsEstimated(c) ? 'macs (estimate)' : c.costSource;
}

/** --costs: numbers (cumulative, any unit), or a named choice. */
function costChoice(p: Parsed): CostChoice | undefined {
  const text = str(p, 'costs');
  const named = ['trace', 'macs', 'latency', 'uniform'] as const;
  return text === undefined ? undefined : (named as readonly string[]).includes(text) ? (text as (typeof named)[number]) : numbers(p, 'costs');
}

/** A stored trace id, or a file that is imported first. */
async function resolveTrace(ctx: CommandContext, text: string, env: CliEnv, labelColumn?: string): Promise<number> {
  if (/^\d+$/.test(text)) return positiveId(text, 'trace ID');
  if (!existsSync(text)) throw new UsageError(`TRACE "${text}" is neither a stored trace id nor an existing file`);
  const r = await call(ctx, 'trace.import', { path: text, ...(labelColumn ? { labelColumn } : {}) });
  env.out.note(`imported ${text} as trace ${r.traceId} (${r.samples} samples × ${r.exits} exits)`);
  return r.traceId;
}

export async function runRun(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const p = parse(argv, {
    policy: { type: 'string', multiple: true },
    seeds: { type: 'string' },
    'first-seed': { type: 'string' },
    lambda: { type: 'string' },
    costs: { type: 'string' },
    supervised: { type: 'boolean' },
    holdout: { type: 'string' },
    'calibrate-on': { type: 'string' },
    'in-sample': { type: 'boolean' },
    ...paramFlags(),
    name: { type: 'string' },
    'label-column': { type: 'string' },
  });
  const policies = list(p, 'policy');
  if (policies.length === 0) throw new UsageError('give at least one --policy (e.g. --policy uee-ucb --policy dee)');
  // Flags are read before a TRACE file is imported: a mistyped value costs no import.
  const { params, entries } = readParams(p, policies);
  const asked = evaluationFlags(p);
  const ctx = env.context(str(p, 'db'), signal);
  const traceId = await resolveTrace(ctx, positional(p, 0, 'TRACE (a trace id or a file)'), env, str(p, 'label-column'));
  const evaluation =
    asked?.mode === 'cross-trace' ? { mode: 'cross-trace' as const, traceId: await resolveTrace(ctx, asked.trace, env, str(p, 'label-column')) } : asked;
  const costs = costChoice(p);
  const unread = unreadParams(params, policies);
  if (unread.length) env.out.note(`note: no chosen policy reads ${unread.map((n) => `--${kebab(n)}`).join(', ')} (\`exit-studio policies\` lists who reads what)`);
  const r = await call(ctx, 'policy.run', {
    traceId,
    policies: entries,
    ...opt('seeds', int(p, 'seeds')),
    ...opt('firstSeed', int(p, 'first-seed')),
    ...opt('lambda', num(p, 'lambda')),
    ...opt('costs', costs),
    supervised: flag(p, 'supervised'),
    ...opt('evaluation', evaluation),
    ...(Object.keys(params).length ? { params } : {}),
    ...opt('name', str(p, 'name')),
  });
  env.out.endProgress();
  noteCosts(env.out, r.costs);
  if (flag(p, 'json')) env.out.result(r);
  else printComparison(r, env);
  if (r.failed.length) {
    // The others ran and are stored; the exit code still says that something the user asked for did not.
    const refused = r.failed.some((f) => f.kind === 'input');
    throw new StudioError(`${r.failed.length} of ${r.failed.length + r.runs.length} policies did not run (${r.failed.map((f) => f.policy).join(', ')}); the others are stored`, { kind: refused ? 'input' : 'internal' });
  }
}

/** --holdout F, --calibrate-on TRACE or --in-sample (at most one); undefined leaves the choice to the default. */
function evaluationFlags(p: Parsed): { mode: 'held-out'; holdout: number } | { mode: 'cross-trace'; trace: string } | { mode: 'in-sample' } | undefined {
  const holdout = num(p, 'holdout');
  const other = str(p, 'calibrate-on');
  const inSample = flag(p, 'in-sample');
  const given = [holdout !== undefined && '--holdout', other !== undefined && '--calibrate-on', inSample && '--in-sample'].filter(Boolean);
  if (given.length > 1) throw new UsageError(`${given.join(' and ')} choose different evaluations; give one of them`);
  if (holdout !== undefined) {
    if (!(holdout > 0 && holdout < 1)) throw new UsageError(`--holdout is the share of the trace kept aside to score on, between 0 and 1 (exclusive); got ${holdout}`);
    return { mode: 'held-out', holdout };
  }
  if (other !== undefined) return { mode: 'cross-trace', trace: other };
  return inSample ? { mode: 'in-sample' } : undefined;
}

/** How a run's figures were obtained, in a table cell. */
export function evaluationCell(e: Evaluation, usesHindsight: boolean | undefined): string {
  if (e.mode === 'in-sample') return usesHindsight ? 'in-sample (hindsight)' : 'in-sample';
  if (e.mode === 'cross-trace') return `cross-trace (fit on #${e.calibrationTrace ?? '?'})`;
  return `held-out ${e.evaluationSamples}/${e.evaluationSamples + e.calibrationSamples}`;
}

/** One line saying how every run of one invocation was evaluated. */
function evaluationLine(e: Evaluation): string {
  switch (e.mode) {
    case 'held-out':
      return `Evaluated held-out: each seed splits the trace; fitted policies fit on ${e.calibrationSamples} samples, and every policy is scored on the other ${e.evaluationSamples}, the same for all (--holdout sets their share).`;
    case 'cross-trace':
      return `Evaluated cross-trace: fitted policies fit on trace ${e.calibrationTrace ?? '?'} (${e.calibrationSamples} samples); every policy is scored on all ${e.evaluationSamples} samples of this one.`;
    case 'in-sample':
      return `Evaluated in-sample: every policy replays all ${e.evaluationSamples} samples; a policy that fits on data was fitted on them too, so its figures are hindsight.`;
  }
}

const REGRET_NOTE =
  'Regret is measured per kind of policy (docs/policies.md): bandits over fixed exits against the best fixed exit; thresholds,\n' +
  'patience and EENet as their loss minus the best fixed exit\'s (negative: better than any fixed exit); DEE against its best per-context rule.';

const ON_RULE_NOTE = 'On rule: the share of the last tenth of the stream in which the policy took the exit its learned (exported) rule takes.';

/** The side-by-side table, in the order the policies were asked for; a policy that did not run has its row, and why below. */
export function printComparison({ runs, failed }: Pick<PolicyRunOutput, 'runs' | 'failed'>, env: CliEnv): void {
  const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);
  const rows: { index: number; cells: (string | number)[] }[] = [
    ...runs.map((r) => ({
      index: r.index,
      cells: [
        r.runId, r.policy, evaluationCell(r.evaluation, r.usesHindsight), r.seeds, pct(r.summary.accuracy), pct(r.summary.agreement), r.summary.avgCost, r.summary.cumRegret,
        r.summary.onRule === null ? '-' : `${(100 * r.summary.onRule).toFixed(1)}%`,
        r.summary.exitShare.map((s) => (100 * s).toFixed(1)).join(' / '),
      ],
    })),
    ...failed.map((f) => ({ index: f.index, cells: ['-', f.policy, '-', f.kind === 'input' ? 'refused' : 'failed', '-', '-', '-', '-', '-', '-'] })),
  ].sort((a, b) => a.index - b.index);
  env.out.line(table(['run', 'policy', 'evaluated', 'seeds', 'accuracy', 'agreement', 'mean cost', 'cum. regret', 'on rule', 'exit shares'], rows.map((r) => r.cells)));
  for (const f of failed) env.out.line(f.kind === 'input' ? `refused: ${f.error}${f.needs ? needsHint(f.needs) : ''}` : `${f.policy} failed: ${f.error}`);
  if (runs[0]) env.out.line(evaluationLine(runs[0].evaluation));
  const kinds = new Set(runs.map((r) => r.summary.regretKind));
  if (kinds.size > 1) env.out.line(REGRET_NOTE);
  env.out.line(ON_RULE_NOTE);
}

export async function runRuns(argv: string[], env: CliEnv): Promise<void> {
  const p = parse(argv, { interrupted: { type: 'boolean' } });
  const verb = positional(p, 0, 'a verb: list, show ID, compare ID ID..., delete ID');
  const ctx = env.context(str(p, 'db'), undefined, 'read');
  const json = flag(p, 'json');
  if (verb === 'list') {
    // --interrupted: only the interrupted ones, each with the command that runs it again (--json: job.interrupted's runs).
    const stopped = (await call(ctx, 'job.interrupted', {})).runs;
    if (flag(p, 'interrupted')) {
      if (json) return env.out.result(stopped);
      return env.out.line(interruptedLines('run', stopped).slice(1).join('\n') || 'no interrupted runs');
    }
    const runs = await call(ctx, 'run.list', {});
    if (json) return env.out.result(runs);
    const hint = interruptedLines('run', stopped);
    if (runs.length === 0) return env.out.line(['no runs yet: `exit-studio run TRACE --policy uee-ucb`', ...hint].join('\n'));
    env.out.line(
      table(
        ['id', 'name', 'policy', 'trace', 'evaluated', 'seeds', 'accuracy', 'mean cost', 'costs', 'created'],
        runs.map((r) => [r.id, r.name, r.policy, r.traceId, evaluationCell(r.evaluation, r.config.usesHindsight), r.seeds.length, r.means.accuracy ?? r.means.agreement, r.means.avgCost, costsWord(r.config), r.createdAt.slice(0, 19).replace('T', ' ')]),
      ),
    );
    for (const l of hint) env.out.line(l);
    return;
  }
  if (verb === 'compare') {
    const ids = p.positionals.slice(1).map((t) => positiveId(t, 'run ID'));
    if (ids.length < 2) throw new UsageError('compare needs two or more run IDs');
    const r = await call(ctx, 'run.compare', { ids });
    if (json) return env.out.result(r);
    const mark = (metric: keyof typeof r.best, id: number, text: string): string => (r.best[metric] === id ? `${text} *` : text);
    env.out.line(
      table(
        ['run', 'policy', 'trace', 'evaluated', 'costs', 'accuracy', 'agreement', 'mean cost', 'cum. regret'],
        r.runs.map((x) => [
          x.id, x.policy, x.traceId, evaluationCell(x.evaluation, x.config.usesHindsight), costsWord(x.config),
          mark('accuracy', x.id, x.means.accuracy === null ? '-' : x.means.accuracy.toFixed(4)),
          mark('agreement', x.id, x.means.agreement.toFixed(4)),
          mark('avgCost', x.id, x.means.avgCost.toFixed(4)),
          mark('cumRegret', x.id, x.means.cumRegret.toFixed(2)),
        ]),
      ),
    );
    if (!r.samplesComparable) {
      env.out.line('not ranked: these runs were scored on different samples (another trace, held-out split or seeds), so their figures do not compare; run them in one invocation, or with the same --holdout and seeds');
      return;
    }
    env.out.line('* best on that metric (higher accuracy and agreement, lower cost and regret)');
    if (!r.costsComparable) env.out.line('mean cost is not ranked: these runs used different costs (see the costs column; `runs show ID` gives the values)');
    if (!r.regretComparable) {
      env.out.line('cum. regret is not ranked: these runs measure it against different references (another trace, costs or lambda, or DEE against its own per-bin rule; docs/policies.md)');
    }
    return;
  }
  const id = positiveId(positional(p, 1, 'a run ID'), 'run ID');
  if (verb === 'show') {
    const r = await call(ctx, 'run.show', { id, perSeed: true });
    if (json) return env.out.result(r);
    env.out.line(`run ${r.id}: ${r.name}`);
    env.out.line(`  policy ${r.policy} on trace ${r.traceId}, ${r.seeds.length} seeds, ${r.supervised ? 'supervised' : 'unsupervised'}, app ${r.appVersion}`);
    env.out.line(`  lambda ${r.config.lambda}; costs (cumulative, last exit = 1): ${describeCosts(r.config)}`);
    env.out.line(`  ${evaluationLine(r.evaluation).replace(/^Evaluated/, 'evaluated')}${r.evaluation.mode === 'in-sample' && r.config.usesHindsight ? ' This policy fits on data: its figures are hindsight.' : ''}`);
    env.out.line(`  accuracy ${r.means.accuracy ?? '-'}  agreement ${r.means.agreement}  mean cost ${r.means.avgCost}  cum. regret ${r.means.cumRegret}`);
    env.out.line(`  exit shares ${r.means.exitShare.map((s) => s.toFixed(4)).join(', ')}`);
    env.out.line(`  learned ${JSON.stringify(r.learned).slice(0, 400)}`);
    return;
  }
  if (verb === 'delete') {
    const r = await call(ctx, 'run.delete', { id });
    if (json) return env.out.result(r);
    env.out.line(`deleted run ${id}`);
    return;
  }
  throw new UsageError(`unknown verb "${verb}": use list, show ID, compare ID ID... or delete ID`);
}

export async function runExport(argv: string[], env: CliEnv): Promise<void> {
  const p = parse(argv, { out: { type: 'string' }, force: { type: 'boolean' } });
  const id = positiveId(positional(p, 0, 'RUN (a run ID)'), 'run ID');
  const out = str(p, 'out');
  if (!out) throw new UsageError('--out FILE.json is required');
  const r = await call(env.context(str(p, 'db'), undefined, 'read'), 'run.exportFile', { id, out, ...(flag(p, 'force') ? { force: true } : {}) });
  if (flag(p, 'json')) return env.out.result(r);
  env.out.line(`wrote ${r.path}`);
}

export async function runDiagnose(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const p = parse(argv, { 'label-column': { type: 'string' }, costs: { type: 'string' } });
  const target = positional(p, 0, 'TRACE (a trace id or a file)');
  // A stored trace is only read; a file is imported first.
  const ctx = env.context(str(p, 'db'), signal, /^\d+$/.test(target) ? 'read' : 'write');
  const id = await resolveTrace(ctx, target, env, str(p, 'label-column'));
  const d = await call(ctx, 'trace.diagnose', { id, ...opt('costs', costChoice(p)) });
  noteCosts(env.out, d.costs);
  if (flag(p, 'json')) return env.out.result(d);
  printDiagnostics(d, env);
}

export function printDiagnostics(d: TraceDiagnostics, env: CliEnv): void {
  const o = env.out;
  const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);
  o.line(table(['exit', 'name', 'cost', 'accuracy', 'error', 'agreement'], d.perExit.map((e) => [e.exit + 1, e.name, e.cost, pct(e.accuracy), pct(e.errorRate), pct(e.agreement)])));
  if (d.dominance) {
    const s = d.dominance;
    o.line('');
    o.line(`strong dominance: all correct ${pct(s.allCorrect)}, good ${pct(s.good)}, bad ${pct(s.bad)}, all wrong ${pct(s.allWrong)}, other ${pct(s.other)}`);
  }
  o.line('');
  const shown = thin(d.pareto, 12);
  o.line(`cost-accuracy front (fixed exits and max-probability thresholds)${shown.length < d.pareto.length ? `: ${shown.length} of ${d.pareto.length} points, --json for all` : ''}:`);
  o.line(table(['point', 'cost', 'accuracy', 'agreement'], shown.map((p) => [p.label, p.cost, pct(p.accuracy), pct(p.agreement)])).replace(/^/gm, '  '));
  const ceiling = d.oracle.accuracy ?? d.oracle.agreement;
  if (ceiling) {
    o.line('');
    o.line(
      `per-sample oracle (each sample at its cheapest correct exit, in hindsight: the ceiling of any exit rule): ` +
        `${ceiling.reference === 'labels' ? 'accuracy' : 'agreement'} ${pct(ceiling.quality)} at mean cost ${ceiling.cost.toFixed(4)}`,
    );
  }
}

/** At most n points, evenly spread, always keeping the first and the last. */
function thin<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]!);
}
