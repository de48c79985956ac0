/**
 * Electron security lint: Electronegativity (Doyensec) over the project's own
 * sources reports no high or medium finding.
 *
 * The scan runs in a child process on a staged copy of the sources: build
 * output, node_modules and data are left out, and files the scanner would
 * skip by extension are renamed so it reads them (the sandboxed preload is a
 * .cts, Svelte components keep their code in <script> blocks). The scanner
 * fetches updated translations from the network on start; the child stubs
 * that request out so the test never leaves the machine and uses the bundled
 * English messages.
 *
 * A second scan of a deliberately insecure canary proves the scanner really
 * runs and reports (a passing scan of nothing would prove nothing).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { permissionAllowed, type AppOrigin } from '../../electron/bridge.js';
import { projectRoot } from '../../src/paths.js';

interface Finding {
  id: string;
  file: string;
  line: number;
  column: number;
  severity: string;
  confidence: string;
  manualReview: boolean;
  description: string;
}

interface ScanResult {
  atomicChecks: number;
  globalChecks: number;
  files: number;
  errors: { file: string; message: string; tolerable: boolean }[];
  issues: Finding[];
}

/** Folders never scanned: build output, installed packages, data and generated artifacts. */
const SKIP_DIRS = new Set(['node_modules', 'dist', 'out', 'release', '.vite', 'test-artifacts', 'resources', 'docs', 'shared']);

/** How a source file is staged for the scanner (which reads .js/.jsx/.ts/.tsx/.html/.htm and package files only). */
function stagedName(name: string): string | undefined {
  if (/\.(ts|tsx|js|jsx|html|htm)$/.test(name)) return name;
  if (/\.(cts|mts)$/.test(name)) return `${name}.ts`;
  if (/\.(cjs|mjs)$/.test(name)) return `${name}.js`;
  if (name.endsWith('.svelte')) return `${name}.ts`;
  return undefined;
}

/** The code of a Svelte component: its <script> blocks, padded so line numbers match the component's. */
function svelteScript(text: string): string {
  const lines = text.split('\n').map(() => '');
  const re = /<script\b[^>]*>([\s\S]*?)<\/script>/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = text.slice(0, m.index + m[0].indexOf('>') + 1).split('\n').length - 1;
    const body = m[1]!.split('\n');
    body.forEach((l, i) => (lines[start + i] = (i === 0 ? ' '.repeat(m![0].indexOf('>') + 1) : '') + l));
  }
  return lines.join('\n');
}

/** Copies the project's sources (no build output, no node_modules) into `stage`; returns how many files. */
function stageProject(root: string, stage: string): number {
  let count = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) walk(full);
        continue;
      }
      if (!entry.isFile()) continue;
      const rel = relative(root, full);
      const atRoot = dirname(rel) === '.';
      const name = atRoot && (entry.name === 'package.json' || entry.name === 'package-lock.json') ? entry.name : stagedName(entry.name);
      if (!name) continue;
      const text = readFileSync(full, 'utf8');
      const target = join(stage, dirname(rel), name);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, entry.name.endsWith('.svelte') ? svelteScript(text) : text);
      count++;
    }
  };
  walk(root);
  return count;
}

/** The child: stubs the translations download, runs the scanner's Node API and writes what it found as JSON. */
const CHILD = String.raw`
const path = require('node:path');
const fs = require('node:fs');
const [pkgDir, input, out] = process.argv.slice(2);
const got = require.resolve('got', { paths: [path.join(pkgDir, 'dist', 'locales')] });
require.cache[got] = { id: got, filename: got, loaded: true, exports: () => Promise.reject(new Error('offline by design')) };
console.log = () => {};
const run = require(path.join(pkgDir, 'dist', 'runner.js'));
run({ input, isRelative: true }).then((r) => {
  fs.writeFileSync(out, JSON.stringify({
    atomicChecks: r.atomicChecks,
    globalChecks: r.globalChecks,
    errors: r.errors,
    issues: r.issues.map((i) => ({ id: i.id, file: i.file, line: i.location.line, column: i.location.column, severity: i.severity.name, confidence: i.confidence.name, manualReview: Boolean(i.manualReview), description: String(i.description) })),
  }));
}, (e) => {
  process.stderr.write(String((e && e.stack) || e));
  process.exit(1);
});
`;

function scan(work: string, input: string, label: string): Promise<Omit<ScanResult, 'files'>> {
  const pkgDir = dirname(createRequire(import.meta.url).resolve('@doyensec/electronegativity/package.json'));
  const script = join(work, 'scan.cjs');
  writeFileSync(script, CHILD);
  const out = join(work, `${label}.json`);
  return new Promise((ok, fail) => {
    execFile(process.execPath, [script, pkgDir, input, out], { timeout: 120_000, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) return fail(new Error(`electronegativity failed on ${label}: ${err.message}\n${stderr}`));
      try {
        ok(JSON.parse(readFileSync(out, 'utf8')) as Omit<ScanResult, 'files'>);
      } catch (e) {
        fail(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

const serious = (f: Finding): boolean => f.severity === 'HIGH' || f.severity === 'MEDIUM';
const show = (fs: Finding[]): string => fs.map((f) => `  ${f.severity}/${f.confidence} ${f.id} at ${f.file}:${f.line}:${f.column}${f.manualReview ? ' (review)' : ''}: ${f.description}`).join('\n');

describe('Electronegativity over the project', () => {
  let work: string;
  let project: ScanResult;
  let canary: Omit<ScanResult, 'files'>;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'exit-studio-eng-'));
    const stage = join(work, 'project');
    const files = stageProject(projectRoot(), stage);
    const bad = join(work, 'canary');
    mkdirSync(bad);
    writeFileSync(join(bad, 'package.json'), JSON.stringify({ name: 'canary', devDependencies: { electron: '39.0.0' } }));
    writeFileSync(
      join(bad, 'main.js'),
      "const { BrowserWindow, shell } = require('electron');\n" +
        "const w = new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, webSecurity: false } });\n" +
        "w.webContents.on('new-window', (e, url) => shell.openExternal(url));\n",
    );
    const [p, c] = await Promise.all([scan(work, stage, 'project'), scan(work, bad, 'canary')]);
    project = { ...p, files };
    canary = c;
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  test('the scanner runs and reports (an insecure canary is caught)', () => {
    assert.ok(canary.atomicChecks > 20, `only ${canary.atomicChecks} checks loaded`);
    const ids = new Set(canary.issues.filter(serious).map((f) => f.id));
    for (const id of ['CONTEXT_ISOLATION_JS_CHECK', 'SANDBOX_JS_CHECK', 'WEB_SECURITY_JS_CHECK', 'LIMIT_NAVIGATION_GLOBAL_CHECK']) assert.ok(ids.has(id), `canary not caught by ${id}:\n${show(canary.issues)}`);
  });

  test('the whole project is scanned: main process, preload, renderer', () => {
    assert.ok(project.files > 50, `only ${project.files} files staged`);
    const unparsed = project.errors.filter((e) => !e.tolerable);
    const electron = unparsed.filter((e) => e.file.includes('electron') || e.file.includes('renderer'));
    assert.deepEqual(electron, [], 'Electron and renderer files must parse, or their findings would be missed');
  });

  test('no high or medium finding', () => {
    const bad = project.issues.filter(serious);
    assert.equal(bad.length, 0, `Electronegativity found ${bad.length} high/medium issue(s):\n${show(bad)}`);
  });
});

describe('permission requests from the window', () => {
  const origin: AppOrigin = { fileUrl: 'file:///app/dist/ui/index.html', devServerUrl: undefined };

  test("only the app page's clipboard write is granted", () => {
    assert.equal(permissionAllowed('clipboard-sanitized-write', 'file:///app/dist/ui/index.html', origin), true);
    assert.equal(permissionAllowed('clipboard-sanitized-write', 'https://evil.example/', origin), false);
    assert.equal(permissionAllowed('clipboard-sanitized-write', 'file:///etc/passwd', origin), false);
    for (const p of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen', 'unknown']) {
      assert.equal(permissionAllowed(p, 'file:///app/dist/ui/index.html', origin), false, p);
    }
  });
});
