/**
 * The window's preload (electron/preload.cts) to .vite/build/preload.cjs:
 * CommonJS in one file, because a sandboxed preload can require nothing but
 * 'electron'.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: fileURLToPath(new URL('./.vite/build', import.meta.url)),
    emptyOutDir: false,
    target: 'node22',
    minify: false,
    lib: {
      entry: fileURLToPath(new URL('./electron/preload.cts', import.meta.url)),
      formats: ['cjs'],
      fileName: () => 'preload.cjs',
    },
    rollupOptions: {
      external: ['electron'],
    },
  },
});
