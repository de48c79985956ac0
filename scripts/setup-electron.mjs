// @ts-check
/**
 * `npm run setup:electron` (and the first step of `npm start`): the desktop
 * window's Electron binary, fetched on first use instead of during `npm ci`.
 *
 * Electron's own postinstall downloads the binary from GitHub, which a machine
 * that reaches only the npm registry cannot do, and then the whole install
 * fails. package.json's allowScripts turns that postinstall off, so `npm ci`
 * installs the package (its types and launcher) without the binary; this runs
 * the same installer (node_modules/electron/install.js, which honours
 * ELECTRON_MIRROR and Electron's other download settings) when the window is
 * asked for, and says in one line what to do when it cannot.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { firstErrorLine } from './setup-errors.mjs';

const require = createRequire(import.meta.url);
const dir = dirname(require.resolve('electron/package.json'));
/** @type {{ version: string }} */
const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** The binary when Electron's installer has put this version in place (its own test, in install.js), else undefined. */
function installedBinary() {
  try {
    const relative = readFileSync(join(dir, 'path.txt'), 'utf8');
    const installed = readFileSync(join(dir, 'dist', 'version'), 'utf8').trim().replace(/^v/, '');
    const binary = join(process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(dir, 'dist'), relative);
    return installed === version && existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

if (installedBinary()) process.exit(0);

const mirror = process.env.ELECTRON_MIRROR ?? process.env.npm_config_electron_mirror ?? 'https://github.com/electron/electron/releases/download/';
console.error(`Fetching Electron ${version} for ${process.platform}-${process.arch} from ${mirror} (once: the desktop window needs it)...`);
const env = { ...process.env };
// A variable left over from an offline install would make the installer do nothing.
delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
const run = spawnSync(process.execPath, [join(dir, 'install.js')], { env, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
const binary = installedBinary();
if (run.status === 0 && binary) {
  console.error(`Electron ${version} is installed: ${binary}`);
  process.exit(0);
}
const why = firstErrorLine(run.stderr ?? '') ?? (run.error ? run.error.message : `its installer exited with code ${run.status}`);
console.error(
  `setup:electron: could not fetch Electron ${version} (${why}). The desktop window needs it once: run \`npm run setup:electron\` where ${new URL(mirror).host} is reachable, or set ELECTRON_MIRROR to a mirror that is; \`npm run serve\` opens the same studio in a browser without it.`,
);
process.exit(1);
