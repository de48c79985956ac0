/**
 * The command table: every door into the studio (CLI, serve mode, desktop
 * IPC) goes through invoke(), which validates the payload against the
 * command's schema before any work.
 */
import { StudioError } from '../errors.js';
import type { z } from 'zod';
import { parsePayload, type OpenedFile } from './command.js';
import type { CommandContext } from './context.js';
import { deployCommands } from './deploy-commands.js';
import { policyCommands } from './policy-commands.js';
import { recordedRequest, resumeCommands } from './resume.js';
import { withJobRequest } from '../store/requests.js';
import { traceCommands } from './trace-commands.js';

export const commands = {
  ...traceCommands,
  ...policyCommands,
  ...deployCommands,
  ...resumeCommands,
};

export type CommandName = keyof typeof commands;
type Table = typeof commands;
export type CommandInput<N extends CommandName> = Parameters<Table[N]['run']>[1];
export type CommandOutput<N extends CommandName> = Awaited<ReturnType<Table[N]['run']>>;

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(commands, name);
}

/** A long command runs as a job: progress, cancel, and a place in a transport's line of jobs. */
export function isLongCommand(name: string): boolean {
  return isCommandName(name) && commands[name].long;
}

/** Validates and runs a command by name; the payload is untrusted (it may come over IPC or HTTP). */
export async function invoke(ctx: CommandContext, name: string, payload: unknown): Promise<unknown> {
  if (!isCommandName(name)) throw new StudioError(`unknown command "${name}"`, { kind: 'not-found' });
  const cmd = commands[name];
  const input = parsePayload(name, cmd.input, payload);
  const run = (): Promise<unknown> => (cmd.run as (c: CommandContext, i: unknown) => Promise<unknown>)(ctx, input);
  // A long command's request goes with the rows its job writes, so an interrupted one can be run again (job.rerun).
  return cmd.long ? withJobRequest(recordedRequest(name, cmd.paths, input), run) : run();
}

/**
 * The files a call that succeeded opened, by its command's `opens`. Never
 * throws: a list for a menu must not fail the command it follows.
 */
export function openedFiles(name: string, payload: unknown, result: unknown): OpenedFile[] {
  if (!isCommandName(name)) return [];
  const cmd = commands[name] as { input: z.ZodType; opens: ((input: unknown, output: unknown) => OpenedFile[]) | undefined };
  if (!cmd.opens) return [];
  try {
    const input = cmd.input.safeParse(payload);
    return input.success ? cmd.opens(input.data, result).filter((f) => typeof f.path === 'string' && f.path.length > 0) : [];
  } catch {
    return [];
  }
}

/** Typed call for in-process callers (the CLI), still validated like any transport. */
export async function call<N extends CommandName>(ctx: CommandContext, name: N, payload: CommandInput<N>): Promise<CommandOutput<N>> {
  return (await invoke(ctx, name, payload)) as CommandOutput<N>;
}
