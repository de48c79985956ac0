/** One command of the contract: a zod schema for its payload and a handler. */
import { z } from 'zod';
import { StudioError } from '../errors.js';
import type { CommandContext } from './context.js';

export interface Command<I extends z.ZodType, O> {
  input: I;
  /** Long commands run as jobs: progress events, cancellable. */
  long: boolean;
  run(ctx: CommandContext, input: z.output<I>): Promise<O>;
}

export function command<I extends z.ZodType, O>(input: I, run: (ctx: CommandContext, input: z.output<I>) => Promise<O> | O, long = false): Command<I, O> {
  return { input, long, run: async (ctx, x) => run(ctx, x) };
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
