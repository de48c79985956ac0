#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/src, from tsc) into dist/cli: its entry, the two worker entries,
 * and one chunk per module the commands load lazily. `bin/exit-studio.js` runs it.
 *
 * Why: a process that loads its code as some 200 files (95 of them zod's, 45 of those locales no
 * command uses) spends about 130 ms resolving and compiling them before any work, a quarter of a
 * 50,000-sample x 20-seed `run`. Bundled, that run took 392-420 ms against 471-526 ms from the
 * modules (npm run bench:store, two runs, 2-core machine). The npm dependencies other than zod stay packages, loaded as
 * before and only by the commands that need them (test/cli/startup.test.ts checks both forms).
 *
 * The workers are entries of their own, written in the same folder as the chunks that start them,
 * so the `new URL('./worker.js', import.meta.url)` in those chunks finds them as it does in
 * dist/src. The folder is emptied first: chunks are named by their hash, and old ones would pile up.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** Bundled: zod (its import is the cost). Every other dependency stays a package. */
const BUNDLED = new Set(['zod']);
const external = Object.keys(pkg.dependencies ?? {}).filter((d) => !BUNDLED.has(d));
const compiled = join(root, 'dist', 'src');
const out = join(root, 'dist', 'cli');
rmSync(out, { recursive: true, force: true });

await build({
  input: {
    main: join(compiled, 'cli', 'main.js'),
    worker: join(compiled, 'inference', 'worker.js'),
    'run-worker': join(compiled, 'policies', 'run-worker.js'),
  },
  platform: 'node',
  external: (id) => id.startsWith('node:') || external.some((d) => id === d || id.startsWith(`${d}/`)),
  logLevel: 'warn',
  // The server imports the command table lazily (src/api/resume.ts); the CLI has it loaded already, so
  // that import stays in the chunk it is in, as it should: not worth a warning at every build.
  onLog: (level, log, handler) => log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT' && handler(level, log),
  output: {
    dir: out,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    sourcemap: true,
  },
});
