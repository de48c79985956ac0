/**
 * The desktop app itself, launched with Playwright's Electron support: the
 * window opens, "Open the sample" runs the sample's comparison through the
 * engine's utility process, the Policy lab draws its chart, and quitting
 * closes the database cleanly.
 *
 * It needs Electron's binary, which `npm ci` does not fetch (`npm start` or
 * `npm run setup:electron` does); without it the test skips, saying so in one
 * line. It runs a private copy of the app whose better-sqlite3 is rebuilt for
 * Electron (as `npm start` and `npm run dist` rebuild it), so the project's
 * own node_modules stay built for Node and the rest of the suite is not
 * disturbed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { _electron, type ElectronApplication } from 'playwright-core';
import { projectRoot } from '../../src/paths.js';
import { canvasPixels } from '../e2e/browser.js';

const root = projectRoot();
const require = createRequire(import.meta.url);
const electronDir = dirname(require.resolve('electron/package.json'));
const electronVersion = (JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')) as { version: string }).version;

/** Electron's executable when its installer has put it in place, else why not. */
function electronBinary(): { path: string } | { missing: string } {
  const pathFile = join(electronDir, 'path.txt');
  if (!existsSync(pathFile)) return { missing: `Electron's binary is not installed (npm ci leaves it out; \`npm run setup:electron\` fetches it), so the desktop smoke test is skipped` };
  const path = join(electronDir, 'dist', readFileSync(pathFile, 'utf8'));
  return existsSync(path) ? { path } : { missing: `Electron's binary is missing at ${path} (\`npm run setup:electron\` fetches it), so the desktop smoke test is skipped` };
}

/** A display for the window: the session's own, or a private Xvfb; undefined when there is neither. */
async function display(cleanup: (() => void)[]): Promise<string | undefined> {
  if (process.platform !== 'linux' || process.env.DISPLAY) return process.env.DISPLAY ?? '';
  if (!existsSync('/usr/bin/Xvfb')) return undefined;
  const n = 90 + Math.floor(Math.random() * 400);
  const xvfb: ChildProcess = spawn('/usr/bin/Xvfb', [`:${n}`, '-screen', '0', '1400x1000x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  cleanup.push(() => xvfb.kill());
  await new Promise((ok) => setTimeout(ok, 1000));
  return `:${n}`;
}

/**
 * The app as `npm run build:desktop` makes it, in a folder of its own: the
 * bundles, the compiled engine and renderer, the sample, and node_modules
 * linked to the project's but for better-sqlite3, copied and rebuilt for
 * Electron's ABI with @electron/rebuild (what Forge and electron-builder use).
 */
async function privateApp(dir: string): Promise<string> {
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  for (const config of ['vite.main.config.ts', 'vite.preload.config.ts']) {
    const r = spawnSync(process.execPath, [vite, 'build', '--config', config, '--logLevel', 'warn'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const app = join(dir, 'app');
  mkdirSync(app);
  cpSync(join(root, 'package.json'), join(app, 'package.json'));
  for (const d of ['.vite/build', 'dist/src', 'dist/ui', 'resources/sample']) cpSync(join(root, d), join(app, d), { recursive: true });
  const modules = join(app, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name === 'better-sqlite3') continue;
    symlinkSync(join(root, 'node_modules', name), join(modules, name), 'junction');
  }
  cpSync(join(root, 'node_modules', 'better-sqlite3'), join(modules, 'better-sqlite3'), { recursive: true, filter: (src) => !src.includes(`${join('better-sqlite3', 'build')}`) });
  const { rebuild } = await import('@electron/rebuild');
  try {
    await rebuild({ buildPath: app, electronVersion, onlyModules: ['better-sqlite3'], force: true });
  } catch (e) {
    assert.fail(`better-sqlite3 could not be rebuilt for Electron ${electronVersion} (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); it needs Electron's headers or a prebuilt module from the network, as \`npm start\` does`);
  }
  return app;
}

const cleanup: (() => void)[] = [];
after(() => {
  for (const c of cleanup.reverse()) c();
});

test('the desktop window opens the sample and draws its chart, with the engine in its own process', { timeout: 600_000 }, async (t) => {
  const binary = electronBinary();
  if ('missing' in binary) return t.skip(binary.missing);
  const screen = await display(cleanup);
  if (screen === undefined) return t.skip('no display for the window (DISPLAY is unset and Xvfb is not installed), so the desktop smoke test is skipped');

  const dir = mkdtempSync(join(tmpdir(), 'es-electron-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const app = await privateApp(dir);
  const db = join(dir, 'studio.sqlite');
  const args = [app];
  // Chromium refuses to run as root with its sandbox (CI containers).
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  const env: Record<string, string> = { ...(process.env as Record<string, string>), EXIT_STUDIO_DB: db, XDG_CONFIG_HOME: join(dir, 'config') };
  if (screen) env.DISPLAY = screen;
  const electron: ElectronApplication = await _electron.launch({ executablePath: binary.path, args, env, cwd: dir, timeout: 60_000 });
  cleanup.push(() => void electron.close().catch(() => {}));

  const page = await electron.firstWindow();
  await page.getByTestId('open-sample').click({ timeout: 60_000 });
  await page.getByTestId('lab-summary').waitFor({ timeout: 120_000 });
  await page.locator('[data-testid="chart-training"] canvas').first().waitFor({ timeout: 30_000 });
  // Charts redraw at most every 250 ms: give the last update time to land.
  await page.waitForTimeout(400);
  const pixels = await canvasPixels(page, '[data-testid="chart-training"]');
  assert.ok(pixels.length > 0, 'the Policy lab has a chart');
  for (const [i, n] of pixels.entries()) assert.ok(n > 100, `chart #${i} looks blank (${n} coloured pixels)`);

  // The work ran in the engine's utility process, not in the main process.
  const processes = await electron.evaluate(({ app: a }) => a.getAppMetrics().map((m) => `${m.type}:${m.name ?? ''}`));
  assert.ok(processes.includes('Utility:Exit Studio engine'), processes.join(', '));

  await electron.close();
  // Quitting waited for the engine to close the database: its WAL was folded back.
  assert.ok(existsSync(db), 'the sample was stored');
  assert.equal(existsSync(`${db}-wal`), false, 'the database was closed cleanly at quit');
});
