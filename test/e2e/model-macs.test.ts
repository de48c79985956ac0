/**
 * The Model screen on a model whose MACs depend on a symbolic sequence length: it says the
 * length was assumed and the counts are estimates, takes the user's length, counts again at
 * it, and stays free of serious accessibility violations. A real browser against serve mode.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { projectRoot } from '../../src/paths.js';
import { buildSeqModel, seqModelMacs } from '../helpers/seq-model.js';
import { axe, chromiumMissing, launch, serve, tempDir, type Served } from './browser.js';

const uiBuilt = existsSync(join(projectRoot(), 'dist', 'ui', 'index.html'));
const skip = chromiumMissing() || (!uiBuilt && 'the renderer is not built (npm run build)');

describe('Model screen: MACs at a sequence length', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let server: Served;
  let browser: BrowserContext;
  let page: Page;

  before(async () => {
    dir = tempDir('exit-studio-e2e-macs-');
    server = await serve(join(dir, 'studio.sqlite'));
    browser = await launch();
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an assumed length is flagged; a given one gives exact counts', async () => {
    const model = join(dir, 'seq-model.onnx');
    writeFileSync(model, buildSeqModel());
    await page.goto(server.url);
    await page.locator('nav').getByRole('link', { name: 'Model', exact: true }).click();
    await page.getByLabel('Model file (.onnx)').fill(model);
    await page.getByTestId('inspect').click();

    const basis = page.getByTestId('macs-basis');
    const countColumn = page.locator('[data-testid="exits-table"] tbody tr td:nth-child(6)');
    const macsColumn = page.locator('[data-testid="exits-table"] tbody tr td:nth-child(5)');
    await basis.waitFor();
    assert.match(await basis.innerText(), /MACs per sample at x \[1, 128, 4\]; seq = 128 \(assumed, so the counts are estimates/);
    assert.deepEqual(await countColumn.allInnerTexts(), ['estimate', 'estimate']);
    assert.deepEqual(await axe(page), [], 'no serious or critical accessibility violations');
    const shots = join(projectRoot(), 'test-artifacts', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, '02b-model-macs-assumed.png'), fullPage: true });

    await page.getByLabel('Value of input dim seq for the MAC count').fill('9');
    await page.getByRole('button', { name: 'Count MACs again' }).click();
    await page.getByText('seq = 9 (as given)').waitFor();
    assert.deepEqual(await countColumn.allInnerTexts(), ['exact', 'exact']);
    assert.deepEqual(await macsColumn.allInnerTexts(), seqModelMacs(9).map(String));
  });
});
