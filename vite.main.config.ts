/**
 * The desktop main process (electron/main.ts) bundled to .vite/build/main.js,
 * by Electron Forge's Vite plugin (`npm start`) or on its own
 * (`npm run build:desktop`). The engine is not bundled: it runs from the
 * compiled dist/src in its own utility process (src/server/engine-process.ts),
 * so Electron, serve mode and the CLI run the very same files (and the
 * engine's worker threads keep their own files). The main process bundles
 * only the small client that talks to it.
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: fileURLToPath(new URL('./.vite/build', import.meta.url)),
    emptyOutDir: false,
    target: 'node22',
    sourcemap: true,
    minify: false,
    lib: {
      entry: fileURLToPath(new URL('./electron/main.ts', import.meta.url)),
      formats: ['es'],
      fileName: () => 'main.js',
    },
    rollupOptions: {
      external: ['electron', 'zod', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
    },
  },
});
