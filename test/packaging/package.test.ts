/**
 * The desktop package, built for real without Electron's binary:
 * electron-builder packs the app for Linux x64 into a folder (`--dir`, the
 * step before the AppImage and deb), with a stand-in for Electron's executable
 * (it only copies it) and without the native rebuild for Electron's ABI (that
 * needs Electron's headers from the network). The tests read what it made:
 *
 * - every file the app loads is in it, and nothing else of the project: the
 *   bundled main process and preload, the compiled engine, the renderer, the
 *   sample, every production dependency and no development one;
 * - native libraries and the engine (the utility process's entry and the
 *   worker threads' code) are real files beside the archive;
 * - the packaged engine runs: extracted and started under Node the way the
 *   app starts it, it inspects the packaged sample, runs inference (a worker
 *   thread, onnxruntime), previews images (sharp) and replays a policy (a
 *   worker thread), storing it all in SQLite;
 * - the main process only relays: its bundle imports no engine code;
 * - Forge's packager settings agree with electron-builder's: the same files,
 *   the same ones unpacked, the same names, the same native rebuild.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as asar from '@electron/asar';
import sharp from 'sharp';
import forgeConfig, { ignored as forgeIgnores } from '../../forge.config.js';
import { documentationCandidates } from '../../electron/menu.js';
import { projectRoot } from '../../src/paths.js';
import { EngineClient } from '../../src/server/engine-client.js';
import { forkEngine } from '../../src/server/engine-fork.js';
import type { JobOutcome } from '../../src/server/jobs.js';

const root = projectRoot();
const dir = mkdtempSync(join(tmpdir(), 'es-package-'));
const out = join(dir, 'out');
const resources = join(out, 'linux-unpacked', 'resources');
const archive = join(resources, 'app.asar');

interface Packed {
  /** Path inside the app, with a leading slash, as the archive lists it. */
  path: string;
  unpacked: boolean;
  size: number;
}

/** Every file in the archive, packed or unpacked. */
let files = new Map<string, Packed>();

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${[cmd, ...args].join(' ')} failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
}

interface HeaderNode {
  files?: Record<string, HeaderNode>;
  unpacked?: boolean;
  size?: number;
  link?: string;
}

function headerFiles(path: string): Map<string, Packed> {
  const found = new Map<string, Packed>();
  const walk = (node: HeaderNode, at: string): void => {
    if (node.files) for (const [name, child] of Object.entries(node.files)) walk(child, `${at}/${name}`);
    else if (node.link === undefined) found.set(at, { path: at, unpacked: node.unpacked === true, size: node.size ?? 0 });
  };
  walk(asar.getRawHeader(path).header as HeaderNode, '');
  return found;
}

/** Files under `base` (paths relative to it, with a leading slash and forward slashes), skipping folders `skip` says no to. */
function walkFiles(base: string, skip: (rel: string) => boolean = () => false): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      const rel = `/${relative(base, full).split(sep).join('/')}`;
      if (skip(rel)) continue;
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) found.push(rel);
    }
  };
  walk(base);
  return found;
}

before(() => {
  assert.ok(existsSync(join(root, 'dist', 'ui', 'index.html')) && existsSync(join(root, 'dist', 'src', 'server', 'engine-process.js')), 'run `npm run build` first (npm test does)');
  // The desktop bundle, as `npm run build:desktop` makes it.
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  run(process.execPath, [vite, 'build', '--config', 'vite.main.config.ts', '--logLevel', 'warn']);
  run(process.execPath, [vite, 'build', '--config', 'vite.preload.config.ts', '--logLevel', 'warn']);
  // A stand-in for Electron's binary: electron-builder copies the folder and renames the executable, nothing more.
  const electronDist = join(dir, 'electron-dist');
  mkdirSync(electronDist);
  writeFileSync(join(electronDist, 'electron'), '#!/bin/sh\necho "a stand-in for Electron (test/packaging)" >&2\nexit 1\n');
  chmodSync(join(electronDist, 'electron'), 0o755);
  run(process.execPath, [
    join(root, 'node_modules', 'electron-builder', 'cli.js'),
    '--dir',
    '--linux',
    '--x64',
    '--publish',
    'never',
    `-c.electronDist=${electronDist}`,
    '-c.npmRebuild=false',
    `-c.directories.output=${out}`,
  ]);
  files = headerFiles(archive);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const inModules = (p: string): boolean => p.startsWith('/node_modules/');
const NATIVE = /\.(node|so(\.\d+)*|dylib|dll)$/;

describe('what the package holds', () => {
  test('the app’s own files, all of them and nothing else of the project', () => {
    const expected = [
      '/package.json',
      ...walkFiles(join(root, '.vite', 'build')).map((p) => `/.vite/build${p}`),
      ...walkFiles(join(root, 'dist', 'src')).map((p) => `/dist/src${p}`),
      ...walkFiles(join(root, 'dist', 'ui')).map((p) => `/dist/ui${p}`),
      ...walkFiles(join(root, 'resources', 'sample')).map((p) => `/resources/sample${p}`),
    ].filter((p) => !p.endsWith('.map') && p !== '/resources/sample/make_sample.py');
    const packed = [...files.keys()].filter((p) => !inModules(p));
    assert.deepEqual(packed.sort(), expected.sort());
    for (const entry of ['/.vite/build/main.js', '/.vite/build/preload.cjs', '/dist/ui/index.html', '/dist/src/server/engine-process.js', '/dist/src/inference/worker.js', '/dist/src/policies/run-worker.js', '/resources/sample/model.onnx']) {
      assert.ok(files.has(entry), `${entry} is packed`);
    }
  });

  test('every production dependency, and no development one', () => {
    const r = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const production = r.stdout
      .split('\n')
      .filter((l) => l.includes(`${sep}node_modules${sep}`))
      .map((l) => `/${relative(root, l).split(sep).join('/')}`);
    assert.ok(production.length > 20, `npm ls found ${production.length} production packages`);
    const missing = production.filter((p) => !files.has(`${p}/package.json`));
    assert.deepEqual(missing, [], 'production packages left out');
    const packedPackages = [...files.keys()].filter((p) => /^\/node_modules\/(@[^/]+\/)?[^/@][^/]*\/package\.json$/.test(p)).map((p) => p.slice(0, -'/package.json'.length));
    const extra = packedPackages.filter((p) => !production.includes(p));
    assert.deepEqual(extra, [], 'development packages packed');
    for (const dev of ['electron', 'vite', 'typescript', 'electron-builder']) assert.ok(!files.has(`/node_modules/${dev}/package.json`), `${dev} is not packed`);
  });

  test('the README and docs beside the archive, where the Help menu looks', () => {
    const readme = documentationCandidates(archive, resources).find((p) => existsSync(p));
    assert.equal(readme, join(resources, 'README.md'));
    assert.ok(existsSync(join(resources, 'docs', 'formats.md')));
  });
});

describe('what runs from real files beside the archive', () => {
  test('every native library is unpacked, byte for byte', () => {
    const natives = [...files.values()].filter((f) => NATIVE.test(f.path));
    const names = natives.map((f) => f.path.slice(f.path.lastIndexOf('/') + 1));
    for (const want of ['better_sqlite3.node', 'onnxruntime_binding.node', 'libonnxruntime.so.1', 'sharp-linux-x64.node']) assert.ok(names.includes(want), `${want} is in the package`);
    assert.ok(names.some((n) => n.startsWith('libvips-cpp.so')), 'libvips is in the package');
    for (const f of natives) {
      assert.ok(f.unpacked, `${f.path} is unpacked`);
      const real = join(`${archive}.unpacked`, f.path);
      assert.equal(statSync(real).size, f.size, `${f.path} on disk`);
    }
  });

  test('only the target’s onnxruntime binaries, and none of better-sqlite3’s build leftovers', () => {
    const ort = [...files.keys()].filter((p) => p.includes('/onnxruntime-node/bin/'));
    assert.ok(ort.length > 0);
    assert.deepEqual(
      ort.filter((p) => !p.includes('/bin/napi-v6/linux/x64/')),
      [],
    );
    assert.deepEqual(
      [...files.keys()].filter((p) => /\/better-sqlite3\/(deps|src|build\/Release\/obj)/.test(p)),
      [],
    );
  });

  test('the engine, its utility-process entry and its workers, is unpacked', () => {
    const engine = [...files.values()].filter((f) => f.path.startsWith('/dist/src/'));
    assert.ok(engine.length > 50);
    assert.deepEqual(
      engine.filter((f) => !f.unpacked).map((f) => f.path),
      [],
    );
    for (const f of ['server/engine-process.js', 'inference/worker.js', 'policies/run-worker.js']) assert.ok(existsSync(join(`${archive}.unpacked`, 'dist', 'src', f)), f);
  });

  test('the main process only relays: its bundle imports Electron, Node’s built-ins and zod, and forks the packaged engine entry', () => {
    const main = asar.extractFile(archive, '.vite/build/main.js').toString('utf8');
    const imported = [...main.matchAll(/(?:^|\n)\s*import\s+(?:[^'";]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => (m[1] ?? m[2])!);
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    assert.deepEqual(
      imported.filter((m) => m !== 'electron' && m !== 'zod' && !builtins.has(m)),
      [],
      'the main process loads nothing else',
    );
    assert.ok(!/import\(/.test(main.replace(/\/\/.*$/gm, '')), 'no dynamic import: the engine is not loaded in the main process');
    const forkCall = /utilityProcess\.fork\(\s*join\(\s*root,\s*((?:"[^"]+"\s*,?\s*)+)\)/.exec(main);
    assert.ok(forkCall, 'main.js forks the engine with utilityProcess');
    const entry = [...forkCall[1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]).join('/');
    assert.equal(entry, 'dist/src/server/engine-process.js');
    assert.ok(files.get(`/${entry}`)?.unpacked, 'the entry is a real file in the package');
  });
});

describe('the packaged engine runs', () => {
  const app = join(dir, 'extracted');
  const db = join(dir, 'packaged.sqlite');
  let client: EngineClient;

  before(() => {
    asar.extractAll(archive, app);
    // Started the way the app starts it: the packaged entry, with the environment (here the database's path).
    client = new EngineClient(() => forkEngine({ entry: join(app, 'dist', 'src', 'server', 'engine-process.js'), env: { ...process.env, EXIT_STUDIO_DB: db }, cwd: dir }));
  });
  after(() => client.close());

  async function ok(id: string, command: string, payload: unknown): Promise<unknown> {
    const o: JobOutcome = await client.run(id, command, payload, () => {});
    assert.ok(o.ok, `${command}: ${o.ok ? '' : o.error.message}`);
    return o.result;
  }

  test('it inspects the packaged sample, runs inference on it, previews images and replays a policy', async () => {
    const sample = (await ok('paths', 'sample.paths', {})) as { model: string; data: string; labels: string; available: boolean };
    assert.ok(sample.available);
    assert.ok(sample.model.startsWith(app + sep), `the sample comes from the package: ${sample.model}`);
    const model = (await ok('inspect', 'model.inspect', { path: sample.model })) as { exits: unknown[] };
    assert.equal(model.exits.length, 4);
    const trace = (await ok('infer', 'trace.infer', { model: sample.model, data: sample.data, labels: sample.labels, limit: 200, threads: 1 })) as { traceId: number; samples: number };
    assert.equal(trace.samples, 200);
    const traceId = trace.traceId;
    const images = join(dir, 'images');
    mkdirSync(images);
    for (const [name, shade] of [
      ['a.png', 40],
      ['b.png', 200],
    ] as const) {
      await sharp(Buffer.alloc(28 * 28, shade), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(images, name));
    }
    const preview = (await ok('preview', 'data.preview', { path: images, model: sample.model })) as Record<string, unknown>;
    assert.ok(JSON.stringify(preview).length > 100);
    const replay = (await ok('replay', 'policy.run', { traceId, policies: ['uee-ucb'], seeds: 2 })) as { runs: { seeds: number }[] };
    assert.equal(replay.runs[0]!.seeds, 2);
  });
});

describe('Forge’s packager settings agree with electron-builder’s', () => {
  const builder = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
  const packager = forgeConfig.packagerConfig!;

  test('the same app name and executable', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { productName: string; main: string };
    assert.match(builder, new RegExp(`^productName: ${manifest.productName}$`, 'm'));
    assert.equal(packager.name, manifest.productName);
    const executables = [...builder.matchAll(/^\s+executableName: (\S+)$/gm)].map((m) => m[1]);
    assert.ok(executables.length >= 2);
    for (const e of executables) assert.equal(e, packager.executableName);
    assert.ok(files.has(`/${manifest.main}`), 'package.json’s main is packed');
  });

  test('the same app files', () => {
    // Outside node_modules Forge keeps exactly what electron-builder packed.
    const project = walkFiles(root, (rel) => rel === '/node_modules' || rel === '/.git' || forgeIgnores(rel));
    const builderApp = [...files.keys()].filter((p) => !inModules(p));
    assert.deepEqual(project.sort(), builderApp.sort());
    // In node_modules the two prune development packages each their own way; the rules that leave out
    // other platforms' onnxruntime binaries and better-sqlite3's build leftovers must agree file by file.
    for (const pkg of ['onnxruntime-node', 'better-sqlite3']) {
      const base = join(root, 'node_modules', pkg);
      for (const rel of walkFiles(base)) {
        const p = `/node_modules/${pkg}${rel}`;
        if (!NATIVE.test(p) && !/\/(deps|src|build)\//.test(p)) continue;
        assert.equal(!forgeIgnores(p), files.has(p), `${p}: Forge ${forgeIgnores(p) ? 'leaves it out' : 'keeps it'}, electron-builder ${files.has(p) ? 'keeps it' : 'leaves it out'}`);
      }
    }
  });

  test('the same files unpacked', async () => {
    // Forge's asar settings applied by @electron/asar (what Forge's packager calls) to the package's own file list.
    const stage = join(dir, 'forge-stage');
    for (const p of files.keys()) {
      mkdirSync(join(stage, dirname(p)), { recursive: true });
      writeFileSync(join(stage, p), '');
    }
    const options = packager.asar as { unpack: string; unpackDir: string };
    const forged = join(dir, 'forge.asar');
    await asar.createPackageWithOptions(stage, forged, { unpack: options.unpack, unpackDir: options.unpackDir });
    const forgeUnpacked = [...headerFiles(forged).values()].filter((f) => f.unpacked).map((f) => f.path);
    const builderUnpacked = [...files.values()].filter((f) => f.unpacked).map((f) => f.path);
    assert.ok(builderUnpacked.length > 100);
    assert.deepEqual(forgeUnpacked.sort(), builderUnpacked.sort());
  });

  test('the same native rebuild: the production modules with a binding.gyp', () => {
    const gyp = [...files.keys()]
      .filter((p) => /^\/node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/.test(p))
      .map((p) => p.slice('/node_modules/'.length, -'/package.json'.length))
      .filter((name) => existsSync(join(root, 'node_modules', name, 'binding.gyp')));
    assert.deepEqual(gyp, forgeConfig.rebuildConfig?.onlyModules);
    assert.match(builder, /^npmRebuild: true$/m);
  });
});
