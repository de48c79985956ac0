/**
 * The format table (src/formats/table.ts) is the one list of what the studio
 * opens: what the page offers (dialogs, the Dataset picker, drops) is what
 * the engine's readers take, and the page gets the table without engine code.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openDataset } from '../../src/data/open.js';
import { FORMATS, extensionsOf, fileFilter } from '../../src/formats/table.js';
import { projectRoot } from '../../src/paths.js';
import { importTrace } from '../../src/trace/import.js';
import { classifyDrop } from '../../renderer/src/lib/drop.js';
import { menuPlan } from '../../renderer/src/lib/host-menu.js';
import { tempDir } from '../data/util.js';

const x = [{ name: 'x', type: 'float' as const, shape: ['batch', 4] }];

/** The message a reader gives for a file of one garbage byte named x.<ext>: its own complaint, or "unknown ... format". */
async function complaint(read: (path: string) => Promise<unknown>, path: string): Promise<string> {
  writeFileSync(path, 'x');
  try {
    await read(path);
    return '(read)';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

describe('what the page offers is what the engine reads', () => {
  test('every extension the Dataset picker and Open Dataset offer reaches a dataset reader; .parquet is not offered', async () => {
    const t = tempDir();
    try {
      const offered = fileFilter('dataset').extensions;
      const d = menuPlan({ action: 'openDataset' });
      assert.ok(d.type === 'dialog');
      assert.deepEqual(d.dialog.filters, [fileFilter('dataset')], 'the menu dialog and the picker offer the same list');
      assert.ok(offered.length >= 5);
      for (const ext of offered) {
        const msg = await complaint((p) => openDataset(p, x), t.file(`x.${ext}`));
        assert.doesNotMatch(msg, /unknown data format/, `.${ext} is offered for datasets: ${msg}`);
      }
      assert.ok(!offered.includes('parquet'), 'no dataset reader takes Parquet');
      assert.match(await complaint((p) => openDataset(p, x), t.file('x.parquet')), /unknown data format.*read as a trace/);
    } finally {
      t.cleanup();
    }
  });

  test('every extension Import Trace offers reaches a trace reader, Parquet included, and drops on the Trace screen take them', async () => {
    const t = tempDir();
    try {
      const plan = menuPlan({ action: 'importTrace' });
      assert.ok(plan.type === 'dialog');
      const offered = plan.dialog.filters.flatMap((f) => f.extensions);
      assert.ok(offered.includes('parquet'), 'Parquet traces are offered in the dialog');
      for (const ext of offered) {
        const msg = await complaint((p) => importTrace(p), t.file(`x.${ext}`));
        assert.doesNotMatch(msg, /unknown trace format/, `.${ext} is offered for traces: ${msg}`);
        assert.deepEqual(classifyDrop({ name: `x.${ext}`, isDirectory: false }, 'trace'), { kind: 'trace' }, `.${ext} dropped on the Trace screen`);
      }
      assert.match(await complaint((p) => importTrace(p), t.file('x.xyz')), /unknown trace format/);
      const elsewhere = classifyDrop({ name: 'x.parquet', isDirectory: false }, 'home');
      assert.ok('note' in elsewhere && /Trace screen/.test(elsewhere.note), 'a Parquet file dropped elsewhere is pointed to the Trace screen');
    } finally {
      t.cleanup();
    }
  });

  test('a file named for nothing, whose first bytes are a format\'s, is named for what it is', async () => {
    const t = tempDir();
    try {
      const npy = t.file('scores.bin');
      writeFileSync(npy, Buffer.from('\x93NUMPY\x01\x00', 'latin1'));
      await assert.rejects(openDataset(npy, x), /unknown data format "\.bin".*starts like a NumPy array: give it the \.npy extension/);
      await assert.rejects(importTrace(npy), /unknown trace format "\.bin".*starts like a NumPy score array: give it the \.npy extension/);
      const pq = t.file('table.dat');
      writeFileSync(pq, 'PAR1');
      await assert.rejects(openDataset(pq, x), /starts like a Parquet table, which is read as a trace, not as a dataset/);
    } finally {
      t.cleanup();
    }
  });

  test('one entry per format: ids unique, extensions lower case without a dot, no extension twice within a kind', () => {
    assert.equal(new Set(FORMATS.map((f) => f.id)).size, FORMATS.length);
    for (const kind of ['model', 'dataset', 'trace'] as const) {
      const all = FORMATS.filter((f) => f.kind === kind && !('folder' in f)).flatMap((f) => [...f.extensions]);
      assert.equal(new Set(all).size, all.length, `${kind}: an extension names one reader`);
      assert.deepEqual(extensionsOf(kind), all);
      for (const e of all) assert.match(e, /^[a-z0-9]{1,16}$/, 'what the desktop bridge accepts in a filter');
    }
  });
});

describe('the page gets the table, not the engine', () => {
  const root = projectRoot();

  test('the table module imports nothing', () => {
    const src = readFileSync(join(root, 'src', 'formats', 'table.ts'), 'utf8');
    assert.doesNotMatch(src, /^\s*import\s/m);
    assert.doesNotMatch(src, /\brequire\(|\bimport\(/);
  });

  test('the built page holds the table and none of the readers', () => {
    const assets = join(root, 'dist', 'ui', 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    assert.ok(js.length > 0, 'npm run build writes the page to dist/ui');
    const bundle = js.map((f) => readFileSync(join(assets, f), 'utf8')).join('\n');
    assert.ok(bundle.includes('parquet-trace'), 'the page reads the format table');
    // Messages only the engine's readers and the sniffer hold: any of them in the page means engine code came with the table.
    for (const engineOnly of ['unknown data format', 'unknown trace format', 'starts like', 'PAR1" marker', 'node:fs']) {
      assert.ok(!bundle.includes(engineOnly), `the page bundle holds engine code ("${engineOnly}")`);
    }
  });

  test('no copy of the table in the page or the desktop shell: format extensions are only in src/formats/table.ts', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, d.name);
        if (d.isDirectory()) walk(p);
        else if (/\.(ts|cts|svelte)$/.test(d.name)) files.push(p);
      }
    };
    walk(join(root, 'renderer', 'src'));
    walk(join(root, 'electron'));
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      const copy = src.match(/['"`]\.?(npy|npz|parquet|jsonl|ndjson|onnx|tsv)['"`]/);
      assert.equal(copy, null, `${f} lists an extension of its own (${copy?.[0]}); read src/formats/table.ts instead`);
    }
  });
});
