/**
 * What `npm ci` installs, read from package.json and the lockfile: one Node
 * range that every locked package accepts (so no EBADENGINE warning on it),
 * stated the same in the README; every install script reviewed in
 * allowScripts, with the two that download from outside the npm registry
 * (Electron's binary, onnxruntime's CUDA libraries) turned off; and the two
 * commands that fetch those on request failing in one clear line where they
 * cannot reach their servers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { projectRoot } from '../../src/paths.js';

/** The part of semver the checks use (semver ships no types; @types/semver is not worth a dependency). */
interface Semver {
  subset(sub: string, dom: string): boolean;
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
}
const require = createRequire(import.meta.url);
const semver = require('semver') as Semver;

interface LockedPackage {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  hasInstallScript?: boolean;
  engines?: { node?: string };
}

interface Manifest {
  engines: { node: string; npm: string };
  allowScripts: Record<string, boolean>;
  scripts: Record<string, string>;
}

const root = projectRoot();
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockedPackage> };
const locked = Object.entries(lock.packages).filter(([path]) => path !== '');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** A locked path's package name (the last node_modules segment, scoped or not). */
function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

describe('one supported Node range', () => {
  test('every locked package accepts all of it, so npm ci warns of no engine', () => {
    const range = manifest.engines.node;
    const narrower = locked.filter(([, p]) => p.engines?.node !== undefined && !semver.subset(range, p.engines.node)).map(([path, p]) => `${path} wants ${p.engines!.node}`);
    assert.deepEqual(narrower, [], `package.json's engines.node (${range}) is wider than these accept`);
  });

  test('it is not wider than it needs to be: each of its lower bounds is some package’s', () => {
    // The range's lowest version is a bound a package sets (vite's 20.19), not a guess.
    const lowest = semver.minVersion(manifest.engines.node)!.version;
    const setters = locked.filter(([, p]) => p.engines?.node !== undefined && !semver.satisfies(semverBelow(lowest), p.engines.node));
    assert.ok(setters.length > 0, `nothing requires Node ${lowest}: the range could start lower`);
  });

  test('this machine is in it, and the README states it', () => {
    assert.ok(semver.satisfies(process.version, manifest.engines.node), `Node ${process.version} is outside ${manifest.engines.node}`);
    assert.ok(readme.includes(`\`${manifest.engines.node}\``), 'the README quotes engines.node');
    const npmMin = semver.minVersion(manifest.engines.npm)!.version;
    assert.ok(readme.includes(`npm ${npmMin.replace(/\.0$/, '')}`), `the README names npm ${npmMin}`);
  });
});

/** The patch version just below `v` (20.19.0 → 20.18.99). */
function semverBelow(v: string): string {
  const [maj, min, pat] = v.split('.').map(Number) as [number, number, number];
  if (pat > 0) return `${maj}.${min}.${pat - 1}`;
  if (min > 0) return `${maj}.${min - 1}.99`;
  return `${maj - 1}.99.99`;
}

describe('install scripts', () => {
  test('every locked package with an install script is reviewed in allowScripts, and every entry names one', () => {
    const withScripts = new Set(locked.filter(([, p]) => p.hasInstallScript).map(([path]) => nameOf(path)));
    const reviewed = new Set(Object.keys(manifest.allowScripts));
    assert.deepEqual([...withScripts].filter((n) => !reviewed.has(n)), [], 'unreviewed install scripts');
    assert.deepEqual([...reviewed].filter((n) => !withScripts.has(n)), [], 'allowScripts entries for packages without install scripts');
  });

  test('the downloads from outside the npm registry are off; the native builds the engine needs are on', () => {
    assert.equal(manifest.allowScripts['electron'], false, 'Electron’s postinstall downloads its binary from GitHub');
    assert.equal(manifest.allowScripts['onnxruntime-node'], false, 'onnxruntime-node’s postinstall downloads CUDA libraries from NuGet');
    assert.equal(manifest.allowScripts['better-sqlite3'], true, 'better-sqlite3 builds (or fetches) its native module at install');
    assert.equal(manifest.allowScripts['sharp'], true, 'sharp checks its prebuilt native module at install');
    // npm honours allowScripts' `false` from 11.16 on; older npm would run the downloads anyway.
    assert.ok(semver.subset(manifest.engines.npm, '>=11.16.0'), `engines.npm ${manifest.engines.npm} admits an npm that ignores allowScripts`);
  });

  test('the installed Electron package has its launcher and types but no binary from npm ci; onnxruntime-node has its CPU build', () => {
    const electron = dirname(require.resolve('electron/package.json'));
    assert.ok(existsSync(join(electron, 'electron.d.ts')), 'Electron’s types (electron/ is type-checked in npm test)');
    assert.ok(existsSync(join(electron, 'install.js')), 'the installer npm run setup:electron runs');
    const ort = dirname(require.resolve('onnxruntime-node/package.json'));
    assert.ok(existsSync(join(ort, 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node')), 'the CPU build ships in the npm package');
  });
});

describe('the downloads on request', () => {
  const dir = mkdtempSync(join(tmpdir(), 'es-setup-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // A port nothing listens on: connections are refused at once, on any machine, with or without a network.
  const nowhere = 'http://127.0.0.1:9/';
  // The variables `npm run` sets for this project: onnxruntime's installer once mistook them for its own checkout and did nothing.
  const npmRun = { npm_config_local_prefix: root, npm_package_json: join(root, 'package.json'), npm_lifecycle_event: 'setup' };

  test('npm start fetches Electron first; setup:electron says in one line what to do when it cannot', () => {
    assert.match(manifest.scripts['start']!, /^node scripts\/setup-electron\.mjs && /);
    assert.equal(manifest.scripts['setup:electron'], 'node scripts/setup-electron.mjs');
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'setup-electron.mjs')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...npmRun, ELECTRON_MIRROR: nowhere, electron_config_cache: dir, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    });
    const electron = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')) as { version: string };
    if (r.status === 0) {
      // Fetched before (npm start on a machine with a network): nothing to do, nothing said.
      assert.equal(r.stderr, '');
      assert.ok(existsSync(join(dirname(require.resolve('electron/package.json')), 'path.txt')));
      return;
    }
    assert.equal(r.status, 1, r.stderr);
    const last = r.stderr.trim().split('\n').at(-1)!;
    assert.match(last, new RegExp(`^setup:electron: could not fetch Electron ${electron.version.replace(/\./g, '\\.')} \\(.*ECONNREFUSED.*\\)\\. .*npm run setup:electron.*ELECTRON_MIRROR.*npm run serve`));
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  });

  test('setup:cuda fetches onnxruntime’s CUDA libraries, or says in one line why it could not', () => {
    assert.equal(manifest.scripts['setup:cuda'], 'node scripts/setup-cuda.mjs');
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'setup-cuda.mjs')], {
      cwd: root,
      encoding: 'utf8',
      // onnxruntime's installer sends its requests through global-agent, which reads this proxy.
      env: { ...process.env, ...npmRun, GLOBAL_AGENT_HTTPS_PROXY: nowhere, GLOBAL_AGENT_HTTP_PROXY: nowhere },
    });
    const last = r.stderr.trim().split('\n').at(-1)!;
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      assert.equal(r.status, 1);
      assert.match(last, /^setup:cuda: onnxruntime-node .* has no CUDA download for /);
      return;
    }
    if (r.status === 0) {
      assert.match(last, /CUDA 12 libraries are already in /);
      return;
    }
    assert.equal(r.status, 1, r.stderr);
    assert.match(last, /^setup:cuda: could not fetch onnxruntime's CUDA libraries \(.*ECONNREFUSED.*\)\. Run `npm run setup:cuda` again where api\.nuget\.org is reachable/);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  });
});
