/** File → Open Recent's rules, without Electron: add, dedupe, cap, drop what is gone, and which commands count as opening a file. */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { addRecent, kindOfPath, parseRecent, pruneRecent, RECENT_LIMIT, recentEntries, recentLabel, serializeRecent, type RecentEntry } from '../../electron/recent.js';
import { openedFiles } from '../../src/api/commands.js';

const at = '2026-01-02T03:04:05.000Z';
const e = (kind: RecentEntry['kind'], path: string): RecentEntry => ({ kind, path, openedAt: at });

describe('adding', () => {
  test('newest first; opening a file again moves it to the top, once', () => {
    let list: RecentEntry[] = [];
    list = addRecent(list, e('model', '/m/a.onnx'));
    list = addRecent(list, e('dataset', '/d/x.npy'));
    list = addRecent(list, e('model', '/m/a.onnx'));
    assert.deepEqual(
      list.map((x) => x.path),
      ['/m/a.onnx', '/d/x.npy'],
    );
  });

  test('the same path as two kinds is two entries (a .csv can be a dataset and a trace)', () => {
    const list = addRecent([e('dataset', '/t.csv')], e('trace', '/t.csv'));
    assert.deepEqual(
      list.map((x) => x.kind),
      ['trace', 'dataset'],
    );
  });

  test('case-insensitive file systems dedupe by case', () => {
    const list = addRecent([e('model', 'C:\\Models\\A.onnx')], e('model', 'c:\\models\\a.onnx'), { caseInsensitive: true });
    assert.equal(list.length, 1);
    assert.equal(list[0]!.path, 'c:\\models\\a.onnx');
    assert.equal(addRecent([e('model', '/A.onnx')], e('model', '/a.onnx')).length, 2);
  });

  test(`at most ${RECENT_LIMIT}, the oldest dropped`, () => {
    let list: RecentEntry[] = [];
    for (let i = 0; i < 15; i++) list = addRecent(list, e('model', `/m/${i}.onnx`));
    assert.equal(list.length, RECENT_LIMIT);
    assert.equal(list[0]!.path, '/m/14.onnx');
    assert.equal(list.at(-1)!.path, '/m/5.onnx');
  });

  test('property: never more than the cap, never a duplicate, the added one first', () => {
    const entry = fc.record({ kind: fc.constantFrom('model' as const, 'dataset' as const, 'trace' as const), path: fc.constantFrom('/a', '/b', '/c', '/d', '/e', '/f', '/g', '/h', '/i', '/j', '/k', '/l'), openedAt: fc.constant(at) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), (adds) => {
        let list: RecentEntry[] = [];
        for (const a of adds) {
          list = addRecent(list, a);
          assert.deepEqual(list[0], a);
          assert.ok(list.length <= RECENT_LIMIT);
          assert.equal(new Set(list.map((x) => `${x.kind}:${x.path}`)).size, list.length);
        }
      }),
    );
  });
});

describe('the file on disk', () => {
  test('round-trips through JSON', () => {
    const list = [e('model', '/m/a.onnx'), e('trace', '/t/b.tsv')];
    assert.deepEqual(parseRecent(JSON.parse(serializeRecent(list))), list);
  });

  test('a corrupt or foreign file is an empty list; bad entries are skipped', () => {
    for (const junk of [null, 42, 'x', [], {}, { version: 2, files: [] }, { version: 1, files: 'no' }]) assert.deepEqual(parseRecent(junk), []);
    const mixed = { version: 1, files: [e('model', '/ok.onnx'), { kind: 'virus', path: '/x', openedAt: at }, { kind: 'model', path: '', openedAt: at }, { kind: 'model', path: '/ok.onnx', openedAt: at, extra: 1 }, e('model', '/ok.onnx')] };
    assert.deepEqual(parseRecent(mixed), [e('model', '/ok.onnx')]);
  });

  test('a hand-edited long list is cut to the cap', () => {
    const files = Array.from({ length: 30 }, (_, i) => e('dataset', `/d/${i}.npy`));
    assert.equal(parseRecent({ version: 1, files }).length, RECENT_LIMIT);
  });

  test('missing files are dropped; an exists() that throws counts as missing', () => {
    const list = [e('model', '/here.onnx'), e('dataset', '/gone.npy'), e('trace', '/denied.tsv')];
    const kept = pruneRecent(list, (p) => {
      if (p === '/denied.tsv') throw new Error('EACCES');
      return p === '/here.onnx';
    });
    assert.deepEqual(kept, [e('model', '/here.onnx')]);
  });
});

describe('what counts as opening a file: the commands\' own `opens`', () => {
  const now = new Date(at);
  const entries = (command: string, payload: unknown, result: unknown): RecentEntry[] => recentEntries(openedFiles(command, payload, result), now);

  test('inspecting a model records the path the engine resolved', () => {
    assert.deepEqual(entries('model.inspect', { path: 'rel.onnx' }, { path: '/abs/rel.onnx', exits: [] }), [e('model', '/abs/rel.onnx')]);
  });

  test('previewing or running a dataset records it, relative paths made absolute; importing a trace records the trace', () => {
    assert.deepEqual(entries('data.preview', { path: '/d/x.npz', model: '/m.onnx' }, {}), [e('dataset', '/d/x.npz')]);
    assert.deepEqual(entries('data.preview', { path: 'x.npz', model: '/m.onnx' }, {}), [e('dataset', resolve('x.npz'))]);
    assert.deepEqual(entries('trace.infer', { model: '/m.onnx', data: '/d/imgs' }, {}), [e('dataset', '/d/imgs'), e('model', '/m.onnx')]);
    assert.deepEqual(entries('trace.import', { path: '/t/run.tsv' }, { traceId: 3 }), [e('trace', '/t/run.tsv')]);
  });

  test('other commands, shard lists, malformed payloads and results record nothing', () => {
    assert.deepEqual(entries('trace.list', {}, []), []);
    assert.deepEqual(entries('trace.export', { id: 1, out: '/x.tsv' }, {}), []);
    assert.deepEqual(entries('trace.import', { path: ['/s/a.npz', '/s/b.npz'] }, {}), []);
    assert.deepEqual(entries('trace.import', { path: 42 }, {}), []);
    assert.deepEqual(entries('data.preview', null, {}), []);
    assert.deepEqual(entries('model.inspect', { path: 'rel.onnx' }, null), []);
    assert.deepEqual(entries('no.such.command', {}, {}), []);
  });
});


describe('files the OS hands the app', () => {
  test('a known file opens as what it was; others by extension', () => {
    assert.equal(kindOfPath('/t/a.csv', [e('trace', '/t/a.csv')]), 'trace');
    assert.equal(kindOfPath('/m/a.ONNX'), 'model');
    assert.equal(kindOfPath('/d/a.npz'), 'dataset');
    assert.equal(kindOfPath('/t/a.txt'), 'trace');
    assert.equal(kindOfPath('/t/a.parquet'), 'trace', 'Parquet is read as a trace only');
    assert.equal(kindOfPath('/d/images', [], true), 'dataset');
    assert.equal(kindOfPath('/x/readme.md'), null);
  });

  test('menu labels name the kind and the file; & is escaped', () => {
    assert.equal(recentLabel(e('model', '/m/resnet.onnx')), 'Model: resnet.onnx');
    assert.equal(recentLabel(e('dataset', '/d/R&D data')), 'Dataset: R&&D data');
  });
});
