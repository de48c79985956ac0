/** Light and dark themes follow the OS (prefers-color-scheme); charts read their colors from here. */

const light = { fg: '#1f2328', muted: '#57606a', grid: 'rgba(31,35,40,0.12)', surface: '#ffffff' };
const dark = { fg: '#e6edf3', muted: '#9da7b3', grid: 'rgba(230,237,243,0.14)', surface: '#161b22' };

const query = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined;

export const theme = $state({ dark: query?.matches ?? false, colors: query?.matches ? dark : light });

query?.addEventListener('change', (e) => {
  theme.dark = e.matches;
  theme.colors = e.matches ? dark : light;
});

/** Tableau 10: distinct in both themes and for the common kinds of color blindness. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function color(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/** The same color with an alpha, for bands and areas. */
export function alpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}
