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
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { projectRoot } from '../../src/paths.js';

const HEAVY = ['onnxruntime-node', 'sharp', 'onnx-proto', 'hyparquet', 'ws'];

/** The heavy packages in the CommonJS cache of a fresh process after importing `modules` in order, per step. */
function loadedAfter(modules: string[]): string[][] {
  const urls = modules.map((m) => pathToFileURL(join(projectRoot(), 'dist', 'src', m)).href);
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
  const [cli, table, bundle] = loadedAfter(['cli/main.js', 'api/commands.js', 'export/bundle.js']);
  assert.deepEqual(cli, [], 'loaded with the CLI');
  assert.deepEqual(table, [], 'loaded with the command table');
  // The check sees a package when it is loaded: bundling needs onnxruntime, the data readers and the parser.
  assert.deepEqual(bundle, ['onnxruntime-node', 'sharp', 'onnx-proto']);
});
