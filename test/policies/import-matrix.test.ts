import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPredictionMatrix } from '../../src/trace/import-matrix.js';
import { StudioError, type ErrorKind } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'es-matrix-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function rejects(p: string, pattern: RegExp, opts = {}, kind: ErrorKind = 'input'): Promise<void> {
  await assert.rejects(readPredictionMatrix(p, opts), (e: unknown) => {
    assert.ok(e instanceof StudioError, 'a StudioError');
    assert.equal(e.kind, kind);
    assert.ok(e.message.includes(p), `names the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('reads a CSV with an auto-detected label column, uniform costs by default', async () => {
  const p = file('a.csv', 'e1,e2,e3,label\r\n0,1,2,2\r\n3,3,3,1\r\n\r\n');
  const t = await readPredictionMatrix(p);
  assert.equal(t.samples, 2);
  assert.deepEqual(t.exits.map((e) => e.name), ['e1', 'e2', 'e3']);
  assert.deepEqual(Array.from(t.pred), [0, 1, 2, 3, 3, 3]);
  assert.deepEqual(Array.from(t.labels!), [2, 1]);
  assert.equal(t.classes, 4);
  assert.deepEqual(Array.from(t.costs), [1 / 3, 2 / 3, 1]);
  assert.equal(t.costSource, 'uniform');
});

test('label column by name anywhere; user costs normalized; no label column at all', async () => {
  const p = file('b.tsv', 'truth\ta\tb\n1\t0\t1\n0\t0\t0\n');
  const t = await readPredictionMatrix(p, { labelColumn: 'truth', costs: [2, 4] });
  assert.deepEqual(Array.from(t.labels!), [1, 0]);
  assert.deepEqual(Array.from(t.pred), [0, 1, 0, 0]);
  assert.deepEqual(Array.from(t.costs), [0.5, 1]);
  assert.equal(t.costSource, 'user');
  const u = await readPredictionMatrix(file('c.tsv', 'a\tb\n1\t0\n'));
  assert.equal(u.labels, undefined);
});

test('errors name the file, the line and the column', async () => {
  await rejects(file('ragged.tsv', 'a\tb\tlabel\n0\t1\t1\n0\t1\n'), /line 3: 2 cells, but the header has 3 columns/);
  await rejects(file('float.tsv', 'a\tb\n0\t1\n0\t0.7\n'), /line 3, column 2 \("b"\): "0\.7" is not a class number/);
  await rejects(file('neg.csv', 'a,b\n-1,1\n'), /line 2, column 1 \("a"\)/);
  await rejects(file('one.tsv', 'a\tlabel\n0\t1\n'), /at least 2 exit columns/);
  await rejects(file('nolabel.tsv', 'a\tb\n0\t1\n'), /no label column "gold"; the columns are "a", "b"/, { labelColumn: 'gold' });
  await rejects(file('badlabel.tsv', 'a\tb\ty\n0\t1\tx\n'), /line 2, column 3 \("y"\): "x" is not a label/);
  await rejects(file('empty.tsv', ''), /is empty/);
  await rejects(file('costs.tsv', 'a\tb\n0\t1\n'), /2 exit columns, but 3 costs/, { costs: [1, 2, 3] });
  await rejects(join(dir, 'missing.tsv'), /missing.tsv: no such file/, {}, 'not-found');
});
