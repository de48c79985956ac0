/** The desktop IPC bridge's seams, without launching Electron: who may call, what they may send, where the window may go. */
import { openedFiles } from '../../src/api/commands.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { handleInvoke, isAppUrl, isExternalLink, isTrustedSender, navigationAllowed, windowCsp, type AppOrigin, type BridgeDeps, type BridgeResult } from '../../electron/bridge.js';
import type { RecentEntry } from '../../electron/recent.js';

const origin: AppOrigin = { fileUrl: 'file:///opt/Exit%20Studio/resources/app.asar/dist/ui/index.html' };
const dev: AppOrigin = { ...origin, devServerUrl: 'http://localhost:5173' };
const own = { frameUrl: 'file:///opt/Exit%20Studio/resources/app.asar/dist/ui/index.html#/lab/1', isMainFrame: true };

function deps(over: Partial<BridgeDeps> = {}): BridgeDeps & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    origin,
    run: async (id, command, payload, emit) => {
      calls.push(['run', id, command, payload]);
      emit({ type: 'progress', job: 'x', done: 1, total: 2 });
      // As the engine host answers: the files the call opened, by its command's facts.
      return { ok: true, result: { command }, opened: openedFiles(command, payload, { command }) };
    },
    cancel: (id) => {
      calls.push(['cancel', id]);
      return true;
    },
    openFile: async (o) => {
      calls.push(['open', o]);
      return '/data/model.onnx';
    },
    saveFile: async (o) => {
      calls.push(['save', o]);
      return null;
    },
    ...over,
  };
}

function refusedWith(r: BridgeResult, pattern: RegExp): void {
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error.message, pattern);
}

describe('who may call', () => {
  test('the app page on disk and the dev server are the app', () => {
    assert.ok(isAppUrl(own.frameUrl, origin));
    assert.ok(isAppUrl('http://localhost:5173/#/home', dev));
    assert.ok(!isAppUrl('http://localhost:5173/', origin), 'no dev server in a packaged app');
  });

  test('other files, other origins and junk are not', () => {
    assert.ok(!isAppUrl('file:///tmp/evil.html', origin));
    assert.ok(!isAppUrl('https://example.com/', dev));
    assert.ok(!isAppUrl('http://localhost:5174/', dev));
    assert.ok(!isAppUrl('not a url', origin));
    assert.ok(!isAppUrl('javascript:alert(1)', origin));
  });

  test('only the top frame of the app page is trusted', () => {
    assert.ok(isTrustedSender(own, origin));
    assert.ok(!isTrustedSender({ ...own, isMainFrame: false }, origin), 'iframes are refused');
    assert.ok(!isTrustedSender({ frameUrl: undefined, isMainFrame: true }, origin));
    assert.ok(!isTrustedSender({ frameUrl: 'https://example.com/', isMainFrame: true }, origin));
  });

  test('a foreign sender is refused before anything runs', async () => {
    const d = deps();
    const r = await handleInvoke(d, { frameUrl: 'https://example.com/', isMainFrame: true }, { id: 'r1', command: 'trace.list', payload: {} }, () => {});
    refusedWith(r, /only from the studio window/);
    assert.deepEqual(d.calls, []);
  });
});

describe('what they may send', () => {
  test('a command goes to the engine with its payload, and its events come back tagged', async () => {
    const d = deps();
    const sent: unknown[] = [];
    const r = await handleInvoke(d, own, { id: 'r1', command: 'trace.list', payload: { a: 1 } }, (m) => sent.push(m));
    assert.deepEqual(r, { ok: true, result: { command: 'trace.list' } });
    assert.deepEqual(d.calls, [['run', 'r1', 'trace.list', { a: 1 }]]);
    assert.deepEqual(sent, [{ id: 'r1', event: { type: 'progress', job: 'x', done: 1, total: 2 } }]);
  });

  test('a missing payload is an empty one', async () => {
    const d = deps();
    await handleInvoke(d, own, { id: 'r1', command: 'providers.list' }, () => {});
    assert.deepEqual(d.calls, [['run', 'r1', 'providers.list', {}]]);
  });

  test('malformed messages are refused with the field named', async () => {
    const d = deps();
    for (const [m, field] of [
      [null, /\(message\)/],
      ['trace.list', /\(message\)/],
      [{ command: 'trace.list' }, /id/],
      [{ id: 'bad id with spaces', command: 'x' }, /id/],
      [{ id: 'r1', command: '' }, /command/],
      [{ id: 'r1', command: 'x', extra: true }, /extra|Unrecognized/i],
      [{ id: 'r'.repeat(65), command: 'x' }, /id/],
    ] as const) {
      refusedWith(await handleInvoke(d, own, m, () => {}), field);
    }
    assert.deepEqual(d.calls, []);
  });

  test('host.cancel reaches the runner; a bad request id is refused', async () => {
    const d = deps();
    assert.deepEqual(await handleInvoke(d, own, { id: 'c1', command: 'host.cancel', payload: { requestId: 'r9' } }, () => {}), { ok: true, result: { cancelled: true } });
    refusedWith(await handleInvoke(d, own, { id: 'c2', command: 'host.cancel', payload: { requestId: 42 } }, () => {}), /host.cancel: invalid payload/);
    assert.deepEqual(d.calls, [['cancel', 'r9']]);
  });

  test('dialogs take only titles, filters and a default path', async () => {
    const d = deps();
    const open = await handleInvoke(d, own, { id: 'd1', command: 'host.openFile', payload: { title: 'Model', filters: [{ name: 'ONNX', extensions: ['onnx'] }] } }, () => {});
    assert.deepEqual(open, { ok: true, result: { path: '/data/model.onnx' } });
    const save = await handleInvoke(d, own, { id: 'd2', command: 'host.saveFile', payload: { title: 'Save', defaultPath: 'policy.json' } }, () => {});
    assert.deepEqual(save, { ok: true, result: { path: null } });
    refusedWith(await handleInvoke(d, own, { id: 'd3', command: 'host.openFile', payload: { title: 'x', properties: ['multiSelections'] } }, () => {}), /invalid payload/);
    refusedWith(await handleInvoke(d, own, { id: 'd4', command: 'host.openFile', payload: { title: 'x', filters: [{ name: 'a', extensions: ['../x'] }] } }, () => {}), /invalid payload/);
    assert.equal(d.calls.length, 2);
  });
});

describe('where the window may go', () => {
  test('navigation stays on the app page', () => {
    assert.ok(navigationAllowed(own.frameUrl, origin));
    assert.ok(!navigationAllowed('https://example.com/', origin));
    assert.ok(!navigationAllowed('file:///etc/passwd', origin));
  });

  test('only https links go to the OS browser', () => {
    assert.ok(isExternalLink('https://onnxruntime.ai/'));
    assert.ok(!isExternalLink('http://example.com/'));
    assert.ok(!isExternalLink('file:///etc/passwd'));
    assert.ok(!isExternalLink('javascript:alert(1)'));
  });
});

describe('recent files', () => {
  test('a command that opened a file records it; a failed one does not', async () => {
    const recorded: RecentEntry[][] = [];
    const d = deps({ recordRecent: (e) => recorded.push(e) });
    await handleInvoke(d, own, { id: 'r1', command: 'trace.import', payload: { path: '/t/run.tsv' } }, () => {});
    await handleInvoke(d, own, { id: 'r2', command: 'trace.list', payload: {} }, () => {});
    const failing = deps({ recordRecent: (e) => recorded.push(e), run: async () => ({ ok: false, error: { message: 'no such file', kind: 'input' } }) });
    await handleInvoke(failing, own, { id: 'r3', command: 'model.inspect', payload: { path: '/m/gone.onnx' } }, () => {});
    assert.equal(recorded.length, 1);
    assert.deepEqual(
      recorded[0]!.map((e) => [e.kind, e.path]),
      [['trace', '/t/run.tsv']],
    );
  });

  test('a recent-files failure never fails the command', async () => {
    const d = deps({
      recordRecent: () => {
        throw new Error('disk full');
      },
    });
    const r = await handleInvoke(d, own, { id: 'r1', command: 'data.preview', payload: { path: '/d/x.npy', model: '/m.onnx' } }, () => {});
    assert.deepEqual(r, { ok: true, result: { command: 'data.preview' } });
  });
});

describe('content security policy', () => {
  test('own scripts only; no plugins, frames, forms or base changes', () => {
    const csp = windowCsp(origin);
    for (const d of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-src 'none'", "connect-src 'self'"]) assert.ok(csp.split('; ').includes(d), d);
    assert.ok(!/unsafe-eval|script-src[^;]*unsafe-inline/.test(csp));
  });

  test('under npm start the page may also reach the dev server (hot reload)', () => {
    const csp = windowCsp(dev);
    assert.ok(csp.includes('connect-src \'self\' http://localhost:5173 ws://localhost:5173'), csp);
  });
});
