/**
 * Errors by kind: the exit code and HTTP status each kind gets, the hints the
 * CLI adds, and engine messages that name no front end's controls.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { MAX_SEED_REPLAYS, policyRunInput } from '../../src/api/schemas.js';
import { ERROR_KINDS, ERROR_OUTCOME, errorKind, StudioError } from '../../src/errors.js';
import { cliHint, flagOf } from '../../src/cli/hints.js';
import { projectRoot } from '../../src/paths.js';
import { openStore } from '../../src/store/store.js';
import { syntheticTrace } from '../helpers/trace.js';
import { cliOn } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'exit-studio-errors-'));
const db = join(dir, 'studio.sqlite');
after(() => rmSync(dir, { recursive: true, force: true }));

const { cli } = cliOn(db);

test('each kind has its exit code and HTTP status: the request\'s fault is 2 and 4xx, the rest 1', () => {
  assert.deepEqual(
    ERROR_KINDS.map((k) => [k, ERROR_OUTCOME[k].exitCode, ERROR_OUTCOME[k].httpStatus]),
    [['input', 2, 400], ['not-found', 2, 404], ['conflict', 2, 409], ['cancelled', 1, 499], ['internal', 1, 500]],
  );
  assert.equal(errorKind('runtime'), 'internal', 'a kind nobody knows is the studio\'s fault, never the user\'s');
  assert.equal(errorKind('not-found'), 'not-found');
});

test('the CLI names the flag an error is about, where to list ids, and how to replace an output', () => {
  assert.equal(flagOf('calibrateOn'), '--calibrate-on');
  assert.equal(flagOf('labelColumn'), '--label-column');
  assert.equal(flagOf('allowNonFinite'), '--allow-nan');
  assert.equal(flagOf('resumeFrom'), null);
  assert.equal(cliHint(new StudioError('x', { kind: 'input', field: 'layout' })), ' (--layout)');
  assert.equal(cliHint(new StudioError('x', { kind: 'not-found', record: 'run' })), " (see 'exit-studio runs list')");
  assert.equal(cliHint(new StudioError('x', { kind: 'conflict', code: 'exists', field: 'force' })), '; pass --force to replace it');
  assert.equal(cliHint(new StudioError('x', { kind: 'input', field: 'resumeFrom' })), '');
  assert.equal(cliHint(new StudioError('x', { kind: 'input', code: 'needs-probs' })), "; record one with 'exit-studio infer MODEL DATA --probs'");
  assert.equal(cliHint(new StudioError('x', { kind: 'input', code: 'needs-scores' })), "; record one with 'exit-studio infer MODEL DATA'");
  assert.match(cliHint(new StudioError('x', { kind: 'input', code: 'needs-labels' })), /--labels FILE/);
});

test('through the real CLI: not found and conflict exit 2 with the CLI\'s hints; bad input names the flag', () => {
  const missing = cli('traces', 'show', '999999');
  assert.equal(missing.code, 2, missing.stderr);
  assert.equal(missing.stderr.trim(), "exit-studio traces: no trace with id 999999 (see 'exit-studio traces list')");
  const runs = cli('runs', 'show', '999999');
  assert.equal(runs.code, 2, runs.stderr);
  assert.match(runs.stderr, /no run with id 999999 \(see 'exit-studio runs list'\)/);

  const store = openStore(db);
  const id = store.traces.save(syntheticTrace(20, 3, 4), { name: 'errors', source: 'import' });
  store.close();
  const out = join(dir, 'taken.tsv');
  writeFileSync(out, 'an earlier file');
  const taken = cli('trace', 'export', String(id), '--out', out);
  assert.equal(taken.code, 2, taken.stderr);
  assert.equal(taken.stderr.trim(), `exit-studio trace: ${out}: already exists; pass --force to replace it`);
  assert.equal(readFileSync(out, 'utf8'), 'an earlier file');

  const scores = join(dir, 'scores.npy');
  writeFileSync(scores, 'x');
  const column = cli('import-trace', scores, '--label-column', 'y');
  assert.equal(column.code, 2, column.stderr);
  assert.match(column.stderr, /a label column applies to prediction matrices; give the labels of a \.npy as a labels file \(--label-column\)$/m);
});

test('a run of more seed replays than the cap is refused up front, saying what to do, and stores nothing', () => {
  const store = openStore(db);
  const id = store.traces.save(syntheticTrace(20, 3, 4), { name: 'capped', source: 'import' });
  const runsBefore = store.db.prepare('SELECT COUNT(*) FROM runs').pluck().get();
  store.close();
  assert.equal(policyRunInput.safeParse({ traceId: id, policies: ['uee-ucb'], seeds: MAX_SEED_REPLAYS }).success, true, 'the cap itself is allowed');
  const capped = cli('run', String(id), '--policy', 'uee-ucb', '--policy', 'dee', '--seeds', String(MAX_SEED_REPLAYS / 2 + 1));
  assert.equal(capped.code, 2, capped.stderr);
  assert.match(capped.stderr, new RegExp(`${MAX_SEED_REPLAYS / 2 + 1} seeds × 2 policies = ${MAX_SEED_REPLAYS + 2} replays; a run takes at most ${MAX_SEED_REPLAYS} \\(use fewer seeds, or run the policies separately\\)`));
  const after = openStore(db);
  assert.equal(after.db.prepare('SELECT COUNT(*) FROM runs').pluck().get(), runsBefore);
  after.close();
});

test('engine messages name no CLI flag: the CLI adds them', () => {
  const src = join(projectRoot(), 'src');
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (p !== join(src, 'cli')) walk(p);
      } else if (e.name.endsWith('.ts')) files.push(p);
    }
  };
  walk(src);
  const offenders: string[] = [];
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*|\/\*\*)/.test(line)) return;
      // A flag inside a string literal: ' --word', '(--word', '`--word' and the like.
      for (const m of line.matchAll(/(['"`])((?:(?!\1).)*)\1/g)) {
        if (/(^|[\s(`])--[a-z][a-z-]+/.test(m[2]!)) offenders.push(`${relative(projectRoot(), f)}:${i + 1}: ${m[0]}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});
