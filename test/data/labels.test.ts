import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { readLabels } from '../../src/data/labels.js';
import { writeNpy } from '../../src/data/npy.js';
import { fixture, rejectsWith, tempDir } from './util.js';

test('labels from .npy (int, float, [N, 1]), text lines and a CSV column', async () => {
  const t = tempDir();
  try {
    assert.deepEqual(Array.from(await readLabels(fixture('labels_i8.npy'))), [3, 1, 4, 1, 5]);
    assert.deepEqual(Array.from(await readLabels(fixture('labels_i8.npy'), 3)), [3, 1, 4]);
    writeNpy(t.file('f.npy'), 'double', [3, 1], [2, 0, 1]);
    assert.deepEqual(Array.from(await readLabels(t.file('f.npy'), 3)), [2, 0, 1]);
    writeFileSync(t.file('l.txt'), '1\n2\r\n0\n\n');
    assert.deepEqual(Array.from(await readLabels(t.file('l.txt'), 3)), [1, 2, 0]);
    writeFileSync(t.file('d.csv'), 'x,label\n0.5,3\n0.7,1\n');
    assert.deepEqual(Array.from(await readLabels(t.file('d.csv') + ':label', 2)), [3, 1]);
    writeFileSync(t.file('one.csv'), 'y\n4\n5\n');
    assert.deepEqual(Array.from(await readLabels(t.file('one.csv'))), [4, 5]);
    writeFileSync(t.file('noheader.tsv'), '0.5\t3\n0.7\t1\n');
    assert.deepEqual(Array.from(await readLabels(t.file('noheader.tsv') + ':1')), [3, 1]);
  } finally {
    t.cleanup();
  }
});

test('label errors: count mismatch, non-integers, negatives, wrong shape, missing column, empty', async () => {
  const t = tempDir();
  try {
    await rejectsWith(readLabels(fixture('labels_i8.npy'), 6), 'labels_i8.npy', '5 labels for 6 samples');
    writeNpy(t.file('f.npy'), 'float', [3], [2, 0.5, 1]);
    await rejectsWith(readLabels(t.file('f.npy')), 'label 1: 0.5 is not a whole number');
    writeNpy(t.file('m.npy'), 'int32', [2, 2], [0, 1, 1, 0]);
    await rejectsWith(readLabels(t.file('m.npy')), '1-D', 'int32 [2, 2]');
    writeFileSync(t.file('l.txt'), '1\n-2\n');
    await rejectsWith(readLabels(t.file('l.txt')), 'l.txt', 'line 2', 'negative');
    // What a non-number holds is never quoted: any readable file can be named as labels.
    writeFileSync(t.file('l.txt'), '1\ncat\n');
    await assert.rejects(readLabels(t.file('l.txt')), (e: Error) => /line 2: not a number/.test(e.message) && !e.message.includes('cat'));
    writeFileSync(t.file('l.txt'), '1\n\n2\n');
    await rejectsWith(readLabels(t.file('l.txt')), 'line 2 is empty');
    writeFileSync(t.file('d.csv'), 'x,label\n0.5,3\n');
    await rejectsWith(readLabels(t.file('d.csv') + ':y'), 'no column "y"', '"x", "label"');
    await rejectsWith(readLabels(t.file('d.csv')), 'has 2 columns', ':COLUMN');
    writeFileSync(t.file('e.txt'), '');
    await rejectsWith(readLabels(t.file('e.txt')), 'empty');
    await rejectsWith(readLabels(t.file('missing.npy')), 'no such labels file');
    await rejectsWith(readLabels(t.dir), 'is a folder');
  } finally {
    t.cleanup();
  }
});
