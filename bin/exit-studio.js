#!/usr/bin/env node
// The exit-studio command: runs the compiled CLI, bundled (npm install builds it via "prepare";
// scripts/bundle-cli.mjs says why it is bundled).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('exit-studio: the CLI is not built yet; run `npm run build` in the project folder first.');
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
