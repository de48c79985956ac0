// Runs every compiled test file under dist/test with Node's test runner.
// Node 20's runner takes file paths, not globs, so the files are listed here.
// A filter argument keeps only the paths that contain it: `npm test -- policies`.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/test';
const filter = process.argv[2] ?? '';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const files = walk(root).filter((f) => f.includes(filter)).sort();
if (files.length === 0) {
  console.error(`no test files under ${root}${filter ? ` matching "${filter}"` : ''}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
