import { test } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { openDataset } from '../../src/data/open.js';
import { input, rejectsWith, tempDir } from './util.js';

const x = [input('x', 'float', ['batch', 4])];

test('openDataset: missing path, empty file, unknown format, image file instead of folder, folder without images', async () => {
  const t = tempDir();
  try {
    await rejectsWith(openDataset(t.file('nope.npy'), x), 'nope.npy: no such file or folder');
    writeFileSync(t.file('empty.npy'), '');
    await rejectsWith(openDataset(t.file('empty.npy'), x), 'empty.npy: the file is empty');
    writeFileSync(t.file('data.parquet'), 'PAR1');
    await rejectsWith(openDataset(t.file('data.parquet'), x), 'unknown data format ".parquet"', '.npy, .npz, .csv, .tsv, .jsonl');
    writeFileSync(t.file('data'), 'x');
    await rejectsWith(openDataset(t.file('data'), x), '(no extension)');
    writeFileSync(t.file('cat.png'), 'x');
    await rejectsWith(openDataset(t.file('cat.png'), x), 'give the folder');
    mkdirSync(t.file('folder'));
    writeFileSync(t.file('folder/data.npy'), 'x');
    await rejectsWith(openDataset(t.file('folder'), [input('x', 'float', ['b', 1, 2, 2])]), 'data.npy', 'is not an image');
    await rejectsWith(openDataset(t.dir, []), 'no inputs');
  } finally {
    t.cleanup();
  }
});
