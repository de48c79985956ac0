import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { openDataset } from '../../src/data/open.js';
import { readNpz, writeNpz } from '../../src/data/npz.js';
import { drain, fixture, input, rejectsWith, tempDir, values } from './util.js';

test('npz written by numpy (savez with zip64 headers, savez_compressed) feeds inputs by name', async () => {
  const expected = Array.from({ length: 24 }, (_, i) => i / 4);
  const ds = await openDataset(fixture('savez.npz'), [input('x', 'float', ['batch', 2, 3])], { labelColumn: 'labels' });
  assert.equal(ds.format, 'npz');
  assert.equal(ds.samples, 4);
  assert.deepEqual(Array.from(ds.labels!), [0, 1, 2, 1]);
  assert.deepEqual(values(await drain(ds, 3), 'x'), expected);
  const two = await openDataset(fixture('savez_compressed.npz'), [input('y', 'int64', ['b']), input('x', 'double', ['b', 6])]);
  const b = await drain(two, 3);
  assert.deepEqual(b.map((x) => x.y!.dims), [[3], [1]]);
  assert.ok(b[0]!.y!.data instanceof BigInt64Array);
  assert.deepEqual(values(b, 'y'), [0, 1, 2, 3]);
  assert.deepEqual(values(b, 'x'), expected);
  assert.deepEqual(b[0]!.x!.dims, [3, 6]);
  const all = await readNpz(fixture('savez_compressed.npz'));
  assert.deepEqual(Object.keys(all).sort(), ['x', 'y']);
});

test('writeNpz round trip, stored and deflated; lone array of any name; limit', async () => {
  const t = tempDir();
  try {
    for (const compress of [false, true]) {
      const path = t.file(`d${compress}.npz`);
      writeNpz(path, {
        a: { dtype: 'uint8', shape: [5, 2], data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], options: { fortranOrder: true } },
        b: { dtype: 'float', shape: [5], data: [0.5, 1.5, 2.5, 3.5, 4.5], options: { bigEndian: true } },
      }, compress);
      const ds = await openDataset(path, [input('b', 'float', ['n']), input('a', 'float', ['n', 2])], { limit: 3 });
      const batches = await drain(ds, 2);
      assert.deepEqual(values(batches, 'a'), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(values(batches, 'b'), [0.5, 1.5, 2.5]);
      assert.deepEqual(batches.map((x) => x.a!.dims), [[2, 2], [1, 2]]);
    }
    const lone = t.file('lone.npz');
    writeNpz(lone, { arr_0: { dtype: 'int16', shape: [2, 2], data: [-1, 2, -3, 4] } });
    const ds = await openDataset(lone, [input('pixels', 'float', ['b', 2])]);
    assert.deepEqual(values(await drain(ds, 8), 'pixels'), [-1, 2, -3, 4]);
  } finally {
    t.cleanup();
  }
});

test('npz batches own their buffers (they move to the inference worker without the whole member)', async () => {
  const t = tempDir();
  try {
    const path = t.file('big.npz');
    const n = 1000;
    writeNpz(path, { x: { dtype: 'float', shape: [n, 8], data: Float32Array.from({ length: n * 8 }, (_, i) => i) } }, true);
    // As stored (float32) and cast (to float64).
    for (const type of ['float', 'double'] as const) {
      const batches = await drain(await openDataset(path, [input('x', type, ['b', 8])]), 64);
      assert.equal(batches.length, Math.ceil(n / 64));
      for (const b of batches) {
        const d = b.x!.data;
        assert.equal(d.byteOffset, 0);
        assert.equal(d.buffer.byteLength, d.byteLength, `${type}: a ${d.byteLength}-byte batch holds a ${d.buffer.byteLength}-byte buffer`);
      }
      assert.deepEqual(values(batches, 'x').slice(-3), [n * 8 - 3, n * 8 - 2, n * 8 - 1]);
    }
  } finally {
    t.cleanup();
  }
});

test('npz errors name missing inputs and the arrays that exist', async () => {
  const t = tempDir();
  try {
    const path = t.file('d.npz');
    writeNpz(path, {
      a: { dtype: 'float', shape: [3, 2], data: [0, 1, 2, 3, 4, 5] },
      c: { dtype: 'float', shape: [4], data: [0, 1, 2, 3] },
    });
    await rejectsWith(openDataset(path, [input('a', 'float', ['n', 2]), input('b', 'float', ['n'])]), 'model input "b" not found', '"a", "c"');
    await rejectsWith(openDataset(path, [input('a', 'float', ['n', 2]), input('c', 'float', ['n'])]), 'array "c" has 4 samples but "a" has 3');
    await rejectsWith(openDataset(path, [input('a', 'float', ['n', 3]), input('c', 'float', ['n'])]), 'd.npz:a.npy', 'input "a" expects float [n, 3]; found float [3, 2]');
    await rejectsWith(openDataset(path, [input('a', 'float', ['n', 2])], { labelColumn: 'y' }), 'no label array "y"');
    writeFileSync(path, 'PK not really a zip');
    await rejectsWith(openDataset(path, [input('a', 'float', ['n', 2])]), 'not a readable .npz');
  } finally {
    t.cleanup();
  }
});

test('readNpz and npzArrayNames on a missing file throw a StudioError', async () => {
  const { npzArrayNames } = await import('../../src/data/npz.js');
  await rejectsWith(async () => npzArrayNames('/nonexistent/x.npz'), 'x.npz: no such file');
  await rejectsWith(readNpz('/nonexistent/x.npz'), 'no such file');
});
