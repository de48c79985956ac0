/** The real CLI (bin/exit-studio.js) as the CLI tests run it: against one database, with its output. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `cli(...args)` runs a command on `db`; `json(...args)` runs it with --json, requires exit 0 and parses stdout. */
export function cliOn(db: string, timeoutMs = 180_000): { cli: (...args: string[]) => CliResult; json: <T>(...args: string[]) => T } {
  const cli = (...args: string[]): CliResult => {
    const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'exit-studio.js'), ...args, '--db', db], { encoding: 'utf8', timeout: timeoutMs });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const json = <T>(...args: string[]): T => {
    const r = cli(...args, '--json');
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  return { cli, json };
}
