/**
 * The studio end to end, as a user drives it in a browser: `exit-studio
 * serve` on a free port with a fresh database, Debian's Chromium through
 * playwright-core. Opens the sample, runs inference, runs UEE-UCB, DEE and
 * EENet side by side, compares and renames runs, exports the policy JSON,
 * runs CeeBERT with values set in its generated form; checks every chart
 * drew data (pixels), runs axe-core on every screen, and saves a screenshot
 * of each under test-artifacts/screenshots/.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { projectRoot } from '../../src/paths.js';
import { axe, canvasPixels, chromiumMissing, launch, serve, tempDir, waitForPixels, type Served } from './browser.js';
import { fixture, type Fixture } from './fixture.js';

const root = projectRoot();
const shots = join(root, 'test-artifacts', 'screenshots');
const uiBuilt = existsSync(join(root, 'dist', 'ui', 'index.html'));
const skip = chromiumMissing() || (!uiBuilt && 'the renderer is not built (npm run build)');

describe('studio in a browser (serve mode)', { skip, timeout: 240_000 }, () => {
  let dir: string;
  let server: Served;
  let browser: BrowserContext;
  let page: Page;
  let files: Fixture;
  const pageErrors: string[] = [];
  const a11y: Record<string, string[]> = {};

  before(async () => {
    dir = tempDir('exit-studio-e2e-');
    files = fixture(join(dir, 'fixture'));
    mkdirSync(shots, { recursive: true });
    server = await serve(join(dir, 'studio.sqlite'));
    browser = await launch();
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const nav = (name: string) => page.locator('nav').getByRole('link', { name, exact: true });

  // The steps build on each other: after one fails, the rest skip instead of timing out one by one.
  let broken = '';
  function step(name: string, fn: () => Promise<void> | void): void {
    test(name, async (t) => {
      if (broken) return t.skip(`an earlier step failed: ${broken}`);
      try {
        await fn();
      } catch (e) {
        broken = name;
        throw e;
      }
    });
  }

  async function screen(name: string): Promise<void> {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    const bad = await axe(page);
    a11y[name] = bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }

  async function drewData(testId: string): Promise<void> {
    await page.locator(`[data-testid="${testId}"] canvas`).first().waitFor({ timeout: 20_000 });
    // Charts redraw at most every 250 ms: wait until every canvas shows its data (a blank one fails after 20 s).
    await waitForPixels(page, `[data-testid="${testId}"]`, 100);
  }

  test('the page needs the token', async () => {
    const bare = server.url.replace(/\?token=.*/, '');
    const r = await fetch(bare);
    assert.equal(r.status, 401);
  });

  step('home, then the model screen inspects the sample', async () => {
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Exit Studio' }).waitFor();
    assert.ok(!page.url().includes('token='), 'the token is dropped from the address bar');
    await screen('01-home');

    await nav('Model').click();
    if (files.sample) await page.getByTestId('use-sample').click();
    else {
      await page.getByLabel('Model file (.onnx)').fill(files.model);
      await page.getByTestId('inspect').click();
    }
    await page.getByTestId('exits-table').waitFor({ timeout: 30_000 });
    const rows = await page.locator('[data-testid="exits-table"] tbody tr').count();
    assert.ok(rows >= 2, `expected two or more exits, got ${rows}`);
    // How the MACs were counted: the input shapes, and per exit whether the count is exact.
    assert.match(await page.getByTestId('macs-basis').innerText(), /^MACs per sample at \S+ \[1, [\d, ]+\]/);
    const counts = await page.locator('[data-testid="exits-table"] tbody tr td:nth-child(6)').allInnerTexts();
    assert.deepEqual(counts, counts.map(() => 'exact'));
    await drewData('chart-macs');
    await screen('02-model');
  });

  step('dataset screen takes the data and labels', async () => {
    await nav('Dataset').click();
    await page.getByLabel('Dataset').fill(files.data);
    await page.getByLabel('Labels (optional)').fill(files.labels);
    await page.getByTestId('check-data').click();
    const preview = page.getByTestId('data-preview');
    await preview.waitFor({ timeout: 30_000 });
    assert.match(await preview.innerText(), /fits the model's inputs/);
    // What the file holds per sample, what the model gets, and the range of the values.
    assert.match(await page.getByTestId('data-layout').first().innerText(), /The file holds \w+ \[[\d, ]+\] per sample.*Values in the first \d+ samples: -?[\d.]+ to [\d.]+\./);
    if (files.sample) {
      // Image-shaped inputs get thumbnails of the first samples.
      const px = await canvasPixels(page, '[data-testid="data-preview"]', 'varied');
      assert.ok(px.length >= 4 && px.every((n) => n > 50), `thumbnails look blank: ${px.join(', ')}`);
    }
    await screen('03-dataset');
  });

  step('inference runs with progress and makes a trace', async () => {
    await nav('Inference').click();
    await page.locator('#ep option').first().waitFor({ state: 'attached' });
    await page.getByLabel('Batch').fill('128');
    await page.getByTestId('run-inference').click();
    await page.getByTestId('inference-result').waitFor({ timeout: 120_000 });
    const text = await page.getByTestId('inference-result').innerText();
    assert.match(text, /samples × \d+ exits/);
    // The thread count and why, and what the latency profile measured.
    assert.match(text, /\d+ threads?: /);
    assert.match(await page.getByTestId('latency-summary').innerText(), /median of \d+ timed batches of 128/);
    await screen('04-inference');
    // The model screen now shows the measured latency profile, with its spread and how it was timed.
    await nav('Model').click();
    await drewData('chart-latency');
    await drewData('chart-cost-models');
    assert.match(await page.getByTestId('latency-how').innerText(), /Median and interquartile range of \d+ timed passes at batch 128, timed as the \d+ stages a deployment runs, on the inference’s own batches/);
    await screen('04b-model-latency');
  });

  step('trace screen draws its diagnostics', async () => {
    // The nav's Trace link carries the new trace's id.
    await nav('Trace').click();
    await page.getByRole('heading', { level: 1, name: 'Trace' }).waitFor();
    await drewData('chart-per-exit');
    await drewData('chart-pareto');
    await drewData('chart-confidence');
    await drewData('chart-dominance');
    await screen('05-trace');
  });

  step('policy lab runs UEE-UCB, DEE and EENet side by side', async () => {
    await page.getByTestId('to-lab').click();
    for (const p of ['uee-ucb', 'dee', 'eenet']) assert.ok(await page.getByTestId(`policy-${p}`).isChecked(), `${p} is ticked by default`);
    await page.getByLabel('Seeds (same for every policy)').fill('3');
    await page.getByTestId('run-policies').click();
    await page.getByTestId('lab-summary').waitFor({ timeout: 150_000 });
    const rows = await page.locator('[data-testid="lab-summary"] tbody tr').allInnerTexts();
    assert.equal(rows.length, 3, rows.join('\n'));
    // One spelling everywhere: the policies' titles, EENet with the budget it ran at (halfway between exit 1 and 1).
    assert.match(rows.join('\n'), /UEE-UCB/);
    assert.match(rows.join('\n'), /DEE/);
    assert.match(rows.join('\n'), /EENet \(budget 0\.\d+\)/);
    for (const id of ['chart-regret', 'chart-quality', 'chart-cost', 'chart-mix']) await drewData(id);
    // DEE's regret is against its own rule, in its own units: a chart of its own beside UEE-UCB's and EENet's.
    const regretTitles = await page.locator('[data-testid="chart-regret"]').allInnerTexts();
    assert.equal(regretTitles.length, 2, regretTitles.join(' | '));
    assert.match(regretTitles.join(' | '), /DEE vs its best per-bin rule/);
    // EENet fits on data, so the whole run is held out, and every chart and row says so.
    const notes = await page.locator('[data-testid="chart-note"]').allInnerTexts();
    assert.ok(notes.length >= 4, notes.join(' | '));
    for (const n of notes) assert.match(n, /held-out · [\d,]+ of [\d,]+ samples/);
    const label = notes.find((n) => n.startsWith('held-out'))!;
    const badges = await page.locator('[data-testid="lab-summary"] [data-testid="evaluation-badge"]').allInnerTexts();
    assert.deepEqual(badges, [label, label, label]);
    await screen('06-policy-lab');
  });

  step('compare overlays the runs and marks the best per metric', async () => {
    await page.getByTestId('to-compare').click();
    await page.getByTestId('compare-table').waitFor({ timeout: 30_000 });
    assert.ok((await page.locator('[data-testid="compare-table"] td.best').count()) >= 1, 'a best value is marked');
    // UEE-UCB, DEE and EENet: DEE's regret is on another scale, so regret is not ranked, and drawn on two charts.
    await page.getByTestId('regret-not-ranked').waitFor();
    assert.equal(await page.locator('[data-testid="chart-compare-regret"]').count(), 2);
    for (const id of ['chart-scatter', 'chart-compare-regret', 'chart-compare-quality', 'chart-compare-cost']) await drewData(id);
    await screen('07-compare');
  });

  step('runs table renames, tags and deletes with confirmation', async () => {
    await nav('Runs').click();
    await page.getByTestId('runs-table').waitFor();
    const before = await page.locator('[data-testid="runs-table"] tbody tr').count();
    assert.equal(before, 3);
    const first = page.locator('[data-testid="runs-table"] tbody tr').first();
    await first.getByRole('button', { name: /Rename \/ tag run/ }).click();
    await first.locator('input[id^="name-"]').fill('my favourite');
    await first.locator('input[id^="tags-"]').fill('keep, paper');
    await first.getByRole('button', { name: 'Save' }).click();
    await page.getByText('my favourite').waitFor();
    await page.locator('.tag', { hasText: 'paper' }).first().waitFor();
    await screen('08-runs');
    // Delete asks first; "Keep" leaves it.
    const last = page.locator('[data-testid="runs-table"] tbody tr').last();
    await last.getByRole('button', { name: /Delete run/ }).click();
    await last.getByRole('button', { name: 'Keep' }).click();
    assert.equal(await page.locator('[data-testid="runs-table"] tbody tr').count(), 3);
  });

  step('export previews the policy JSON and saves it to a file', async () => {
    const first = page.locator('[data-testid="runs-table"] tbody tr').first();
    await first.getByRole('link', { name: 'Export' }).click();
    await page.getByTestId('policy-json').waitFor({ timeout: 20_000 });
    const preview = JSON.parse(await page.getByTestId('policy-json').innerText()) as {
      format: string; version: number; exits: { name: string; cost: number }[]; policy: { spec: string }; decision: { kind: string }; metrics: { avgCost: number };
    };
    assert.equal(preview.format, 'exit-studio/exit-policy');
    assert.equal(preview.version, 2);
    assert.equal((preview as unknown as { evaluation: { mode: string } }).evaluation.mode, 'held-out');
    assert.match(await page.getByTestId('export-estimates').innerText(), /^held-out · .* at mean cost [\d.]+ \(95 %: [\d.]+–[\d.]+\), over 3 seeds\.$/s);
    assert.equal(preview.exits.length, files.sample ? 4 : preview.exits.length);
    assert.equal(preview.exits.at(-1)!.cost, 1);
    // Runs lists newest first: the first row is the EENet run, at the budget its costs gave it.
    assert.match(preview.policy.spec, /^eenet:0\.\d+$/);
    assert.ok(['fixed', 'thresholds', 'eenet'].includes(preview.decision.kind), preview.decision.kind);
    assert.ok(preview.metrics.avgCost > 0 && preview.metrics.avgCost <= 1);
    const out = join(dir, 'policy.json');
    await page.getByLabel("Save to (path on the studio's machine)").fill(out);
    await page.getByTestId('save-policy').click();
    await page.getByTestId('saved-path').waitFor();
    const saved = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    // The file is the previewed policy (written a moment later: only its time stamp differs).
    assert.deepEqual({ ...saved, createdAt: null }, { ...preview, createdAt: null });
    // The screen says what the file holds: the policy's own parameters, the seed its rule came from, the costs.
    const about = (await page.getByTestId('export-about').textContent())!.replace(/\s+/g, ' ');
    assert.match(about, /its parameters: budget 0\.\d+, warmup 0/);
    assert.match(about, /learned on seed 1 \(the run replayed seeds 1–3; its metrics are means over those 3 seeds\)/);
    assert.match(about, /Used: MACs \(exact\)/);
    await screen('09-export');
    // Saving onto an existing file asks first, and the file stays as it was until the user says replace.
    writeFileSync(out, 'an earlier file');
    await page.getByTestId('save-policy').click();
    await page.getByTestId('replace-file').waitFor();
    assert.equal(readFileSync(out, 'utf8'), 'an earlier file');
    await page.getByTestId('replace-file').click();
    await page.getByTestId('saved-path').waitFor();
    assert.equal((JSON.parse(readFileSync(out, 'utf8')) as { format: string }).format, 'exit-studio/exit-policy');
  });

  step('a saved run reopens in the Policy lab with the settings it ran with', async () => {
    await nav('Runs').click();
    const row = page.locator('[data-testid="runs-table"] tbody tr').nth(1);
    const id = (await row.locator('td').nth(1).innerText()).match(/#(\d+)/)![1]!;
    await row.getByRole('link', { name: `Open in lab: run ${id}` }).click();
    await page.getByRole('heading', { level: 1, name: 'Policy lab' }).waitFor();
    // The lab held the three runs just made: it shows the reopened one alone once it has loaded.
    await page.waitForFunction(
      (want) => {
        const rows = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> } }).document.querySelectorAll('[data-testid="lab-summary"] tbody tr');
        return rows.length === 1 && (rows[0]!.textContent ?? '').includes(want);
      },
      `#${id}`,
    );
    assert.equal(await page.getByLabel('Seeds (same for every policy)').inputValue(), '3');
    await drewData('chart-cost');
  });

  step('deleting a run asks, then removes it', async () => {
    await nav('Runs').click();
    await page.getByTestId('runs-table').waitFor();
    const last = page.locator('[data-testid="runs-table"] tbody tr').last();
    await last.getByRole('button', { name: /Delete run/ }).click();
    await page.getByTestId('confirm-delete').click();
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('[data-testid="runs-table"] tbody tr').length === 2);
  });

  step('an interrupted job is listed on Home and runs again from there', async () => {
    // What a killed import leaves (test/robustness/crash.test.ts kills one for real): an
    // 'interrupted' row holding the request that started it.
    const tsv = join(dir, 'interrupted.tsv');
    writeFileSync(tsv, 'a\tb\tlabel\n0\t1\t1\n1\t1\t1\n0\t0\t0\n');
    const db = new Database(join(dir, 'studio.sqlite'));
    db.prepare(
      `INSERT INTO traces (name, source, status, samples, classes, exits_json, costs_json, cost_source, has_confidence, has_probs, has_labels, created_at, request_json)
       VALUES ('interrupted.tsv', 'import', 'interrupted', 0, 0, '[]', '[]', 'uniform', 0, 0, 0, ?, ?)`,
    ).run(new Date().toISOString(), JSON.stringify({ command: 'trace.import', payload: { path: tsv } }));
    db.close();
    await nav('Home').click();
    const box = page.getByTestId('interrupted');
    await box.waitFor({ timeout: 20_000 });
    await screen('13-interrupted');
    await box.getByRole('button', { name: /Run again: trace #\d+/ }).click();
    await page.getByRole('heading', { name: 'Trace', exact: true }).waitFor({ timeout: 30_000 });
    await page.getByText('3 samples × 2 exits').first().waitFor({ timeout: 20_000 });
  });

  step('"Open the sample" puts a newcomer on a finished comparison in one click', async () => {
    await nav('Home').click();
    const t0 = Date.now();
    await page.getByTestId('open-sample').click();
    await page.getByTestId('lab-summary').waitFor({ timeout: 60_000 });
    assert.ok(Date.now() - t0 < 60_000, 'within a minute');
    const rows = await page.locator('[data-testid="lab-summary"] tbody tr').allInnerTexts();
    assert.equal(rows.length, 3, rows.join('\n'));
    await drewData('chart-training');
    await screen('10-open-the-sample');
  });

  step('dark theme follows the OS', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    // The theme switches when the page sees the media change: wait for the dark background, not for a time.
    const body = (): string => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } }).getComputedStyle((globalThis as unknown as { document: { body: unknown } }).document.body).backgroundColor;
    await page.waitForFunction(`(${body.toString()})() === 'rgb(13, 17, 23)'`, undefined, { timeout: 10_000 }).catch(async () => assert.fail(`the background stayed ${await page.evaluate(body)}`));
    await drewData('chart-regret');
    await screen('11-policy-lab-dark');
    await nav('Trace').click();
    await drewData('chart-pareto');
    await screen('12-trace-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  step('CeeBERT runs from the studio, with values set in the form its schema generates', async () => {
    await nav('Policy lab').click();
    await page.getByRole('heading', { level: 1, name: 'Policy lab' }).waitFor();
    for (const p of ['uee-ucb', 'dee', 'eenet']) await page.getByTestId(`policy-${p}`).uncheck();
    await page.getByTestId('policy-ceebert').check();
    const form = page.getByTestId('params-ceebert');
    await form.locator('summary').click();
    await form.getByLabel('c (exploration)').fill('1');
    await form.getByLabel('Side information').selectOption('order');
    await page.getByLabel('Seeds (same for every policy)').fill('3');
    await page.getByLabel('λ (cost weight)').fill('0.3');
    await screen('14-ceebert-form');
    await page.getByTestId('run-policies').click();
    const row = page.locator('[data-testid="lab-summary"] tbody tr', { hasText: 'CeeBERT' });
    await row.waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('[data-testid="lab-summary"] tbody tr').count(), 1);
    assert.match(await row.innerText(), /maxProb ≥ 0\.\d+, one threshold shared by every exit but the last/);
    await drewData('chart-regret');
    // The run went with the form's values: its exported policy names them, and the threshold it settled on.
    await row.getByRole('link').click();
    await page.getByTestId('policy-json').waitFor({ timeout: 20_000 });
    const file = JSON.parse(await page.getByTestId('policy-json').innerText()) as { policy: { spec: string; params: Record<string, unknown> }; lambda: number; decision: { kind: string; threshold: number } };
    assert.equal(file.policy.spec, 'ceebert');
    assert.deepEqual(file.policy.params, { c: 1, update: 'order' });
    assert.equal(file.lambda, 0.3);
    assert.equal(file.decision.kind, 'thresholds');
    assert.ok([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95].includes(file.decision.threshold), String(file.decision.threshold));
  });

  step('a run waits in line while two jobs hold the engine, says so, and runs once one ends', async () => {
    // Two long replays sent over HTTP (as a script would) take serve's two job slots.
    const base = new URL(server.url);
    const api = (path: string, body: unknown): Promise<Response> =>
      fetch(`${base.origin}${path}?token=${base.searchParams.get('token')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // EENet fits a scorer per seed: 200 of them hold a slot far longer than this step needs.
    const traces = (await (await api('/api/invoke', { command: 'trace.list', payload: {} })).json()) as { result: { id: number; hasProbs: boolean }[] };
    const traceId = traces.result.filter((t) => t.hasProbs).at(-1)!.id;
    const holders = ['hold-1', 'hold-2'].map((requestId) => api('/api/invoke', { command: 'policy.run', requestId, payload: { traceId, policies: ['eenet:0.5'], seeds: 200 } }));
    // Both hold their slot once their runs are stored as running.
    const db = new Database(join(dir, 'studio.sqlite'), { readonly: true });
    try {
      const deadline = Date.now() + 30_000;
      while ((db.prepare(`SELECT COUNT(*) FROM runs WHERE status = 'running'`).pluck().get() as number) < 2) {
        assert.ok(Date.now() < deadline, 'the two replays did not start within 30 s');
        await new Promise((ok) => setTimeout(ok, 50));
      }
    } finally {
      db.close();
    }
    await nav('Policy lab').click();
    await page.getByRole('heading', { level: 1, name: 'Policy lab' }).waitFor();
    // CeeBERT alone: the run in line, told apart from the lab's earlier results by its row.
    for (const id of ['uee-ucb', 'dee', 'eenet']) await page.getByTestId(`policy-${id}`).uncheck();
    await page.getByTestId('policy-ceebert').check();
    await page.getByTestId('run-policies').click();
    const queued = page.getByTestId('queued');
    await queued.waitFor({ timeout: 20_000 });
    assert.match(await queued.innerText(), /Queued: next in line/);
    await screen('16-queued');
    await api('/api/cancel', { requestId: 'hold-1' });
    await queued.waitFor({ state: 'detached', timeout: 20_000 });
    await api('/api/cancel', { requestId: 'hold-2' });
    for (const r of await Promise.all(holders)) assert.equal(((await r.json()) as { error?: { kind: string } }).error?.kind, 'cancelled');
    await page.locator('[data-testid="lab-summary"] tbody tr', { hasText: 'CeeBERT' }).waitFor({ timeout: 60_000 });
  });

  step('the lab runs a fitted policy in-sample when asked, marked hindsight; Compare refuses to rank it with held-out runs', async () => {
    await nav('Policy lab').click();
    await page.getByTestId('policy-ceebert').uncheck();
    await page.getByTestId('policy-maxprob@budget').check();
    await page.getByLabel('How figures are obtained').selectOption('in-sample');
    await page.getByTestId('run-policies').click();
    const row = page.locator('[data-testid="lab-summary"] tbody tr', { hasText: 'Max-probability at a budget' });
    await row.waitFor({ timeout: 60_000 });
    assert.equal(await row.getByTestId('evaluation-badge').innerText(), 'in-sample (hindsight)');
    assert.match((await page.locator('[data-testid="chart-quality"]').innerText()), /in-sample/);
    // A saved chart carries the note drawn into it (and the page shows no script error doing so).
    const [png] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="chart-quality"]').getByRole('button', { name: 'Save PNG' }).click()]);
    assert.equal(png.suggestedFilename(), 'lab-quality.png');
    // Compare it with a held-out EENet run of the same trace: shown, not ranked.
    await nav('Runs').click();
    await page.getByTestId('runs-table').waitFor();
    // Runs lists newest first: the in-sample maxprob@budget run just made, and the EENet run held out earlier.
    for (const [policy, evaluated] of [['maxprob@budget', 'in-sample'], ['eenet', 'held-out']]) {
      const r = page.locator('[data-testid="runs-table"] tbody tr', { hasText: policy }).filter({ hasText: evaluated }).first();
      await r.getByRole('checkbox').check();
    }
    await page.getByTestId('compare-picked').click();
    await page.getByTestId('compare-table').waitFor({ timeout: 30_000 });
    const shown = await page.locator('[data-testid="compare-table"] [data-testid="evaluation-badge"]').allInnerTexts();
    assert.equal(shown.length, 2);
    assert.ok(shown.includes('in-sample (hindsight)') && shown.some((b) => b.startsWith('held-out')), shown.join(' | '));
    await page.getByTestId('samples-not-ranked').waitFor();
    assert.equal(await page.locator('[data-testid="compare-table"] td.best').count(), 0, 'nothing ranked');
    await drewData('chart-scatter');
    await screen('15-compare-not-ranked');
  });

  step('on a trace without class scores, EENet does not run and its row says how to record one; UEE-UCB runs beside it', async () => {
    // A prediction matrix (hard predictions, no scores), imported over HTTP as a script would.
    const matrix = join(dir, 'hard-predictions.tsv');
    writeFileSync(matrix, ['e1\te2\te3\tlabel', ...Array.from({ length: 60 }, (_, i) => `${i % 3}\t${i % 4}\t${i % 5}\t${i % 5}`)].join('\n') + '\n');
    const base = new URL(server.url);
    const imported = (await (
      await fetch(`${base.origin}/api/invoke?token=${base.searchParams.get('token')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: 'trace.import', payload: { path: matrix, labelColumn: 'label' } }) })
    ).json()) as { result: { traceId: number } };
    await nav('Policy lab').click();
    await page.getByLabel('Trace', { exact: true }).selectOption(String(imported.result.traceId));
    for (const p of ['uee-ucb', 'eenet']) await page.getByTestId(`policy-${p}`).check();
    for (const p of ['dee', 'ceebert', 'maxprob@budget']) await page.getByTestId(`policy-${p}`).uncheck();
    await page.getByTestId('run-policies').click();
    const refused = page.getByTestId('lab-failed');
    await refused.waitFor({ timeout: 60_000 });
    assert.match(await refused.innerText(), /Did not run: EENet needs probability vectors; .*Record the trace again with “Keep probability vectors” ticked \(Inference\)\./);
    await page.locator('[data-testid="lab-summary"] tbody tr', { hasText: 'UEE-UCB' }).waitFor();
  });

  test('no serious or critical accessibility violations on any screen', () => {
    const all = Object.entries(a11y).flatMap(([name, v]) => v.map((x) => `${name}: ${x}`));
    assert.deepEqual(all, []);
  });

  test('no script errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });

  // Refreshing the README's pictures is asked for (npm run screenshots), never a side effect of a test run.
  test('README screenshots are refreshed from this run', { skip: process.env.EXIT_STUDIO_SCREENSHOTS ? false : 'set EXIT_STUDIO_SCREENSHOTS=1 (npm run screenshots)' }, () => {
    const docs = join(root, 'docs', 'screenshots');
    mkdirSync(docs, { recursive: true });
    for (const name of ['01-home', '03-dataset', '06-policy-lab', '07-compare', '05-trace', '11-policy-lab-dark']) {
      const from = join(shots, `${name}.png`);
      assert.ok(existsSync(from), `${from} was not taken`);
      copyFileSync(from, join(docs, `${name}.png`));
    }
  });
});
