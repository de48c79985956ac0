/**
 * Errors the user can act on. Every layer throws these for bad input so the
 * CLI, the server and the desktop bridge can show a one-line message instead
 * of a stack trace, and pick the right exit code.
 */

/** Why a command failed: bad input (exit code 2) or a failure while running (exit code 1). */
export type ErrorKind = 'input' | 'runtime' | 'cancelled';

/**
 * What a caller can do about an error beyond reading it: 'exists' means an
 * output is already there and the same request with `force` replaces it (the
 * studio's pages ask before they send that).
 */
export type ErrorCode = 'exists';

/**
 * The longest message an error carries. A message that quotes names from a
 * file (archive members, columns) could otherwise grow with the file: one
 * line on a terminal, one line in a log, never a megabyte.
 */
export const MAX_MESSAGE = 1024;

export class StudioError extends Error {
  readonly kind: ErrorKind;
  /** The file the problem is in, when there is one: always named in the message too. */
  readonly file: string | undefined;
  readonly code: ErrorCode | undefined;

  constructor(message: string, options: { kind?: ErrorKind; file?: string; cause?: unknown; code?: ErrorCode } = {}) {
    super(boundMessage(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StudioError';
    this.kind = options.kind ?? 'input';
    this.file = options.file;
    this.code = options.code;
  }
}

/** A message cut to MAX_MESSAGE characters, saying how much was left out. */
export function boundMessage(message: string): string {
  if (message.length <= MAX_MESSAGE) return message;
  const more = message.length - MAX_MESSAGE;
  return `${message.slice(0, MAX_MESSAGE)}… (${more} more characters)`;
}

/** Bad input named after its file: "<file>: <what is wrong>". */
export function inputError(file: string, problem: string, cause?: unknown): StudioError {
  return new StudioError(`${file}: ${problem}`, { kind: 'input', file, cause });
}

/**
 * A failure while reading `file` that the file caused: the engine's own
 * limits (a stack too deep, a string or array too long, memory for a buffer)
 * become bad input naming the file, where they would otherwise surface as
 * "unexpected failure" without it. Anything else (a bug) is returned as it is.
 */
export function fromFile(file: string, e: unknown): unknown {
  if (e instanceof RangeError) return inputError(file, `cannot be read: ${e.message} (the file holds more, or nests deeper, than the studio reads)`, e);
  return e;
}

/**
 * A short, quoted, escaped excerpt of text read from a file, for a message
 * that must show what it found ("abc" is not a number). Control and
 * non-ASCII characters are escaped so a message stays one printable line,
 * and only the first `max` characters are shown: an error never becomes a
 * way to read a file that is not a dataset.
 */
export function excerpt(text: string, max = 16): string {
  const cut = text.length > max;
  let out = '';
  for (const ch of cut ? text.slice(0, max) : text) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else out += c <= 0xffff ? `\\u${c.toString(16).padStart(4, '0')}` : `\\u{${c.toString(16)}}`;
  }
  return `"${out}"${cut ? '…' : ''}`;
}

/** At most `max` names, quoted and escaped, then how many more: for messages that list what a file holds. */
export function nameList(names: readonly string[], max = 10): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice(0, max).map((n) => excerpt(n, 64)).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * A failed write of `out`: a path that cannot hold the file (no such folder, a
 * folder in the way) is bad input; anything else is a failure while running.
 */
export function writeError(out: string, e: unknown): StudioError {
  const code = (e as { code?: string } | undefined)?.code;
  const why = code === 'ENOENT' ? 'no such folder to write into' : code === 'EISDIR' ? 'is a folder, not a file' : code === 'ENOTDIR' ? 'part of the path is a file, not a folder' : undefined;
  if (why) return new StudioError(`${out}: cannot write: ${why}`, { file: out, kind: 'input', cause: e });
  return new StudioError(`${out}: cannot write (${e instanceof Error ? e.message : String(e)})`, { file: out, kind: 'runtime', cause: e });
}

export class CancelledError extends StudioError {
  constructor(what = 'the job') {
    super(`${what} was cancelled`, { kind: 'cancelled' });
    this.name = 'CancelledError';
  }
}

export function isStudioError(e: unknown): e is StudioError {
  return e instanceof StudioError;
}
