/**
 * Errors the user can act on. Every layer throws these for bad input so the
 * CLI, the server and the desktop bridge can show a one-line message instead
 * of a stack trace, and pick the right exit code.
 */

/**
 * Why a command failed. Every StudioError says which, on purpose: the kind
 * decides the CLI's exit code and serve's HTTP status (ERROR_OUTCOME, the
 * README's "Exit codes and statuses"), and tells the user whose move it is.
 *
 * - `input`: the request is wrong (a bad value, a file that is not what it
 *   should be); fix it and ask again.
 * - `not-found`: it names something that is not there (a stored trace or
 *   run, a file, a command).
 * - `conflict`: it collides with the state of things (an output already
 *   exists, the job is running or not resumable, a port is taken).
 * - `cancelled`: it was stopped before it finished.
 * - `internal`: the request was fine but the work failed: a fault of the
 *   studio or of what it runs (onnxruntime, a worker, the disk, a damaged
 *   record).
 */
export const ERROR_KINDS = ['input', 'not-found', 'conflict', 'cancelled', 'internal'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** What each kind becomes: the CLI's exit code (2: the request must change; 1: it did not finish) and serve's HTTP status. */
export const ERROR_OUTCOME: Record<ErrorKind, { exitCode: 1 | 2; httpStatus: number }> = {
  input: { exitCode: 2, httpStatus: 400 },
  'not-found': { exitCode: 2, httpStatus: 404 },
  conflict: { exitCode: 2, httpStatus: 409 },
  // No standard status says "stopped on request"; 499 is the one nginx gives a request that ended before its answer.
  cancelled: { exitCode: 1, httpStatus: 499 },
  internal: { exitCode: 1, httpStatus: 500 },
};

/** A kind from a wire or a worker message; anything unknown is the studio's fault, never the user's. */
export function errorKind(x: unknown): ErrorKind {
  return (ERROR_KINDS as readonly unknown[]).includes(x) ? (x as ErrorKind) : 'internal';
}

/**
 * What a caller can do about an error beyond reading it: 'exists' means an
 * output is already there and the same request with `force` replaces it (the
 * studio's pages ask before they send that). The `needs-` codes say what a
 * policy needs that the trace lacks (see MissingNeed in policies/spec.ts), so
 * a front end can point to how such a trace is recorded.
 */
export type ErrorCode = 'exists' | 'needs-probs' | 'needs-scores' | 'needs-labels';

/**
 * The longest message an error carries. A message that quotes names from a
 * file (archive members, columns) could otherwise grow with the file: one
 * line on a terminal, one line in a log, never a megabyte.
 */
export const MAX_MESSAGE = 1024;

export interface StudioErrorOptions {
  kind: ErrorKind;
  /** The file the problem is in, when there is one: always named in the message too. */
  file?: string;
  /**
   * The request's field the problem is in (a payload field: `labelColumn`,
   * `calibrateOn`), for the front end to name as it calls it: the CLI adds
   * its flag (`--label-column`), the studio its field. Messages never name a
   * flag themselves.
   */
  field?: string;
  /** What a `not-found` names: the CLI points to the command that lists them. */
  record?: 'trace' | 'run';
  code?: ErrorCode;
  cause?: unknown;
}

export class StudioError extends Error {
  readonly kind: ErrorKind;
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly record: 'trace' | 'run' | undefined;
  readonly code: ErrorCode | undefined;

  constructor(message: string, options: StudioErrorOptions) {
    super(boundMessage(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StudioError';
    this.kind = options.kind;
    this.file = options.file;
    this.field = options.field;
    this.record = options.record;
    this.code = options.code;
  }
}

/** No stored trace or run with this id. */
export function notFound(record: 'trace' | 'run', id: number): StudioError {
  return new StudioError(`no ${record} with id ${id}`, { kind: 'not-found', record });
}

/** A file or folder the request names that is not there. */
export function missingFile(path: string, what = 'file', cause?: unknown): StudioError {
  return new StudioError(`${path}: no such ${what}`, { kind: 'not-found', file: path, cause });
}

/** A fault of the studio or of what it runs, not of the request. */
export function internalError(message: string, cause?: unknown, file?: string): StudioError {
  return new StudioError(message, { kind: 'internal', cause, ...(file ? { file } : {}) });
}

/** A message cut to MAX_MESSAGE characters, saying how much was left out. */
export function boundMessage(message: string): string {
  if (message.length <= MAX_MESSAGE) return message;
  const more = message.length - MAX_MESSAGE;
  return `${message.slice(0, MAX_MESSAGE)}… (${more} more characters)`;
}

/** Bad input named after its file: "<file>: <what is wrong>". */
export function inputError(file: string, problem: string, cause?: unknown, field?: string): StudioError {
  return new StudioError(`${file}: ${problem}`, { kind: 'input', file, cause, ...(field ? { field } : {}) });
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
  return new StudioError(`${out}: cannot write (${e instanceof Error ? e.message : String(e)})`, { file: out, kind: 'internal', cause: e });
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
