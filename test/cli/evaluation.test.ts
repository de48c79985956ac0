/**
 * Evaluation modes from the command line: --holdout, --calibrate-on and
 * --in-sample, their defaults and refusals, the mode in `run --json` and
 * `runs show --json`, and `runs compare` refusing to rank runs scored on
 * different samples.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliOn } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'es-cli-evaluation-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'studio.sqlite');

const { cli, json } = cliOn(db);

/** A 3-exit prediction matrix with labels: deeper exits right more often. */
function matrix(name: string, n: number, offset: number, header = 'e1\te2\te3\tlabel'): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const y = (i + offset) % 4;
    const e = (k: number): number => ((i * 7 + offset + k) % 10 < 4 + 2 * k ? y : (y + 1) % 4);
    return `${e(0)}\t${e(1)}\t${e(2)}\t${y}`;
  });
  const path = join(dir, name);
  writeFileSync(path, `${header}\n${rows.join('\n')}\n`);
  return path;
}

interface Outcome {
  runId: number;
  policy: string;
  evaluation: { mode: string; calibrationSamples: number; evaluationSamples: number; calibrationTrace?: number };
  usesHindsight: boolean;
}
const imported = (file: string): number => json<{ traceId: number }>('import-trace', file).traceId;

const A = imported(matrix('a.tsv', 400, 0));
const B = imported(matrix('b.tsv', 300, 1));
const other = imported(matrix('c.tsv', 300, 2, 'x1\tx2\tx3\tlabel'));

test('a run holding a fitted policy is held out, every policy on the same part; online policies alone run in-sample', () => {
  const held = json<{ runs: Outcome[] }>('run', String(B), '--policy', 'best-fixed', '--policy', 'uee-ucb', '--seeds', '3');
  for (const r of held.runs) assert.deepEqual(r.evaluation, { mode: 'held-out', calibrationSamples: 150, evaluationSamples: 150 });
  const share = json<{ runs: Outcome[] }>('run', String(B), '--policy', 'best-fixed', '--holdout', '0.3', '--seeds', '3');
  assert.deepEqual(share.runs[0]!.evaluation, { mode: 'held-out', calibrationSamples: 210, evaluationSamples: 90 }, '--holdout is the evaluation part\'s share');
  const online = json<{ runs: Outcome[] }>('run', String(B), '--policy', 'uee-ucb', '--seeds', '3');
  assert.deepEqual(online.runs[0]!.evaluation, { mode: 'in-sample', calibrationSamples: 300, evaluationSamples: 300 });
  const shown = json<{ evaluation: Outcome['evaluation'] }>('runs', 'show', String(held.runs[1]!.runId));
  assert.deepEqual(shown.evaluation, held.runs[1]!.evaluation, 'runs show --json carries it');
});

test('--in-sample marks a fitted policy hindsight wherever its figures are printed', () => {
  const r = cli('run', String(B), '--policy', 'best-fixed', '--in-sample', '--seeds', '2');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /in-sample \(hindsight\)/);
  assert.match(r.stdout, /its figures are hindsight/);
  const id = /^\s*(\d+)\s+best-fixed/m.exec(r.stdout)![1]!;
  assert.match(cli('runs', 'show', id).stdout, /This policy fits on data: its figures are hindsight/);
  assert.match(cli('runs', 'list').stdout, /in-sample \(hindsight\)/);
});

test('--calibrate-on fits on another trace of the same exits and scores the whole of this one; other traces are refused', () => {
  const r = json<{ runs: Outcome[] }>('run', String(B), '--policy', 'best-fixed', '--policy', 'uee-ucb', '--calibrate-on', String(A), '--seeds', '2');
  for (const x of r.runs) assert.deepEqual(x.evaluation, { mode: 'cross-trace', calibrationSamples: 400, evaluationSamples: 300, calibrationTrace: A });
  const wrong = cli('run', String(B), '--policy', 'best-fixed', '--calibrate-on', String(other));
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, new RegExp(`calibration trace ${other} has exits x1, x2, x3; trace ${B} has e1, e2, e3: calibrate on a trace of the same model and exits \\(--calibrate-on\\)`));
  const self = cli('run', String(B), '--policy', 'best-fixed', '--calibrate-on', String(B));
  assert.equal(self.code, 2);
  assert.match(self.stderr, /is the trace being evaluated; .* an in-sample evaluation \(--calibrate-on\)/);
});

test('one evaluation at a time, and a holdout that is a share', () => {
  const both = cli('run', String(B), '--policy', 'best-fixed', '--holdout', '0.3', '--in-sample');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--holdout and --in-sample choose different evaluations; give one of them/);
  const big = cli('run', String(B), '--policy', 'best-fixed', '--holdout', '1.5');
  assert.equal(big.code, 2);
  assert.match(big.stderr, /--holdout is the share of the trace kept aside to score on, between 0 and 1/);
  assert.match(cli('run', '--help').stdout, /--holdout F\s+held-out: .*F is the share kept aside to score on/);
});

test('runs compare ranks nothing across runs scored on different samples', () => {
  const held = json<{ runs: Outcome[] }>('run', String(A), '--policy', 'best-fixed', '--policy', 'last', '--seeds', '2');
  const inSample = json<{ runs: Outcome[] }>('run', String(A), '--policy', 'last', '--seeds', '2');
  type Compared = { best: Record<string, number | null>; samplesComparable: boolean };
  const same = json<Compared>('runs', 'compare', ...held.runs.map((r) => String(r.runId)));
  assert.equal(same.samplesComparable, true);
  assert.notEqual(same.best.accuracy, null);
  const ids = [String(held.runs[0]!.runId), String(inSample.runs[0]!.runId)];
  const mixed = json<Compared>('runs', 'compare', ...ids);
  assert.equal(mixed.samplesComparable, false);
  assert.deepEqual(mixed.best, { accuracy: null, agreement: null, avgCost: null, cumRegret: null });
  const human = cli('runs', 'compare', ...ids);
  assert.match(human.stdout, /not ranked: these runs were scored on different samples/);
  assert.doesNotMatch(human.stdout, /\*/);
});
