/**
 * What the CLI loads before it knows the command: the command table and every
 * command's flags, but not onnxruntime, image decoding, the ONNX parser, the
 * Parquet reader or the WebSocket server. Those load with the commands that use
 * them, so `run`, `runs list` and the like start in a fraction of the time
 * (a static import of any of them from the table's modules, as the apply
 * options' schema once was, costs every command about 0.1 s).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { projectRoot } from '../../src/paths.js';

const HEAVY = ['onnxruntime-node', 'sharp', 'onnx-proto', 'hyparquet', 'ws'];

/** The heavy packages in the CommonJS cache of a fresh process after importing `modules` (under dist/) in order, per step. */
function loadedAfter(modules: string[]): string[][] {
  const urls = modules.map((m) => pathToFileURL(join(projectRoot(), 'dist', m)).href);
  const script = `
    import { createRequire } from 'node:module';
    const cache = createRequire(import.meta.url).cache;
    const heavy = ${JSON.stringify(HEAVY)};
    const steps = [];
    for (const url of ${JSON.stringify(urls)}) {
      await import(url);
      const loaded = Object.keys(cache).map((k) => k.replaceAll('\\\\', '/'));
      steps.push(heavy.filter((h) => loaded.some((k) => k.includes('/node_modules/' + h + '/'))));
    }
    process.stdout.write(JSON.stringify(steps));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: projectRoot() });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[][];
}

test('the CLI and the command table start without onnxruntime, sharp, the ONNX parser, Parquet or ws; the commands that use them load them', () => {
  const [cli, table, bundle] = loadedAfter(['src/cli/main.js', 'src/api/commands.js', 'src/export/bundle.js']);
  assert.deepEqual(cli, [], 'loaded with the CLI');
  assert.deepEqual(table, [], 'loaded with the command table');
  // The check sees a package when it is loaded: bundling needs onnxruntime, the data readers and the parser.
  assert.deepEqual(bundle, ['onnxruntime-node', 'sharp', 'onnx-proto']);
});

test('the bundled CLI (what bin/exit-studio.js runs) starts without them too, and loads them as packages when a command needs them', () => {
  const [cli] = loadedAfter(['cli/main.js']);
  assert.deepEqual(cli, [], 'loaded with the bundled CLI');
  // The packages stay outside the bundle (the next test reads its imports): a command that needs one loads it from node_modules.
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'exit-studio.js'), 'inspect', join(projectRoot(), 'resources', 'sample', 'model.onnx'), '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as { exits: unknown[] }).exits.length >= 3);
});

test('the bundle holds zod and imports every other dependency by name, as a package', () => {
  const dir = join(projectRoot(), 'dist', 'cli');
  const code = readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  const imported = new Set([...code.matchAll(/(?:\bfrom|\bimport\()\s*"([^".][^"]*)"/g)].map((m) => m[1]!).filter((s) => !s.startsWith('node:')).map((s) => s.split('/')[0]!));
  const deps = Object.keys((JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  assert.deepEqual([...imported].sort(), deps.filter((d) => d !== 'zod').sort());
});
