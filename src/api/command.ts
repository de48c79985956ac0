/**
 * One command of the contract: a zod schema for its payload, a handler, and
 * what the rest of the studio needs to know about it (its facts), kept with
 * it instead of in tables keyed by its name.
 */
import { z } from 'zod';
import { StudioError } from '../errors.js';
import type { FileKind } from '../formats/table.js';
import type { CommandContext } from './context.js';

/** A file a command opened: what the desktop lists under File → Open Recent. */
export interface OpenedFile {
  kind: FileKind;
  /** Absolute, as the engine resolved it. */
  path: string;
}

/** The names of a payload's fields. */
type FieldOf<I extends z.ZodType> = Extract<keyof z.output<I>, string>;

export interface CommandFacts<I extends z.ZodType, O> {
  /** A long command runs as a job: progress events, cancellable, its request kept with the rows it writes. */
  long?: boolean;
  /** Payload fields that hold file paths (or lists of them): kept absolute with the job's request, so it can run again from any folder. */
  paths?: readonly FieldOf<I>[];
  /** job.rerun may run an interrupted job of this command again from its kept request. */
  rerunnable?: boolean;
  /** The files a call that succeeded opened (File → Open Recent). */
  opens?: (input: z.output<I>, output: O) => OpenedFile[];
}

export interface Command<I extends z.ZodType, O> {
  input: I;
  long: boolean;
  paths: readonly string[];
  rerunnable: boolean;
  opens: ((input: z.output<I>, output: O) => OpenedFile[]) | undefined;
  run(ctx: CommandContext, input: z.output<I>): Promise<O>;
}

/** A command; `facts` true is short for `{ long: true }`. */
export function command<I extends z.ZodType, O>(input: I, run: (ctx: CommandContext, input: z.output<I>) => Promise<O> | O, facts: boolean | CommandFacts<I, O> = {}): Command<I, O> {
  const f: CommandFacts<I, O> = typeof facts === 'boolean' ? { long: facts } : facts;
  return { input, long: f.long ?? false, paths: f.paths ?? [], rerunnable: f.rerunnable ?? false, opens: f.opens, run: async (ctx, x) => run(ctx, x) };
}

/** How many payload problems an error names before it only counts the rest. */
const MAX_ISSUES = 10;

/** Validates a payload; a bad one is an input error that names each wrong field. */
export function parsePayload<I extends z.ZodType>(name: string, schema: I, payload: unknown): z.output<I> {
  const r = schema.safeParse(payload);
  if (r.success) return r.data;
  // A payload can fail on every element of a huge array: name the first few problems, count the rest.
  const issues = r.error.issues;
  const shown = issues.slice(0, MAX_ISSUES).map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`);
  const problems = shown.join('; ') + (issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more` : '');
  throw new StudioError(`${name}: invalid payload (${problems})`, { kind: 'input' });
}
