/**
 * Electron Forge, for `npm start`: builds the main process and the preload
 * with Vite (vite.main.config.ts, vite.preload.config.ts), serves the
 * renderer from Vite's dev server (vite.renderer.config.ts) and launches the
 * window. Installers come from electron-builder (`npm run dist`,
 * electron-builder.yml), so no makers are configured here.
 *
 * The engine (dist/src) is loaded by the main process at run time: run
 * `npm run build` once before `npm start`.
 */
import { VitePlugin } from '@electron-forge/plugin-vite';
import type { ForgeConfig } from '@electron-forge/shared-types';

const config: ForgeConfig = {
  packagerConfig: {
    name: 'Exit Studio',
    executableName: 'exit-studio',
    // onnxruntime's and SQLite's native libraries cannot load from inside an asar archive.
    asar: { unpack: '**/node_modules/{onnxruntime-node,onnxruntime-common,better-sqlite3,sharp,@img}/**' },
  },
  // Only better-sqlite3 is built against Node's ABI; onnxruntime-node and sharp use N-API and load as they are.
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
