/**
 * Helpers for the end-to-end tests: start `exit-studio serve` as a user
 * would, and Debian's Chromium through playwright-core (never a downloaded
 * browser), plus the pixel and accessibility checks the tests share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { projectRoot } from '../../src/paths.js';

export const CHROMIUM = process.env.EXIT_STUDIO_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;
}

export interface Served {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Runs `exit-studio serve --port 0 --db DB` and waits for the URL it prints. */
export async function serve(db: string): Promise<Served> {
  const bin = join(projectRoot(), 'bin', 'exit-studio.js');
  const proc = spawn(process.execPath, [bin, 'serve', '--port', '0', '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    const t = setTimeout(() => fail(new Error(`serve printed no URL in 20 s; stderr: ${err}`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/.exec(out);
      if (m) {
        clearTimeout(t);
        ok(m[0]);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(t);
      fail(new Error(`serve exited with ${code}: ${err}`));
    });
  });
  return {
    url,
    proc,
    stop: () =>
      new Promise<void>((ok) => {
        if (proc.exitCode !== null) return ok();
        proc.once('exit', () => ok());
        proc.kill('SIGINT');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export async function launch(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'exit-studio-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 900 },
    acceptDownloads: true,
  });
}

/** A page on a fresh browser, collecting the page's script errors and console errors. */
export async function openPage(browser: BrowserContext, errors: string[]): Promise<Page> {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return page;
}

const require = createRequire(import.meta.url);

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core injected into the page; returns the serious and critical violations. */
export async function axe(page: Page): Promise<AxeViolation[]> {
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const v = await page.evaluate(async () => {
    const g = globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> }; document: unknown };
    const r = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return r.violations.map((x) => ({ id: x.id, impact: x.impact, help: x.help, nodes: x.nodes.map((n) => ({ target: n.target })) }));
  });
  return v.filter((x) => x.impact === 'serious' || x.impact === 'critical');
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Per canvas under `selector`, how many pixels carry drawing: 'colour' counts
 * saturated pixels (chart lines and bars, not grey grid or text), 'varied'
 * counts pixels that differ from the first one (greyscale pictures too).
 * A blank canvas counts 0 either way.
 */
export async function canvasPixels(page: Page, selector: string, mode: 'colour' | 'varied' = 'colour'): Promise<number[]> {
  // The callback runs in the page; minimal shapes stand in for DOM types (the engine's tsconfig has no DOM lib).
  interface Canvas {
    width: number;
    height: number;
    getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
  }
  return page.$$eval(
    `${selector} canvas`,
    (canvases, m) =>
      (canvases as unknown as Canvas[]).map((c) => {
        const ctx = c.getContext('2d');
        if (!ctx || c.width === 0 || c.height === 0) return 0;
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
          const r = d[i]!;
          const g = d[i + 1]!;
          const b = d[i + 2]!;
          if (m === 'colour' ? Math.max(r, g, b) - Math.min(r, g, b) > 60 : r !== d[0] || g !== d[1] || b !== d[2]) n++;
        }
        return n;
      }),
    mode,
  );
}

/**
 * Waits until every canvas under `selector` has more than `min` coloured pixels (a chart has drawn its
 * data, not only its frame), polling; fails after `timeoutMs` with the last counts.
 */
export async function waitForPixels(page: Page, selector: string, min = 100, timeoutMs = 20_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const px = await canvasPixels(page, selector);
    if (px.length > 0 && px.every((n) => n > min)) return px;
    if (Date.now() > deadline) throw new Error(`${selector}: no chart drew its data within ${timeoutMs / 1000} s (coloured pixels per canvas: ${px.join(', ') || 'no canvas'})`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}
