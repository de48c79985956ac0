/** The application menu as a template, without Electron: items, shortcuts, development-only items, and the actions clicks send. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildMenuTemplate, documentationCandidates, menuAction, type MenuAction, type MenuItem, type MenuOptions } from '../../electron/menu.js';
import type { RecentEntry } from '../../electron/recent.js';

function options(over: Partial<MenuOptions> = {}): MenuOptions & { sent: MenuAction[]; calls: string[] } {
  const sent: MenuAction[] = [];
  const calls: string[] = [];
  return {
    sent,
    calls,
    platform: 'linux',
    isDevelopment: false,
    recent: [],
    send: (a) => sent.push(a),
    clearRecent: () => calls.push('clear'),
    openDocumentation: () => calls.push('docs'),
    ...over,
  };
}

function find(items: MenuItem[], pred: (i: MenuItem) => boolean): MenuItem | undefined {
  for (const i of items) {
    if (pred(i)) return i;
    const inner = i.submenu ? find(i.submenu, pred) : undefined;
    if (inner) return inner;
  }
  return undefined;
}
const byId = (items: MenuItem[], id: string): MenuItem => {
  const i = find(items, (x) => x.id === id);
  assert.ok(i, `no menu item ${id}`);
  return i;
};
const roles = (items: MenuItem[]): string[] => {
  const out: string[] = [];
  const walk = (xs: MenuItem[]): void => {
    for (const x of xs) {
      if (x.role) out.push(x.role);
      if (x.submenu) walk(x.submenu);
    }
  };
  walk(items);
  return out;
};

const recent: RecentEntry[] = [
  { kind: 'model', path: '/m/resnet.onnx', openedAt: '2026-01-01T00:00:00.000Z' },
  { kind: 'trace', path: '/t/run.tsv', openedAt: '2026-01-01T00:00:00.000Z' },
];

describe('File', () => {
  test('the usual items and shortcuts, in order', () => {
    const t = buildMenuTemplate(options());
    const file = byId(t, 'file');
    assert.deepEqual(
      file.submenu!.map((i) => (i.type === 'separator' ? '-' : `${i.label}${i.accelerator ? ` [${i.accelerator}]` : ''}`)),
      ['Open Model… [CmdOrCtrl+O]', 'Open Dataset… [CmdOrCtrl+Shift+O]', 'Import Trace…', 'Open Recent', '-', 'Export Policy… [CmdOrCtrl+E]', '-', 'Close Window [CmdOrCtrl+W]', 'Quit'],
    );
    assert.equal(byId(t, 'file').submenu!.find((i) => i.label === 'Close Window')!.role, 'close');
  });

  test('each item sends its action; every action sent is one the window accepts', () => {
    const o = options({ recent });
    const t = buildMenuTemplate(o);
    for (const id of ['open-model', 'open-dataset', 'import-trace', 'export-policy']) byId(t, id).click!();
    assert.deepEqual(o.sent, [{ action: 'openModel' }, { action: 'openDataset' }, { action: 'importTrace' }, { action: 'exportPolicy' }]);
    for (const a of o.sent) assert.ok(menuAction.safeParse(a).success);
  });

  test('Open Recent lists the files newest first and opens each as what it was', () => {
    const o = options({ recent });
    const sub = byId(buildMenuTemplate(o), 'open-recent').submenu!;
    assert.deepEqual(
      sub.map((i) => i.label ?? '-'),
      ['Model: resnet.onnx', 'Trace: run.tsv', '-', 'Clear Recent'],
    );
    assert.equal(sub[0]!.toolTip, '/m/resnet.onnx');
    sub[1]!.click!();
    assert.deepEqual(o.sent, [{ action: 'open', kind: 'trace', path: '/t/run.tsv' }]);
    byId(buildMenuTemplate(o), 'clear-recent').click!();
    assert.deepEqual(o.calls, ['clear']);
  });

  test('an empty Open Recent says so, disabled', () => {
    const sub = byId(buildMenuTemplate(options()), 'open-recent').submenu!;
    assert.deepEqual(sub, [{ label: 'No Recent Files', enabled: false }]);
  });

  test('macOS: the app menu comes first and quitting lives there', () => {
    const t = buildMenuTemplate(options({ platform: 'darwin' }));
    assert.equal(t[0]!.role, 'appMenu');
    assert.equal(find(byId(t, 'file').submenu!, (i) => i.role === 'quit'), undefined);
    assert.equal(byId(t, 'file').label, 'File');
  });
});

describe('View, Edit, Window, Help', () => {
  test('a packaged app has zoom and full screen, but no reload and no developer tools', () => {
    const r = roles(buildMenuTemplate(options({ isDevelopment: false })));
    for (const want of ['editMenu', 'windowMenu', 'resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen']) assert.ok(r.includes(want), want);
    for (const never of ['reload', 'forceReload', 'toggleDevTools']) assert.ok(!r.includes(never), never);
  });

  test('development adds reload and the developer tools', () => {
    const r = roles(buildMenuTemplate(options({ isDevelopment: true })));
    for (const want of ['reload', 'forceReload', 'toggleDevTools']) assert.ok(r.includes(want), want);
  });

  test('Help opens the local documentation; no placeholder web link', () => {
    const o = options();
    const t = buildMenuTemplate(o);
    const help = t.find((i) => i.role === 'help')!;
    assert.deepEqual(
      help.submenu!.map((i) => i.label),
      ['Exit Studio documentation'],
    );
    help.submenu![0]!.click!();
    assert.deepEqual(o.calls, ['docs']);
    assert.ok(!JSON.stringify(t).includes('http'), 'no URL anywhere in the menu');
  });

  test('the README is looked for outside app.asar', () => {
    const asar = join('/opt/Exit Studio/resources', 'app.asar');
    assert.deepEqual(documentationCandidates(asar, '/opt/Exit Studio/resources'), [join('/opt/Exit Studio/resources', 'README.md'), join(`${asar}.unpacked`, 'README.md')]);
    assert.deepEqual(documentationCandidates('/src/exit-studio', undefined), [join('/src/exit-studio', 'README.md')]);
  });
});

describe('the menu channel', () => {
  test('accepts the typed actions only', () => {
    for (const ok of [{ action: 'openModel' }, { action: 'exportPolicy' }, { action: 'open', kind: 'dataset', path: '/d/x.npy' }]) assert.ok(menuAction.safeParse(ok).success, JSON.stringify(ok));
    for (const bad of [null, 'openModel', { action: 'reload' }, { action: 'openModel', path: '/x' }, { action: 'open', kind: 'script', path: '/x' }, { action: 'open', kind: 'model', path: '' }, { action: 'open', kind: 'model' }]) {
      assert.ok(!menuAction.safeParse(bad).success, JSON.stringify(bad));
    }
  });
});
