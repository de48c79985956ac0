/**
 * Electron Forge, for `npm start`: builds the main process and the preload
 * with Vite (vite.main.config.ts, vite.preload.config.ts), serves the
 * renderer from Vite's dev server (vite.renderer.config.ts), rebuilds the
 * native modules for Electron and launches the window. Installers come from
 * electron-builder (`npm run dist`, electron-builder.yml), so no makers are
 * configured here; the packager settings below package the same files the
 * same way, should `electron-forge package` be used, and
 * test/packaging/package.test.ts holds the two to each other.
 *
 * The engine (dist/src) runs from the compiled files in its own utility
 * process: `npm start` runs `npm run build` first.
 */
import { VitePlugin } from '@electron-forge/plugin-vite';
import type { ForgeConfig } from '@electron-forge/shared-types';

/** electron-builder.yml's `files`: the app's own files (paths as the packager gives them, from the project root, with a leading slash). */
const APP_FILES = [/^\/package\.json$/, /^\/\.vite(\/build(\/.*)?)?$/, /^\/dist(\/(src|ui)(\/.*)?)?$/, /^\/resources(\/sample(\/.*)?)?$/];
const LEFT_OUT = [/\.map$/, /^\/resources\/sample\/make_sample\.py$/];

/** onnxruntime-node ships every platform's binaries; the package keeps the target's (here, the host's: Forge packages for it). */
function foreignBinary(file: string): boolean {
  const m = /\/node_modules\/onnxruntime-node\/bin\/napi-v6\/([^/]+)(?:\/([^/]+))?/.exec(file);
  return m !== null && (m[1] !== process.platform || (m[2] !== undefined && m[2] !== process.arch));
}

/** better-sqlite3's SQLite sources and build folder: the compiled module is all it loads. */
function sqliteLeftover(file: string): boolean {
  const m = /\/node_modules\/better-sqlite3\/(deps|src|build)(\/.*)?$/.exec(file);
  if (!m) return false;
  const inside = `${m[1]}${m[2] ?? ''}`;
  return !['build', 'build/Release', 'build/Release/better_sqlite3.node'].includes(inside);
}

export function ignored(file: string): boolean {
  if (file === '') return false;
  // Production dependencies: the packager prunes node_modules to them itself.
  if (file === '/node_modules' || file.startsWith('/node_modules/')) return foreignBinary(file) || sqliteLeftover(file);
  return !APP_FILES.some((r) => r.test(file)) || LEFT_OUT.some((r) => r.test(file));
}

const config: ForgeConfig = {
  packagerConfig: {
    name: 'Exit Studio',
    executableName: 'exit-studio',
    ignore: ignored,
    // As electron-builder.yml's asarUnpack: native libraries cannot load from inside an archive,
    // and the engine (dist/src) runs from plain files in its utility process and worker threads.
    asar: { unpack: '**/node_modules/{onnxruntime-node,onnxruntime-common,better-sqlite3,sharp,@img}/**', unpackDir: 'dist/src' },
  },
  // Only better-sqlite3 is built against Node's ABI (it has a binding.gyp); onnxruntime-node and sharp use N-API and load as they are.
  rebuildConfig: { onlyModules: ['better-sqlite3'] },
  makers: [],
  plugins: [
    new VitePlugin({
      build: [
        { entry: 'electron/main.ts', config: 'vite.main.config.ts', target: 'main' },
        { entry: 'electron/preload.cts', config: 'vite.preload.config.ts', target: 'preload' },
      ],
      renderer: [{ name: 'main_window', config: 'vite.renderer.config.ts' }],
    }),
  ],
};

export default config;
