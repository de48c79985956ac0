import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { openDataset } from '../../src/data/open.js';
import { decodeNpy, encodeNpy, readNpyArray, readNpyHeader, writeNpy } from '../../src/data/npy.js';
import { NUMERIC_TYPES, floatToHalf, halfToFloat, type NumericType } from '../../src/data/elements.js';
import { isStudioError } from '../../src/errors.js';
import { drain, fixture, input, rejectsWith, tempDir, values } from './util.js';

/** Values every dtype can hold exactly. */
function sampleValues(dtype: NumericType, n: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    if (dtype === 'bool') return i % 3 === 0 ? 1 : 0;
    if (dtype.startsWith('uint')) return (i * 7) % 200;
    if (dtype.startsWith('int')) return ((i * 7) % 200) - 100;
    return (i - n / 2) / 4;
  });
}

test('every dtype round-trips through writeNpy and batches, C and Fortran order, little- and big-endian', async () => {
  const t = tempDir();
  try {
    const shape = [5, 2, 3];
    for (const dtype of NUMERIC_TYPES) {
      const data = sampleValues(dtype, 30);
      for (const fortranOrder of [false, true]) {
        for (const bigEndian of [false, true]) {
          const path = t.file(`${dtype}-${fortranOrder}-${bigEndian}.npy`);
          const typed = dtype === 'float16' ? data.map(floatToHalf) : data;
          writeNpy(path, dtype, shape, typed, { fortranOrder, bigEndian });
          const h = await readNpyHeader(path);
          assert.equal(h.dtype, dtype);
          assert.equal(h.fortranOrder, fortranOrder);
          assert.deepEqual(h.shape, shape);
          // Same element type in: values come back bit for bit.
          const same = await openDataset(path, [input('x', dtype, ['batch', 2, 3])]);
          const batches = await drain(same, 2);
          assert.deepEqual(batches.map((b) => b.x!.dims), [[2, 2, 3], [2, 2, 3], [1, 2, 3]], `${dtype}`);
          assert.deepEqual(values(batches, 'x'), typed, `${dtype} fortran=${fortranOrder} bigEndian=${bigEndian}`);
          await same.close();
          // Cast to float: the numbers themselves.
          const asFloat = await openDataset(path, [input('x', 'float', ['N', 6])]);
          const fb = await drain(asFloat, 4);
          assert.ok(fb[0]!.x!.data instanceof Float32Array);
          assert.deepEqual(fb[0]!.x!.dims, [4, 6]);
          assert.deepEqual(values(fb, 'x'), data, `${dtype} as float`);
          await asFloat.close();
          const whole = await readNpyArray(path, 'double');
          assert.deepEqual(Array.from(whole.data as Float64Array), data);
        }
      }
    }
  } finally {
    t.cleanup();
  }
});

test('files written by numpy read back: versions 1-3, Fortran, big-endian, float16, bool', async () => {
  const c = await readNpyArray(fixture('c_f4.npy'));
  assert.equal(c.dtype, 'float');
  assert.deepEqual(c.shape, [4, 2, 3]);
  const expected = Array.from({ length: 24 }, (_, i) => i / 4);
  assert.deepEqual(Array.from(c.data as Float32Array), expected);
  const f = await readNpyArray(fixture('fortran_f8.npy'));
  assert.equal((await readNpyHeader(fixture('fortran_f8.npy'))).fortranOrder, true);
  assert.deepEqual(Array.from(f.data as Float64Array), expected);
  const ds = await openDataset(fixture('fortran_f8.npy'), [input('x', 'float', [null, 2, 3])]);
  assert.deepEqual(values(await drain(ds, 3), 'x'), expected);
  await ds.close();
  const big = await readNpyArray(fixture('big_i4.npy'));
  assert.equal((await readNpyHeader(fixture('big_i4.npy'))).littleEndian, false);
  assert.deepEqual(Array.from(big.data as Int32Array), Array.from({ length: 12 }, (_, i) => i - 5));
  const half = await readNpyArray(fixture('f2.npy'), 'float');
  assert.deepEqual(Array.from(half.data as Float32Array).map((v) => Number(v.toPrecision(3))), [0.5, -2, 65500, 1.19e-7]);
  const bool = await readNpyArray(fixture('bool.npy'));
  assert.equal(bool.dtype, 'bool');
  assert.deepEqual(Array.from(bool.data as Uint8Array), [1, 0, 1, 0, 0, 1]);
  const v2 = await readNpyArray(fixture('v2_u1.npy'));
  assert.equal((await readNpyHeader(fixture('v2_u1.npy'))).version, 2);
  assert.deepEqual(Array.from(v2.data as Uint8Array), [0, 1, 2, 3, 4, 5]);
  const v3 = await readNpyArray(fixture('v3_i8.npy'));
  assert.equal((await readNpyHeader(fixture('v3_i8.npy'))).version, 3);
  assert.deepEqual(Array.from(v3.data as BigInt64Array), [1n, -2n, 3n, 2n ** 40n]);
});

test('writeNpy writes the bytes numpy writes', () => {
  const ours = encodeNpy('float', [4, 2, 3], Float32Array.from({ length: 24 }, (_, i) => i / 4));
  assert.deepEqual(Buffer.from(ours), readFileSync(fixture('c_f4.npy')));
  const big = encodeNpy('int32', [4, 3], Int32Array.from({ length: 12 }, (_, i) => i - 5), { bigEndian: true });
  assert.deepEqual(Buffer.from(big), readFileSync(fixture('big_i4.npy')));
  for (const version of [2, 3] as const) {
    const bytes = encodeNpy('uint8', [2, 3], [0, 1, 2, 3, 4, 5], { version });
    const a = decodeNpy(bytes, 'mem.npy');
    assert.deepEqual(Array.from(a.data as Uint8Array), [0, 1, 2, 3, 4, 5]);
  }
});

test('limit, partial last batch, a fixed batch dim, reshape of [N, 6] into [batch, 1, 2, 3]', async () => {
  const t = tempDir();
  try {
    const path = t.file('d.npy');
    writeNpy(path, 'uint8', [7, 6], Array.from({ length: 42 }, (_, i) => i));
    const ds = await openDataset(path, [input('x', 'float', ['batch', 1, 2, 3])], { limit: 5 });
    assert.equal(ds.samples, 5);
    assert.equal(ds.format, 'npy');
    const b = await drain(ds, 2);
    assert.deepEqual(b.map((x) => x.x!.dims), [[2, 1, 2, 3], [2, 1, 2, 3], [1, 1, 2, 3]]);
    assert.deepEqual(values(b, 'x'), Array.from({ length: 30 }, (_, i) => i));
    // A second pass reads the same.
    assert.deepEqual(values(await drain(ds, 10), 'x'), Array.from({ length: 30 }, (_, i) => i));
    await ds.close();
    await ds.close();
    const fixed = await openDataset(path, [input('x', 'float', [1, 6])]);
    assert.deepEqual((await drain(fixed, 64)).map((x) => x.x!.dims[0]), [1, 1, 1, 1, 1, 1, 1]);
    await fixed.close();
    await rejectsWith(() => openDataset(path, [input('x', 'float', ['b', 6])], { limit: 0 }), 'limit');
    const ds2 = await openDataset(path, [input('x', 'float', ['b', 6])]);
    assert.throws(() => ds2.batches(0), /batch size/);
    await ds2.close();
  } finally {
    t.cleanup();
  }
});

test('clear errors: size lies, wrong dtype or shape, values out of range, bad headers', async () => {
  const t = tempDir();
  try {
    const path = t.file('data.npy');
    writeNpy(path, 'float', [10, 4], new Float32Array(40));
    const full = readFileSync(path).length;
    truncateSync(path, full - 8);
    await rejectsWith(openDataset(path, [input('x', 'float', ['b', 4])]), 'data.npy', 'header says 10×4 float32 = 160 bytes', 'file has 152', 'truncated');
    await rejectsWith(readNpyArray(path), 'header says');
    writeNpy(path, 'float', [10, 4], new Float32Array(40));
    appendFileSync(path, Buffer.alloc(3));
    await rejectsWith(openDataset(path, [input('x', 'float', ['b', 4])]), 'file has 163', 'extra bytes');

    writeNpy(path, 'float', [10, 4], new Float32Array(40));
    await rejectsWith(openDataset(path, [input('x', 'int64', ['batch', 4])]), 'input "x" expects int64 [batch, 4]; found float [10, 4]', 'fractions');
    await rejectsWith(openDataset(path, [input('x', 'float', ['batch', 1, 28, 28])]), 'input "x" expects float [batch, 1, 28, 28]; found float [10, 4]', '784 values per sample expected, 4 found');
    await rejectsWith(openDataset(path, [input('x', 'float', ['batch', 'c', 3])]), 'does not match');
    await rejectsWith(openDataset(path, [input('a', 'float', ['b', 4]), input('b', 'float', ['b', 4])]), '.npz');
    await rejectsWith(openDataset(path, [input('x', 'string', ['b', 4])]), 'not supported');

    writeNpy(path, 'int64', [2, 2], [1, 2, 3, 2 ** 40]);
    const ds = await openDataset(path, [input('x', 'int32', ['b', 2])]);
    await rejectsWith(drain(ds, 1), 'input "x"', `value ${2 ** 40} at sample 1 does not fit in int32`);
    await ds.close();

    writeFileSync(path, 'hello, this is not numpy');
    await rejectsWith(openDataset(path, [input('x', 'float', ['b', 4])]), 'not a .npy file');
    const bad = (header: string) => {
      const h = Buffer.from(header);
      return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length, 0]), h]);
    };
    writeFileSync(path, bad("{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }"));
    await rejectsWith(readNpyArray(path), "dtype '<U5' is not supported");
    writeFileSync(path, bad("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"));
    await rejectsWith(readNpyArray(path), 'structured');
    writeFileSync(path, bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2,"));
    await rejectsWith(readNpyArray(path), 'not a valid Python dict');
    writeFileSync(path, bad("{'descr': '<f4', 'shape': (0, 3), 'fortran_order': False}"));
    await rejectsWith(openDataset(path, [input('x', 'float', ['b', 3])]), 'no samples');
  } finally {
    t.cleanup();
  }
});

test('float16 conversion round-trips and rounds to nearest', () => {
  for (const v of [0, -0, 1, -2.5, 65504, 6.103515625e-5, 5.960464477539063e-8, Infinity, -Infinity]) {
    assert.equal(halfToFloat(floatToHalf(v)), v);
  }
  assert.equal(halfToFloat(floatToHalf(1 + 2 ** -11)), 1); // tie goes to even
  assert.equal(halfToFloat(floatToHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  assert.equal(halfToFloat(floatToHalf(70000)), Infinity);
  assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
});

test('property: random .npy bytes either parse correctly or throw a StudioError', () => {
  const dtypeArb = fc.constantFrom(...NUMERIC_TYPES);
  fc.assert(
    fc.property(
      dtypeArb, fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }), fc.boolean(), fc.boolean(),
      fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3>,
      (dtype, shape, fortranOrder, bigEndian, version) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = sampleValues(dtype, n).map((v) => (dtype === 'float16' ? floatToHalf(v) : v));
        const bytes = encodeNpy(dtype, shape, data, { fortranOrder, bigEndian, version });
        const a = decodeNpy(bytes, 'p.npy');
        assert.deepEqual(a.shape, shape);
        assert.deepEqual(Array.from(a.data as ArrayLike<number | bigint>, Number), data);
      },
    ),
    { numRuns: 200 },
  );
  const valid = encodeNpy('float', [3, 2], [1, 2, 3, 4, 5, 6]);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        // Mutations of a valid file: flipped bytes, cuts, and appended junk.
        fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: valid.length }))
          .map(([i, b, cut]) => {
            const m = valid.slice(0, Math.max(cut, i + 1));
            m[i] = b;
            return m;
          }),
        fc.string({ maxLength: 80 }).map((s) => {
          const h = new TextEncoder().encode(s);
          return Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 255, 0, ...h]);
        }),
      ),
      (bytes) => {
        try {
          const a = decodeNpy(bytes, 'fuzz.npy');
          assert.equal(a.data.length, a.shape.reduce((x, y) => x * y, 1));
        } catch (e) {
          assert.ok(isStudioError(e), `not a StudioError: ${String(e)}`);
        }
      },
    ),
    { numRuns: 500 },
  );
});
