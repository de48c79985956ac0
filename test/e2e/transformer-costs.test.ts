/**
 * A transformer of one's own, end to end in a real browser against serve mode: the issue's
 * 6-layer ViT (rows as tokens, d 64, 4 heads, FFN 128, an exit on the CLS token after each
 * layer), exported by torch.onnx.export on the fly. "Open your own model" → inspect → data →
 * inference → Policy lab with its default settings runs every default policy without an
 * error, at the MAC costs and at costs that make exit 1 dear (where a fixed budget of 0.5
 * was refused); the lab says which costs it uses. Compare then draws each run only over the
 * fixed-exit front computed at that run's own costs, and names every run's marker.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { writeNpy } from '../../src/data/npy.js';
import { projectRoot } from '../../src/paths.js';
import { prng } from '../helpers/onnx-builder.js';
import { findPython, makeTorchModels } from '../helpers/python.js';
import { axe, chromiumMissing, launch, openPage, serve, tempDir, type Served, waitForPixels } from './browser.js';

const root = projectRoot();
const uiBuilt = existsSync(join(root, 'dist', 'ui', 'index.html'));
const python = findPython();
const skip = chromiumMissing() || (!uiBuilt && 'the renderer is not built (npm run build)') || ('missing' in python && python.missing);
const SAMPLES = 400;

describe('a transformer of your own: default policies run, and Compare keeps costs apart', { skip, timeout: 300_000 }, () => {
  let dir: string;
  let server: Served;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const shots = join(root, 'test-artifacts', 'screenshots');

  before(async () => {
    dir = tempDir('exit-studio-e2e-vit-');
    makeTorchModels((python as { python: string }).python, dir, ['vit']);
    const rand = prng(5);
    writeNpy(join(dir, 'images.npy'), 'float', [SAMPLES, 28, 28], Float32Array.from({ length: SAMPLES * 784 }, () => rand()));
    writeNpy(join(dir, 'labels.npy'), 'int64', [SAMPLES], Int32Array.from({ length: SAMPLES }, () => Math.floor(rand() * 10)));
    writeNpy(join(dir, 'labels-short.npy'), 'int64', [SAMPLES - 1], new Int32Array(SAMPLES - 1));
    mkdirSync(shots, { recursive: true });
    [server, browser] = await Promise.all([serve(join(dir, 'studio.sqlite')), launch()]);
    page = await openPage(browser, pageErrors);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A locator's text as one line (the costs badge lays its parts out as flex items). */
  const text = async (testId: string): Promise<string> => ((await page.getByTestId(testId).textContent()) ?? '').replace(/\s+/g, ' ').trim();

  /** Runs the lab as it stands and returns its rows; fails on any error or a policy that did not run. */
  async function runLab(): Promise<{ text: string; runIds: number[] }[]> {
    await page.getByTestId('run-policies').click();
    await page.getByTestId('lab-summary').waitFor({ timeout: 180_000 });
    await page.getByTestId('lab-announce').filter({ hasText: /Finished/ }).waitFor();
    assert.equal(await page.locator('[role="alert"]').count(), 0, await page.locator('[role="alert"]').allInnerTexts().then((t) => t.join('\n')));
    assert.equal(await page.getByTestId('lab-failed').count(), 0, 'every default policy ran');
    const rows = page.locator('[data-testid="lab-summary"] tbody tr');
    const out: { text: string; runIds: number[] }[] = [];
    for (const row of await rows.all()) {
      const link = await row.getByRole('link').innerText();
      out.push({ text: await row.innerText(), runIds: [Number(link.replace('#', ''))] });
    }
    return out;
  }

  test('"Open your own model" → inference → Policy lab with its defaults; then again with exit 1 made dear', async () => {
    await page.goto(server.url);
    await page.getByRole('link', { name: 'Open your own model…' }).click();
    await page.getByLabel('Model file (.onnx)').fill(join(dir, 'vit.onnx'));
    await page.getByTestId('inspect').click();
    await page.getByTestId('exits-table').waitFor();
    assert.deepEqual(await page.locator('[data-testid="exits-table"] tbody tr td:nth-child(6)').allInnerTexts(), Array(6).fill('exact'));
    // Each exit's share of the model's MACs: 1,108,736 of 6,398,336 for exit 1 (the hand count).
    assert.equal((await page.locator('[data-testid="exits-table"] tbody tr td:nth-child(7)').allInnerTexts())[0], '0.173');

    await page.getByRole('button', { name: 'Continue: dataset →' }).click();
    await page.getByLabel('Dataset').fill(join(dir, 'images.npy'));
    // Labels that do not fit hold Continue back until the files change and are checked again.
    await page.getByLabel('Labels (optional)').fill(join(dir, 'labels-short.npy'));
    await page.getByTestId('check-data').click();
    await page.getByTestId('data-preview').waitFor();
    const next = page.getByRole('button', { name: 'Continue: inference →' });
    assert.equal(await next.isDisabled(), true, 'Continue stays disabled after a labels error');
    await page.getByLabel('Labels (optional)').fill(join(dir, 'labels.npy'));
    await page.getByTestId('check-data').click();
    await page.getByTestId('data-preview').filter({ hasText: /fits the model's inputs/ }).waitFor();
    assert.equal(await next.isDisabled(), false);
    assert.match(await page.getByTestId('data-layout').innerText(), /The file holds float \[28, 28\] per sample, fed as it is\. Values in the first 8 samples: 0\.\d+ to 0\.9\d*/);
    await page.getByRole('button', { name: 'Continue: inference →' }).click();
    await page.getByTestId('run-inference').click();
    await page.getByTestId('inference-result').waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Policy lab →' }).click();

    // The lab's defaults: UEE-UCB, DEE and EENet, at the trace's own costs (its MACs, said so), EENet's budget left to follow them.
    await page.getByRole('heading', { level: 1, name: 'Policy lab' }).waitFor();
    for (const p of ['uee-ucb', 'dee', 'eenet']) assert.ok(await page.getByTestId(`policy-${p}`).isChecked());
    await page.getByTestId('lab-costs').filter({ hasText: /MACs \(exact\)/ }).waitFor();
    assert.match(await text('lab-costs'), /A run uses: MACs \(exact\) 0\.173 · 0\.339 · 0\.504 · 0\.669 · 0\.835 · 1/);
    const budget = page.locator('#param-eenet-budget');
    assert.equal(await budget.inputValue(), '');
    assert.equal(await budget.getAttribute('placeholder'), 'auto 0.59', 'halfway between exit 1 (0.173) and 1');
    const atMacs = await runLab();
    assert.equal(atMacs.length, 3);
    assert.match(atMacs.map((r) => r.text).join('\n'), /UEE-UCB[\s\S]*DEE[\s\S]*EENet \(budget 0\.59\)/);
    assert.match(await text('results-costs'), /Costs these runs used: MACs \(exact\)/);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { tagName: string } | null } }).document.activeElement?.tagName), 'H2', 'focus moves to the results');
    await page.screenshot({ path: join(shots, '15-lab-vit-macs.png'), fullPage: true });
    assert.deepEqual(await axe(page), [], 'the lab has no serious or critical accessibility violations');

    // Exit 1 at 8/13 of the model: a budget of 0.5 could not be met; the defaults follow the costs.
    await page.getByLabel('Costs per exit').selectOption('numbers');
    await page.getByLabel(/Cumulative cost of each exit/).fill('8, 9, 10, 11, 12, 13');
    await page.getByTestId('lab-costs').filter({ hasText: /your numbers/ }).waitFor();
    assert.match(await text('lab-costs'), /your numbers 0\.615 · 0\.692/);
    assert.equal(await budget.getAttribute('placeholder'), 'auto 0.81');
    const atUser = await runLab();
    assert.match(atUser.map((r) => r.text).join('\n'), /EENet \(budget 0\.81\)/);

    // Compare: a MAC-cost run and a user-cost run, each over the front at its own costs; every marker named.
    const eenetMacs = atMacs[2]!.runIds[0]!;
    const ueeMacs = atMacs[0]!.runIds[0]!;
    const eenetUser = atUser[2]!.runIds[0]!;
    await page.goto(`${server.url.replace(/\?token=.*/, '')}#/compare?ids=${ueeMacs},${eenetMacs},${eenetUser}`);
    await page.getByTestId('compare-table').waitFor();
    await page.getByTestId('costs-differ').waitFor();
    const charts = page.getByTestId('chart-scatter');
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('[data-testid="chart-scatter"] [role="img"][aria-label*="fixed exits"]').length === 2);
    const labels = await charts.locator('[role="img"]').evaluateAll((els) => els.map((e) => (e as unknown as { getAttribute(n: string): string }).getAttribute('aria-label')));
    assert.equal(labels.length, 2, labels.join('\n'));
    const [macs, user] = labels[0]!.includes(`#${eenetUser} `) ? [labels[1]!, labels[0]!] : [labels[0]!, labels[1]!];
    assert.ok(macs.includes(`#${ueeMacs} `) && macs.includes(`#${eenetMacs} `) && !macs.includes(`#${eenetUser} `), macs);
    assert.match(macs, /fixed exits \(at costs 0\.173, 0\.339, 0\.504, 0\.669, 0\.835, 1\.000\)[\s\S]*MACs \(exact\) costs/);
    assert.ok(user.includes(`#${eenetUser} `) && !user.includes(`#${eenetMacs} `), user);
    assert.match(user, /fixed exits \(at costs 0\.615, 0\.692, 0\.769, 0\.846, 0\.923, 1\.000\)[\s\S]*your numbers costs/);
    // Charts redraw at most every 250 ms: wait until both have drawn their fronts before the picture.
    await waitForPixels(page, '[data-testid="chart-scatter"]', 100);
    await page.screenshot({ path: join(shots, '16-compare-two-costs.png'), fullPage: true });
    assert.deepEqual(await axe(page), [], 'Compare has no serious or critical accessibility violations');
  });

  test('no script errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
