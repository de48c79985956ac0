/**
 * exit-studio: the headless door into the studio. Every subcommand parses
 * its flags and calls the command contract (src/api); nothing here reaches
 * around it. Exit codes: 0 success, 1 a failure while running, 2 bad input
 * or usage. Human messages go to stderr; --json output to stdout only.
 *
 * Ctrl-C, SIGTERM and SIGHUP all cancel the running job cleanly (nothing
 * half-written stays, nothing is left 'running'); a second one quits at once.
 * Output whose reader went away (`exit-studio runs show 3 --json | head`)
 * ends the command quietly, like a cancel, instead of with a stack trace.
 */
import { ERROR_OUTCOME, isStudioError } from '../errors.js';
import { cliHint } from './hints.js';
import { makeEnv, type CliEnv } from './context.js';
import { makeOutput } from './output.js';
import { paramHelp } from './policy-params.js';
import { replayOnThisThread } from '../policies/seed-pool.js';
import * as inspect from './commands/inspect.js';
import * as infer from './commands/infer.js';
import * as traces from './commands/traces.js';
import * as demo from './commands/demo.js';
import * as policies from './commands/policies.js';
import * as deploy from './commands/deploy.js';
import * as serve from './commands/serve.js';
import * as rerun from './commands/rerun.js';
import * as catalog from './commands/catalog.js';

type Handler = (argv: string[], env: CliEnv, signal: AbortSignal) => Promise<void>;

/** Signals that stop a command: the terminal's Ctrl-C, a service manager's or `kill`'s SIGTERM, a closed terminal's SIGHUP. */
const STOP_SIGNALS: NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * usage: one line (or two) in the overview; help: what `COMMAND --help` adds below it;
 * keepsAnswering: the command's thread must stay free while it works (serve answers requests).
 * Every other command's thread only waits on its work, so a quick replay runs on it (replayOnThisThread).
 */
const table: Record<string, { run: Handler; usage: string; help?: () => string; keepsAnswering?: true }> = {
  inspect: { run: inspect.run, usage: inspect.usage },
  infer: { run: infer.run, usage: infer.usage },
  'import-trace': { run: traces.runImport, usage: traces.importUsage },
  traces: { run: traces.runTraces, usage: traces.tracesUsage },
  trace: { run: traces.runExport, usage: traces.exportUsage },
  policies: { run: catalog.run, usage: catalog.usage },
  run: { run: policies.runRun, usage: policies.runUsage, help: () => `${policies.evaluationHelp}\n\n${paramHelp()}` },
  runs: { run: policies.runRuns, usage: policies.runsUsage },
  export: { run: policies.runExport, usage: policies.exportUsage },
  diagnose: { run: policies.runDiagnose, usage: policies.diagnoseUsage },
  bundle: { run: deploy.runBundle, usage: deploy.bundleUsage },
  apply: { run: deploy.runApply, usage: deploy.applyUsage },
  demo: { run: demo.run, usage: demo.usage },
  serve: { run: serve.run, usage: serve.usage, keepsAnswering: true },
  rerun: { run: rerun.runRerun, usage: rerun.rerunUsage },
};

export function usage(): string {
  return [
    'exit-studio: tune and deploy early exits of multi-exit neural networks',
    '',
    'usage: exit-studio COMMAND [options]',
    '',
    ...Object.values(table).map((c) => '  ' + c.usage),
    '',
    'Options every command takes: --db PATH (or EXIT_STUDIO_DB) picks the database; --json prints machine-readable output.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const { appVersion } = await import('../version.js');
    process.stdout.write(appVersion + '\n');
    return 0;
  }
  const cmd = table[name];
  if (!cmd) {
    process.stderr.write(`exit-studio: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const json = rest.includes('--json');
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: exit-studio ${cmd.usage}\n${cmd.help ? `\n${cmd.help()}\n` : ''}`);
    return 0;
  }
  if (!cmd.keepsAnswering) replayOnThisThread();
  const env = makeEnv(makeOutput(json));
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 15));
    if (!outputGone) env.out.note('cancelling…');
    abort.abort();
  };
  let outputGone = false;
  // EPIPE (the reader closed the pipe), EIO (the terminal went away): nothing more can be shown, so the job stops like a cancel.
  const onOutputError = (): void => {
    outputGone = true;
    abort.abort();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', onOutputError);
  try {
    await cmd.run(rest, env, abort.signal);
    return 0;
  } catch (e) {
    if (outputGone) return 0;
    env.out.endProgress();
    if (isStudioError(e)) {
      process.stderr.write(`exit-studio ${name}: ${e.message}${cliHint(e)}\n`);
      if (e.name === 'UsageError') process.stderr.write(`usage: exit-studio ${cmd.usage}\n`);
      return ERROR_OUTCOME[e.kind].exitCode;
    }
    const err = e as Error;
    process.stderr.write(`exit-studio ${name}: unexpected failure: ${err.message}\n`);
    if (process.env.EXIT_STUDIO_DEBUG) process.stderr.write(`${err.stack}\n`);
    return ERROR_OUTCOME.internal.exitCode;
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    env.close();
  }
}
