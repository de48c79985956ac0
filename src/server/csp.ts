/**
 * The page's Content-Security-Policy, one definition for serve mode (a header)
 * and the desktop window (a header on its responses): own scripts only, no
 * plugins, no framing either way, connections only to the given sources.
 */
export function pageCsp(connect: string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Svelte and chart.js set element styles at run time.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src ${["'self'", ...connect].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
