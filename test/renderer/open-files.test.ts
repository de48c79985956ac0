/** Opening files in the window: drops routed by kind and screen, and the menu's actions checked and mapped. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyDrop, dropHint, planDrop, type DroppedItem } from '../../renderer/src/lib/drop.js';
import { menuPlan, parseMenuAction } from '../../renderer/src/lib/host-menu.js';

const file = (name: string, path: string | null = `/data/${name}`): DroppedItem => ({ name, path, isDirectory: false });
const folder = (name: string, path: string | null = `/data/${name}`): DroppedItem => ({ name, path, isDirectory: true });

describe('what a dropped file is', () => {
  test('models, datasets and image folders anywhere', () => {
    assert.deepEqual(classifyDrop(file('resnet.ONNX'), 'home'), { kind: 'model' });
    for (const n of ['x.npy', 'x.npz', 'x.csv', 'x.tsv', 'x.jsonl']) assert.deepEqual(classifyDrop(file(n), 'home'), { kind: 'dataset' }, n);
    assert.deepEqual(classifyDrop(folder('images'), 'model'), { kind: 'dataset' });
    assert.deepEqual(classifyDrop(folder('weird.onnx'), 'model'), { kind: 'dataset' }, 'a folder is a folder, whatever its name');
  });

  test('on the Trace screen, tables and arrays are traces; a model is still a model', () => {
    for (const n of ['t.tsv', 't.csv', 't.npy', 't.npz']) assert.deepEqual(classifyDrop(file(n), 'trace'), { kind: 'trace' }, n);
    assert.deepEqual(classifyDrop(file('m.onnx'), 'trace'), { kind: 'model' });
    assert.deepEqual(classifyDrop(file('x.jsonl'), 'trace'), { kind: 'dataset' });
  });

  test('unknown types get a clear message', () => {
    const r = classifyDrop(file('notes.pdf'), 'home');
    assert.ok('note' in r && /“notes.pdf” is not a file the studio opens/.test(r.note) && /\.onnx/.test(r.note));
    const img = classifyDrop(file('cat.png'), 'dataset');
    assert.ok('note' in img && /folder that holds the images/.test(img.note));
    const noExt = classifyDrop(file('Makefile'), 'home');
    assert.ok('note' in noExt);
    const txt = classifyDrop(file('trace.txt'), 'home');
    assert.ok('note' in txt && /Trace screen/.test(txt.note));
  });
});

describe('the plan for a drop', () => {
  test('a model goes to the Model screen, to be inspected', () => {
    assert.deepEqual(planDrop([file('m.onnx')], 'home'), { steps: [{ kind: 'model', path: '/data/m.onnx' }], screen: 'model', notes: [] });
  });

  test('a dataset goes to the Dataset screen with its path', () => {
    assert.deepEqual(planDrop([folder('imgs')], 'home'), { steps: [{ kind: 'dataset', path: '/data/imgs' }], screen: 'dataset', notes: [] });
  });

  test('a table on the Trace screen is imported and shown', () => {
    assert.deepEqual(planDrop([file('t.tsv')], 'trace'), { steps: [{ kind: 'trace', path: '/data/t.tsv' }], screen: 'trace', notes: [] });
    assert.deepEqual(planDrop([file('t.tsv')], 'lab').steps, [{ kind: 'dataset', path: '/data/t.tsv' }], 'elsewhere it is a dataset');
  });

  test('a model and a dataset together: both filled, the dataset first, the Model screen shown', () => {
    const p = planDrop([file('m.onnx'), file('x.npy')], 'home');
    assert.deepEqual(p.steps, [
      { kind: 'dataset', path: '/data/x.npy' },
      { kind: 'model', path: '/data/m.onnx' },
    ]);
    assert.equal(p.screen, 'model');
  });

  test('one of each kind; the rest, and unknown files, are named in notes', () => {
    const p = planDrop([file('a.onnx'), file('b.onnx'), file('c.docx')], 'home');
    assert.deepEqual(p.steps, [{ kind: 'model', path: '/data/a.onnx' }]);
    assert.equal(p.notes.length, 2);
    assert.match(p.notes[0]!, /“b.onnx” was left out/);
    assert.match(p.notes[1]!, /“c.docx”/);
  });

  test('only unknown files: nothing opens, nowhere to go, a message', () => {
    const p = planDrop([file('c.docx')], 'model');
    assert.deepEqual(p.steps, []);
    assert.equal(p.screen, null);
    assert.equal(p.notes.length, 1);
    assert.equal(planDrop([], 'home').notes.length, 1);
  });

  test('a file with no path on disk (dragged from another app) is explained', () => {
    const p = planDrop([file('m.onnx', '')], 'home');
    assert.deepEqual(p.steps, []);
    assert.match(p.notes[0]!, /no path on disk/);
  });

  test('in the browser: the right screen, nothing opened, a note to type the path on the serving machine', () => {
    const p = planDrop([file('m.onnx', null)], 'home');
    assert.deepEqual(p.steps, []);
    assert.equal(p.screen, 'model');
    assert.match(p.notes[0]!, /exit-studio serve/);
    assert.match(p.notes[0]!, /Type the model’s path on that machine/);
    assert.match(planDrop([folder('imgs', null)], 'home').notes[0]!, /Dataset screen/);
    const t = planDrop([file('t.tsv', null)], 'trace');
    assert.equal(t.screen, 'trace');
    assert.match(t.notes[0]!, /import-trace/);
  });

  test('the overlay says what a drop will do here', () => {
    assert.match(dropHint('trace', true), /trace/);
    assert.match(dropHint('home', true), /\.onnx/);
    assert.match(dropHint('home', false), /browser/);
  });
});

describe('menu actions', () => {
  test('only well-formed actions get through', () => {
    assert.deepEqual(parseMenuAction({ action: 'openModel' }), { action: 'openModel' });
    assert.deepEqual(parseMenuAction({ action: 'open', kind: 'trace', path: '/t.tsv' }), { action: 'open', kind: 'trace', path: '/t.tsv' });
    for (const bad of [null, undefined, 'openModel', [], {}, { action: 'reload' }, { action: 'openModel', extra: 1 }, { action: 'open', kind: 'script', path: '/x' }, { action: 'open', kind: 'model', path: '' }, { action: 'open', kind: 'model', path: 7 }, { action: 'open', kind: 'model', path: '/x', more: 1 }]) {
      assert.equal(parseMenuAction(bad), null, JSON.stringify(bad));
    }
  });

  test('Open Model/Dataset and Import Trace ask for a file of the right type', () => {
    const m = menuPlan({ action: 'openModel' });
    assert.ok(m.type === 'dialog' && m.dialog.kind === 'model' && m.dialog.filters[0]!.extensions.includes('onnx'));
    const d = menuPlan({ action: 'openDataset' });
    assert.ok(d.type === 'dialog' && d.dialog.kind === 'dataset' && d.dialog.filters[0]!.extensions.includes('npz'));
    const t = menuPlan({ action: 'importTrace' });
    assert.ok(t.type === 'dialog' && t.dialog.kind === 'trace' && t.dialog.filters[0]!.extensions.includes('tsv'));
    for (const p of [m, d, t]) if (p.type === 'dialog') for (const f of p.dialog.filters) for (const x of f.extensions) assert.match(x, /^[A-Za-z0-9*]{1,16}$/, 'what the bridge accepts');
  });

  test('Export Policy goes to Export; a recent file opens as what it was', () => {
    assert.deepEqual(menuPlan({ action: 'exportPolicy' }), { type: 'go', screen: 'export' });
    assert.deepEqual(menuPlan({ action: 'open', kind: 'dataset', path: '/d/imgs' }), { type: 'open', step: { kind: 'dataset', path: '/d/imgs' } });
  });
});
