import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { openDataset } from '../../src/data/open.js';
import { drain, input, rejectsWith, tempDir, values } from './util.js';

test('JSONL: nested and flat arrays per input, a label key, two inputs, limit', async () => {
  const t = tempDir();
  try {
    const path = t.file('d.jsonl');
    const lines = [
      { img: [[1, 2], [3, 4]], meta: 7, y: 1 },
      { img: [5, 6, 7, 8], meta: 8, y: 0 },
      { img: [[9, 10], [11, 12]], meta: 9, y: 2, extra: 'ignored' },
    ];
    writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n\n');
    const inputs = [input('img', 'float', ['batch', 2, 2]), input('meta', 'int64', ['batch'])];
    const ds = await openDataset(path, inputs, { labelColumn: 'y' });
    assert.equal(ds.format, 'jsonl');
    assert.equal(ds.samples, 3);
    assert.deepEqual(Array.from(ds.labels!), [1, 0, 2]);
    const b = await drain(ds, 2);
    assert.deepEqual(b.map((x) => x.img!.dims), [[2, 2, 2], [1, 2, 2]]);
    assert.deepEqual(b.map((x) => x.meta!.dims), [[2], [1]]);
    assert.deepEqual(values(b, 'img'), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.deepEqual(values(b, 'meta'), [7, 8, 9]);
    assert.ok(b[0]!.meta!.data instanceof BigInt64Array);
    await ds.close();
    const limited = await openDataset(path, inputs, { limit: 1 });
    assert.equal(limited.samples, 1);
    assert.deepEqual(values(await drain(limited, 4), 'meta'), [7]);
    await limited.close();
    // A symbolic dim takes its size from the data.
    writeFileSync(path, '{"img": [[1, 2, 3], [4, 5, 6]]}\n{"img": [[1, 2, 3], [4, 5, 6]]}\n{"img": [[1, 2, 3], [4, 5, 6]]}\n');
    const sym = await openDataset(path, [input('img', 'float', ['batch', 'h', 3])]);
    assert.deepEqual((await drain(sym, 3))[0]!.img!.dims, [3, 2, 3]);
    await sym.close();
  } finally {
    t.cleanup();
  }
});

test('JSONL errors name the line and the key', async () => {
  const t = tempDir();
  try {
    const path = t.file('bad.jsonl');
    const x = [input('x', 'float', ['batch', 3])];
    writeFileSync(path, '{"x": [1, 2, 3]}\n{"x": [1, 2}\n');
    await rejectsWith(openDataset(path, x), 'bad.jsonl', 'line 2 is not valid JSON');
    writeFileSync(path, '{"x": [1, 2, 3]}\n[1, 2, 3]\n');
    await rejectsWith(openDataset(path, x), 'line 2 is not a JSON object');
    writeFileSync(path, '{"x": [1, 2, 3]}\n{"z": [1, 2, 3]}\n');
    await rejectsWith(openDataset(path, x), 'line 2: no key "x"', '"z"');
    writeFileSync(path, '{"x": [1, 2, 3]}\n{"x": [1, null, 3]}\n');
    await rejectsWith(openDataset(path, x), 'line 2, key "x"', '[1]: null');
    writeFileSync(path, '{"x": [[1, 2], [3]]}\n');
    await rejectsWith(openDataset(path, [input('x', 'float', ['b', 2, 2])]), 'line 1, key "x"', 'ragged');
    writeFileSync(path, '{"x": [1, 2, 3]}\n{"x": [1, 2, 3, 4]}\n');
    await rejectsWith(openDataset(path, [input('x', 'float', ['b', 'n'])]), 'line 2, key "x"', 'shape [4] differs from the first sample\'s [3]');
    await rejectsWith(openDataset(path, x), 'input "x" expects float [batch, 3]; found [4] on line 2, key "x"');
    writeFileSync(path, '{"x": [1, 2, 3.5]}\n');
    await rejectsWith(openDataset(path, [input('x', 'int32', ['b', 3])]), 'line 1, key "x"', 'whole numbers');
    writeFileSync(path, '{"x": [1, 2, 3], "y": 1.5}\n');
    await rejectsWith(openDataset(path, x, { labelColumn: 'y' }), 'line 1, key "y"', 'not a whole number');
    writeFileSync(path, '\n');
    await rejectsWith(openDataset(path, x), 'no samples');
  } finally {
    t.cleanup();
  }
});
