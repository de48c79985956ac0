import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { openDataset } from '../../src/data/open.js';
import { drain, input, rejectsWith, tempDir, values } from './util.js';

/** A solid-colour image of 2×2 RGB pixels [r, g, b]. */
async function solid(path: string, rgb: [number, number, number], format: 'png' | 'jpeg', size = 2): Promise<void> {
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < size * size; i++) px.set(rgb, i * 3);
  const img = sharp(px, { raw: { width: size, height: size, channels: 3 } });
  await (format === 'png' ? img.png() : img.jpeg({ quality: 100 })).toFile(path);
}

test('class folders give labels; NCHW and NHWC layouts; scaling and mean/std per channel', async () => {
  const t = tempDir();
  try {
    mkdirSync(t.file('cat'));
    mkdirSync(t.file('dog'));
    await solid(t.file('dog/b.png'), [255, 0, 51], 'png', 4);
    await solid(t.file('cat/z.png'), [0, 255, 102], 'png');
    await solid(t.file('cat/a.png'), [51, 102, 255], 'png', 3);
    writeFileSync(t.file('cat/.DS_Store'), 'junk');

    const nchw = await openDataset(t.dir, [input('x', 'float', ['batch', 3, 2, 2])], { image: { mean: [0.5], std: [0.5, 0.25, 1] } });
    assert.equal(nchw.format, 'images');
    assert.equal(nchw.samples, 3);
    assert.deepEqual(Array.from(nchw.labels!), [0, 0, 1]); // cat/a, cat/z, dog/b
    const b = await drain(nchw, 2);
    assert.deepEqual(b.map((x) => x.x!.dims), [[2, 3, 2, 2], [1, 3, 2, 2]]);
    const v = values(b, 'x');
    const norm = (rgb: number[]) => [(rgb[0]! / 255 - 0.5) / 0.5, (rgb[1]! / 255 - 0.5) / 0.25, rgb[2]! / 255 - 0.5];
    const expect = [[51, 102, 255], [0, 255, 102], [255, 0, 51]].flatMap((rgb) => norm(rgb).flatMap((c) => [c, c, c, c]));
    assert.equal(v.length, expect.length);
    v.forEach((x, i) => assert.ok(Math.abs(x - expect[i]!) < 1e-5, `value ${i}: ${x} vs ${expect[i]}`));

    const nhwc = await openDataset(t.dir, [input('x', 'uint8', ['batch', 2, 2, 3])], { limit: 1 });
    const raw = await drain(nhwc, 8);
    assert.equal(nhwc.samples, 1);
    assert.ok(raw[0]!.x!.data instanceof Uint8Array);
    assert.deepEqual(raw[0]!.x!.dims, [1, 2, 2, 3]);
    assert.deepEqual(values(raw, 'x'), [51, 102, 255, 51, 102, 255, 51, 102, 255, 51, 102, 255]);

    // Grayscale [batch, 1, H, W] and [batch, H, W]: one channel, luminance of the colour.
    const gray = await drain(await openDataset(t.dir, [input('x', 'float', ['n', 1, 2, 2])]), 3);
    assert.deepEqual(gray[0]!.x!.dims, [3, 1, 2, 2]);
    const g = values(gray, 'x');
    assert.ok(g.every((x) => x >= 0 && x <= 1));
    assert.equal(new Set(g.slice(0, 4)).size, 1);
    const flat = await drain(await openDataset(t.dir, [input('x', 'double', ['n', 2, 2])]), 3);
    assert.deepEqual(flat[0]!.x!.dims, [3, 2, 2]);
    assert.ok(flat[0]!.x!.data instanceof Float64Array);
  } finally {
    t.cleanup();
  }
});

test('an unlabeled folder of JPEGs reads in name order', async () => {
  const t = tempDir();
  try {
    await solid(t.file('2.jpg'), [200, 200, 200], 'jpeg', 8);
    await solid(t.file('10.jpeg'), [10, 10, 10], 'jpeg', 8);
    const ds = await openDataset(t.dir, [input('x', 'float', [null, 3, 4, 4])]);
    assert.equal(ds.labels, undefined);
    const v = values(await drain(ds, 4), 'x');
    // "10.jpeg" sorts before "2.jpg"; JPEG is lossy, so compare loosely.
    assert.ok(Math.abs(v[0]! - 10 / 255) < 0.02, `first ${v[0]}`);
    assert.ok(Math.abs(v[48]! - 200 / 255) < 0.02, `second ${v[48]}`);
  } finally {
    t.cleanup();
  }
});

test('image folder errors: non-image file, fake image, stray file beside classes, bad input shape, bad mean', async () => {
  const t = tempDir();
  try {
    const x = [input('x', 'float', ['batch', 3, 2, 2])];
    await solid(t.file('a.png'), [1, 2, 3], 'png');
    writeFileSync(t.file('notes.txt'), 'hello');
    await rejectsWith(openDataset(t.dir, x), 'notes.txt', 'is not an image');
    rmSync(t.file('notes.txt'));
    writeFileSync(t.file('b.png'), 'not a png at all');
    await rejectsWith(openDataset(t.dir, x), 'b.png', 'not a PNG or JPEG');
    rmSync(t.file('b.png'));
    await rejectsWith(openDataset(t.dir, [input('x', 'float', ['batch', 3, 'h', 'w'])]), 'expects float [batch, 3, h, w]', 'height');
    await rejectsWith(openDataset(t.dir, [input('x', 'float', ['batch', 4, 2, 2])]), 'not an image input');
    await rejectsWith(openDataset(t.dir, [input('x', 'int32', ['batch', 3, 2, 2])]), 'float inputs', 'uint8');
    await rejectsWith(openDataset(t.dir, x, { image: { mean: [0.1, 0.2] } }), 'mean has 2 values', '3 channels');
    await rejectsWith(openDataset(t.dir, [input('x', 'uint8', ['batch', 3, 2, 2])], { image: { std: [2] } }), 'raw uint8');
    mkdirSync(t.file('cls'));
    await rejectsWith(openDataset(t.dir, x), 'a.png', 'beside class subfolders');
    const empty = tempDir();
    try {
      await rejectsWith(openDataset(empty.dir, x), 'holds no images');
    } finally {
      empty.cleanup();
    }
  } finally {
    t.cleanup();
  }
});
