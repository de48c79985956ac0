/**
 * Errors the user can act on. Every layer throws these for bad input so the
 * CLI, the server and the desktop bridge can show a one-line message instead
 * of a stack trace, and pick the right exit code.
 */

/** Why a command failed: bad input (exit code 2) or a failure while running (exit code 1). */
export type ErrorKind = 'input' | 'runtime' | 'cancelled';

export class StudioError extends Error {
  readonly kind: ErrorKind;
  /** The file the problem is in, when there is one: always named in the message too. */
  readonly file: string | undefined;

  constructor(message: string, options: { kind?: ErrorKind; file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StudioError';
    this.kind = options.kind ?? 'input';
    this.file = options.file;
  }
}

/** Bad input named after its file: "<file>: <what is wrong>". */
export function inputError(file: string, problem: string, cause?: unknown): StudioError {
  return new StudioError(`${file}: ${problem}`, { kind: 'input', file, cause });
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
