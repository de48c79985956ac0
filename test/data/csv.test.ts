import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { openDataset } from '../../src/data/open.js';
import { drain, input, rejectsWith, tempDir, values } from './util.js';

test('CSV with a header and a label column; TSV without a header; reshape to [batch, 1, 2]', async () => {
  const t = tempDir();
  try {
    const csv = t.file('d.csv');
    writeFileSync(csv, 'f1,label,f2\r\n1.5,0,-2\r\n"3",2,4e-1\r\n\r\n5,1,.5\r\n');
    const ds = await openDataset(csv, [input('x', 'float', ['batch', 2])], { labelColumn: 'label' });
    assert.equal(ds.format, 'csv');
    assert.equal(ds.samples, 3);
    assert.deepEqual(Array.from(ds.labels!), [0, 2, 1]);
    const b = await drain(ds, 2);
    assert.deepEqual(b.map((x) => x.x!.dims), [[2, 2], [1, 2]]);
    assert.deepEqual(values(b, 'x'), [1.5, -2, 3, 0.4000000059604645, 5, 0.5]);
    // Going back re-reads from the start.
    assert.deepEqual(values(await drain(ds, 1), 'x'), values(b, 'x'));
    await ds.close();

    const tsv = t.file('d.tsv');
    writeFileSync(tsv, '1\t2\n3\t4\n5\t6\n');
    const ts = await openDataset(tsv, [input('x', 'int32', ['batch', 1, 2])], { limit: 2 });
    assert.equal(ts.format, 'tsv');
    assert.equal(ts.labels, undefined);
    const tb = await drain(ts, 5);
    assert.deepEqual(tb[0]!.x!.dims, [2, 1, 2]);
    assert.ok(tb[0]!.x!.data instanceof Int32Array);
    assert.deepEqual(values(tb, 'x'), [1, 2, 3, 4]);
    await ts.close();
  } finally {
    t.cleanup();
  }
});

test('CSV errors name the file, line and column', async () => {
  const t = tempDir();
  try {
    const csv = t.file('bad.csv');
    const x = [input('x', 'float', ['batch', 2])];
    writeFileSync(csv, 'a,b\n1,2\n3\n');
    await rejectsWith(openDataset(csv, x), 'bad.csv', 'line 3 has 1 cells but line 1 has 2');
    writeFileSync(csv, 'a,b\n1,2\n3,abc\n');
    await rejectsWith(openDataset(csv, x), 'line 3, column "b"', '"abc" is not a number');
    writeFileSync(csv, '1,2\nNaN,2\n');
    await rejectsWith(openDataset(csv, x), 'line 2, column 1', 'NaN');
    writeFileSync(csv, '1,2\n1,-inf\n');
    await rejectsWith(openDataset(csv, x), 'line 2, column 2', 'not a finite number');
    writeFileSync(csv, '1,2\n1,\n');
    await rejectsWith(openDataset(csv, x), 'line 2, column 2', 'empty cell');
    writeFileSync(csv, 'a,y\n1,2\n1,0.5\n');
    await rejectsWith(openDataset(csv, [input('x', 'float', ['batch', 1])], { labelColumn: 'y' }), 'line 3, column "y"', 'not a whole number');
    await rejectsWith(openDataset(csv, x, { labelColumn: 'label' }), 'no label column "label"', '"a", "y"');
    writeFileSync(csv, 'a,b,label\n1,2,3\n');
    await rejectsWith(openDataset(csv, x), '3 feature columns', 'name it as the label column');
    writeFileSync(csv, '1,2,3\n');
    await rejectsWith(openDataset(csv, x), 'input "x" expects float [batch, 2]; found 1 rows × 3 feature columns');
    await rejectsWith(openDataset(csv, [input('x', 'int64', ['b', 3]), input('y', 'float', ['b'])]), 'one input', '"x", "y"');
    writeFileSync(csv, '1.5,2\n');
    await rejectsWith(openDataset(csv, [input('x', 'int8', ['b', 2])]), 'line 1, column 1', 'not a whole number', 'int8');
    writeFileSync(csv, '300,2\n');
    const ds = await openDataset(csv, [input('x', 'int8', ['b', 2])]);
    await rejectsWith(drain(ds, 1), 'line 1, column 1', '300 does not fit');
    await ds.close();
    writeFileSync(csv, '\n\n');
    await rejectsWith(openDataset(csv, x), 'holds no rows');
  } finally {
    t.cleanup();
  }
});

test('property: random numeric matrices written as CSV read back as the same numbers', async () => {
  const t = tempDir();
  try {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }).chain((cols) =>
          fc.tuple(
            fc.constant(cols),
            fc.array(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: cols, maxLength: cols }), { minLength: 1, maxLength: 12 }),
            fc.boolean(), fc.constantFrom(',', '\t'),
          )),
        async ([cols, rows, header, sep]) => {
          const path = t.file(`p${run++}.${sep === ',' ? 'csv' : 'tsv'}`);
          const head = header ? Array.from({ length: cols }, (_, i) => `col${i}`).join(sep) + '\n' : '';
          // String(-0) is "0": compare against what was written.
          writeFileSync(path, head + rows.map((r) => r.map((v) => String(v)).join(sep)).join('\n'));
          const ds = await openDataset(path, [input('x', 'double', ['batch', cols])]);
          assert.equal(ds.samples, rows.length);
          assert.deepEqual(values(await drain(ds, 5), 'x'), rows.flat().map((v) => Number(String(v))));
          await ds.close();
        },
      ),
      { numRuns: 60 },
    );
  } finally {
    t.cleanup();
  }
});
