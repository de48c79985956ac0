/**
 * The command table as a client across a transport sees it: what it sends
 * (each command's payload, before its schema's defaults) and what comes back
 * (its output after JSON or a structured clone). Types only: the page imports
 * them with `import type`, which brings no engine code into its bundle.
 */
import type { z } from 'zod';
import type { CommandName, CommandOutput, commands } from './commands.js';

export type { CommandName };

type TypedArray = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** What a value becomes through toJsonSafe (src/server/jobs.ts) and Electron's structured clone alike, for a client's purposes. */
export type Wire<T> = T extends TypedArray
  ? number[]
  : T extends Date
    ? string
    : T extends readonly (infer U)[]
      ? Wire<U>[]
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;

/** What a client sends: the payload its schema accepts. */
export type CommandPayload<N extends CommandName> = z.input<(typeof commands)[N]['input']>;

/** What a client gets back. */
export type CommandResult<N extends CommandName> = Wire<CommandOutput<N>>;
