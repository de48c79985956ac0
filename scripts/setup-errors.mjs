// @ts-check
/** What the setup scripts keep of a failed installer's stderr: its error line, not its stack. */

/**
 * The first line that states an error ("RequestError: getaddrinfo ENOTFOUND
 * github.com", "Error: Failed to download ..."), else the last non-empty line,
 * else undefined for an empty stderr.
 * @param {string} stderr
 * @returns {string | undefined}
 */
export function firstErrorLine(stderr) {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return lines.find((l) => /^[A-Za-z]*Error\b[^:]*:/.test(l)) ?? lines.at(-1);
}
