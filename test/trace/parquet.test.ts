import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer/src/node.js';
import type { ColumnSource, ParquetWriteOptions } from 'hyparquet-writer';
import { StudioError } from '../../src/errors.js';
import { importTrace } from '../../src/trace/import.js';
import { readPredictionMatrix } from '../../src/trace/import-matrix.js';
import { readParquetTrace } from '../../src/trace/import-parquet.js';

const dir = mkdtempSync(join(tmpdir(), 'exit-studio-parquet-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function writeParquet(name: string, columns: ColumnSource[], rowGroupSize = 128, extra: Partial<ParquetWriteOptions> = {}): string {
  const path = join(dir, name);
  parquetWriteFile({ filename: path, columnData: columns, rowGroupSize, ...extra });
  return path;
}

async function rejects(p: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StudioError, `expected a StudioError, got ${String(e)}`);
    assert.equal(e.kind, 'input');
    assert.ok(e.message.startsWith(`${file}: `), `message names the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** A deterministic 3-exit, 10-class table: classes per exit, labels with some unknown. */
function table(n: number, seed = 7): { pred: number[][]; labels: (number | null)[] } {
  const r = rng(seed);
  const pred = [0, 1, 2].map(() => Array.from({ length: n }, () => Math.floor(r() * 10)));
  const labels = Array.from({ length: n }, () => (r() < 0.05 ? null : Math.floor(r() * 10)));
  return { pred, labels };
}

test('parquet over several row groups imports exactly like the same TSV matrix', async () => {
  const n = 1000;
  const { pred, labels } = table(n);
  const pq = writeParquet('same.parquet', [
    { name: 'exit_a', data: Int32Array.from(pred[0]!), type: 'INT32' },
    // Ray/Spark argmax columns are int64: read as BigInt by hyparquet.
    { name: 'exit_b', data: pred[1]!.map((v) => BigInt(v)), type: 'INT64' },
    { name: 'exit_c', data: pred[2]!, type: 'INT32', nullable: true },
    { name: 'op_labels', data: labels, type: 'INT32', nullable: true },
  ], 97);
  const tsv = join(dir, 'same.tsv');
  const lines = ['exit_a\texit_b\texit_c\top_labels'];
  for (let i = 0; i < n; i++) lines.push(`${pred[0]![i]}\t${pred[1]![i]}\t${pred[2]![i]}\t${labels[i] ?? ''}`);
  writeFileSync(tsv, lines.join('\n') + '\n');

  const a = await readParquetTrace(pq);
  const b = await readPredictionMatrix(tsv);
  assert.equal(a.samples, n);
  assert.deepEqual(a.exits, b.exits);
  assert.equal(a.classes, b.classes);
  assert.deepEqual(a.pred, b.pred);
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.costs, b.costs);
  assert.equal(a.costSource, 'uniform');
  assert.equal(a.maxProb, undefined);
  assert.equal(a.entropy, undefined);
  assert.ok(a.labels!.includes(-1), 'null labels are unknown (-1)');

  // Through import-trace's dispatch, with costs; and with --label-column.
  const c = await importTrace(pq, { costs: [1, 2, 4] });
  assert.deepEqual(c.pred, b.pred);
  assert.deepEqual(Array.from(c.costs), [0.25, 0.5, 1]);
  assert.equal(c.costSource, 'user');
  const d = await readParquetTrace(pq, { labelColumn: 'op_labels', costs: [1, 3, 3] });
  assert.deepEqual(d.labels, b.labels);
  assert.deepEqual(Array.from(d.costs), [1 / 3, 1, 1]);
});

test('without a label column every integer column is an exit; an explicit label column is honoured', async () => {
  const { pred } = table(50, 3);
  const pq = writeParquet('nolabel.parquet', pred.map((p, k) => ({ name: `e${k + 1}`, data: Int32Array.from(p), type: 'INT32' as const })), 16);
  const t = await readParquetTrace(pq);
  assert.equal(t.exits.length, 3);
  assert.equal(t.labels, undefined);
  const u = await readParquetTrace(pq, { labelColumn: 'e3' });
  assert.deepEqual(u.exits.map((e) => e.name), ['e1', 'e2']);
  assert.deepEqual(Array.from(u.labels!), pred[2]);
});

test('gzip-compressed files are read; a codec the reader lacks is named', async () => {
  const { pred } = table(400, 9);
  const columns = pred.map((p, k) => ({ name: `e${k + 1}`, data: Int32Array.from(p), type: 'INT32' as const }));
  const plain = await readParquetTrace(writeParquet('snappy.parquet', columns, 100));
  const gz = writeParquet('gzip.parquet', columns, 100, { codec: 'GZIP', compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)) } });
  assert.deepEqual((await readParquetTrace(gz)).pred, plain.pred);
  const lz4 = writeParquet('lz4.parquet', columns, 100, { codec: 'LZ4', compressors: { LZ4: (b: Uint8Array) => b } });
  await rejects(readParquetTrace(lz4), lz4, /column "e1" is LZ4-compressed, which this reader cannot decompress/);
});

test('maxprob, entropy and margin columns for every exit become the trace confidence', async () => {
  const n = 300;
  const r = rng(11);
  const cols: ColumnSource[] = [];
  const expect: Record<string, number[][]> = { maxprob: [], entropy: [], margin: [] };
  for (let k = 1; k <= 2; k++) cols.push({ name: `exit_${k}`, data: Int32Array.from({ length: n }, () => Math.floor(r() * 4)), type: 'INT32' });
  for (let k = 1; k <= 2; k++) {
    for (const kind of ['maxprob', 'entropy', 'margin'] as const) {
      const v = Array.from({ length: n }, () => r());
      if (kind === 'maxprob') v[0] = 1; // the ends of [0, 1] are valid
      if (kind === 'margin') v[1] = 0;
      expect[kind]!.push(v);
      cols.push({ name: `exit_${k}_${kind}`, data: kind === 'entropy' ? Float32Array.from(v) : Float64Array.from(v), type: kind === 'entropy' ? 'FLOAT' : 'DOUBLE' });
    }
  }
  cols.push({ name: 'y', data: Int32Array.from({ length: n }, (_, i) => i % 4), type: 'INT32' });
  const pq = writeParquet('conf.parquet', cols, 64);
  const t = await readParquetTrace(pq);
  assert.deepEqual(t.exits.map((e) => e.name), ['exit_1', 'exit_2']);
  assert.equal(t.labels!.length, n);
  const field = { maxprob: t.maxProb!, entropy: t.entropy!, margin: t.margin! };
  for (const kind of ['maxprob', 'entropy', 'margin'] as const) {
    const got = field[kind];
    assert.equal(got.length, n * 2);
    for (let i = 0; i < n; i++) for (let k = 0; k < 2; k++) assert.equal(got[i * 2 + k], Math.fround(expect[kind]![k]![i]!));
  }
});

test('clear errors name the file and what is wrong', async () => {
  const ints = (name: string, n = 10): ColumnSource => ({ name, data: Int32Array.from({ length: n }, (_, i) => i % 3), type: 'INT32' });

  const text = join(dir, 'text.parquet');
  writeFileSync(text, 'exit_1\texit_2\n0\t1\n');
  await rejects(readParquetTrace(text), text, /is not a Parquet file/);
  await rejects(importTrace(text), text, /is not a Parquet file/);

  const good = writeParquet('trunc-src.parquet', [ints('a'), ints('b')]);
  const truncated = join(dir, 'trunc.parquet');
  const bytes = readFileSync(good);
  writeFileSync(truncated, Buffer.concat([bytes.subarray(0, 4), bytes.subarray(bytes.length - 12)]));
  await rejects(readParquetTrace(truncated), truncated, /Parquet/);

  const one = writeParquet('one.parquet', [ints('exit_1'), ints('label')]);
  await rejects(readParquetTrace(one), one, /at least 2 exit columns.*found 1 \("exit_1"\)/);

  const float = writeParquet('float.parquet', [ints('exit_1'), { name: 'exit_2', data: new Float64Array(10), type: 'DOUBLE' }]);
  await rejects(readParquetTrace(float), float, /exit column "exit_2" has type DOUBLE; predicted classes must be an integer column/);

  const str = writeParquet('str.parquet', [ints('exit_1'), { name: 'exit_2', data: Array.from({ length: 10 }, () => 'cat'), type: 'STRING' }]);
  await rejects(readParquetTrace(str), str, /exit column "exit_2" has type BYTE_ARRAY \((UTF8|STRING)\)/);

  const nulls = Array.from({ length: 300 }, (_, i) => (i === 250 ? null : 1));
  const withNull = writeParquet('null.parquet', [ints('exit_1', 300), { name: 'exit_2', data: nulls, type: 'INT32', nullable: true }], 100);
  await rejects(readParquetTrace(withNull), withNull, /row 250 \(counting from 0\), column "exit_2": null/);

  const negative = writeParquet('neg.parquet', [ints('exit_1'), { name: 'exit_2', data: Int32Array.from({ length: 10 }, (_, i) => (i === 4 ? -2 : 0)), type: 'INT32' }]);
  await rejects(readParquetTrace(negative), negative, /row 4 .*"exit_2": -2 is not a class number/);

  const ok = writeParquet('ok.parquet', [ints('exit_1'), ints('exit_2'), ints('truth')]);
  await rejects(readParquetTrace(ok, { labelColumn: 'gold' }), ok, /no label column "gold"; the columns are "exit_1", "exit_2", "truth"/);
  await rejects(importTrace(ok, { labelColumn: 'gold' }), ok, /no label column "gold"/);
  await rejects(readParquetTrace(ok, { costs: [1, 2] }), ok, /has 3 exit columns, but 2 costs/);

  const conf = (maxprob: number[]): ColumnSource[] => [
    ints('exit_1', 4), ints('exit_2', 4),
    ...['exit_1', 'exit_2'].flatMap((e) => [
      { name: `${e}_maxprob`, data: Float32Array.from(e === 'exit_2' ? maxprob : [0.5, 0.5, 0.5, 0.5]), type: 'FLOAT' as const },
      { name: `${e}_entropy`, data: Float32Array.from([0.5, 0.5, 0.5, 0.5]), type: 'FLOAT' as const },
      { name: `${e}_margin`, data: Float32Array.from([0.1, 0.1, 0.1, 0.1]), type: 'FLOAT' as const },
    ]),
  ];
  const over = writeParquet('over.parquet', conf([0.5, 1.25, 0.5, 0.5]));
  await rejects(readParquetTrace(over), over, /row 1 .*column "exit_2_maxprob": 1\.25 is outside \[0, 1\]/);
  const nan = writeParquet('nan.parquet', conf([0.5, 0.5, NaN, 0.5]));
  await rejects(readParquetTrace(nan), nan, /row 2 .*column "exit_2_maxprob": NaN is outside \[0, 1\]/);

  const onlyMax = writeParquet('onlymax.parquet', [ints('exit_1'), ints('exit_2'), { name: 'exit_1_maxprob', data: new Float32Array(10), type: 'FLOAT' }, { name: 'exit_2_maxprob', data: new Float32Array(10), type: 'FLOAT' }]);
  await rejects(readParquetTrace(onlyMax), onlyMax, /lacks "exit_1_entropy", "exit_1_margin", "exit_2_entropy", "exit_2_margin"/);

  const orphan = writeParquet('orphan.parquet', [ints('exit_1'), ints('exit_2'), { name: 'exit_9_maxprob', data: new Float32Array(10), type: 'FLOAT' }]);
  await rejects(readParquetTrace(orphan), orphan, /column "exit_9_maxprob" names no exit column "exit_9"/);
});

test('a 200,000-row file imports quickly', async () => {
  const n = 200_000;
  const K = 4;
  const r = rng(5);
  const cols: ColumnSource[] = [];
  for (let k = 0; k < K; k++) cols.push({ name: `exit_${k + 1}`, data: Int32Array.from({ length: n }, () => Math.floor(r() * 100)), type: 'INT32' });
  cols.push({ name: 'label', data: Int32Array.from({ length: n }, () => Math.floor(r() * 100)), type: 'INT32' });
  const pq = writeParquet('big.parquet', cols, 50_000);
  const t0 = performance.now();
  const t = await readParquetTrace(pq);
  const ms = performance.now() - t0;
  assert.equal(t.samples, n);
  assert.equal(t.pred.length, n * K);
  for (const i of [0, 12_345, n - 1]) {
    for (let k = 0; k < K; k++) assert.equal(t.pred[i * K + k], (cols[k]!.data as Int32Array)[i]);
    assert.equal(t.labels![i], (cols[K]!.data as Int32Array)[i]);
  }
  assert.ok(ms < 8000, `import took ${ms.toFixed(0)} ms`);
});
