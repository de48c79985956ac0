/**
 * The renderer (Svelte 5) for both doors: `npm run build` puts it in
 * dist/ui/, which serve mode serves and the desktop window loads; Electron
 * Forge's Vite plugin uses the same file for `npm start` (its dev server).
 */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./renderer', import.meta.url));

export default defineConfig({
  root,
  // Relative asset URLs: the same build loads from http:// (serve) and file:// (desktop).
  base: './',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('./dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1200,
  },
});
