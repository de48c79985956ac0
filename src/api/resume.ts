/**
 * Running an interrupted job again. Every long command runs with its request
 * (command name + payload, paths made absolute) in scope, and the trace and
 * run rows it writes keep that request; a row left 'interrupted' by a killed
 * process can then be redone from any door (CLI, UI) with 'job.rerun'.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { notFound, StudioError } from '../errors.js';
import type { JobRequest } from '../store/requests.js';
import { command } from './command.js';
import type { CommandContext } from './context.js';
import { storedRunPayload } from './policy-input.js';
import { emptyInput } from './schemas.js';

/** The request a job keeps with its rows: the validated payload, with the file paths its command names (`paths`) made absolute. */
export function recordedRequest(name: string, paths: readonly string[], input: unknown): JobRequest {
  if (paths.length === 0 || typeof input !== 'object' || input === null) return { command: name, payload: input };
  const payload: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const f of paths) {
    const v = payload[f];
    if (typeof v === 'string') payload[f] = resolve(v);
    else if (Array.isArray(v)) payload[f] = v.map((p: unknown) => (typeof p === 'string' ? resolve(p) : p));
  }
  return { command: name, payload };
}

export const rerunInput = z.object({ kind: z.enum(['trace', 'run']), id: z.number().int().positive() }).strict();

export interface RerunOutcome {
  kind: 'trace' | 'run';
  /** The interrupted row, deleted once the new job completed. */
  replaced: number;
  /** The new trace or run. */
  id: number;
  command: string;
  /** What the re-invoked command returned (as 'trace.infer', 'trace.import' or 'policy.run' return it). */
  result: unknown;
}

function rerunHint(kind: 'trace' | 'run', id: number) {
  return { command: 'job.rerun', payload: { kind, id }, cli: `exit-studio rerun ${kind} ${id}` };
}

async function rerun(ctx: CommandContext, input: z.output<typeof rerunInput>): Promise<RerunOutcome> {
  const { kind, id } = input;
  const store = ctx.store;
  const status = kind === 'trace' ? store.traces.status(id) : store.runs.get(id).status;
  if (status === undefined) throw notFound(kind, id);
  if (status !== 'interrupted') throw new StudioError(`${kind} ${id} is ${status}; only an interrupted job can be run again`, { kind: 'conflict' });
  const request = kind === 'trace' ? store.traces.request(id) : store.runs.request(id);
  // Imported here: the command table holds this module's commands.
  const { commands, invoke, isCommandName } = await import('./commands.js');
  if (!request || !isCommandName(request.command) || !commands[request.command].rerunnable) {
    throw new StudioError(`${kind} ${id} was interrupted before the studio kept the request that started it; start it again by hand`, { kind: 'conflict' });
  }
  // A policy run resumes from the seeds it kept before it was interrupted, evaluated as it was.
  const payload = kind === 'run' && request.command === 'policy.run' ? { ...(storedRunPayload(request.payload) as object), resumeFrom: id } : request.payload;
  const result = await invoke(ctx, request.command, payload);
  let newId: number;
  if (kind === 'trace') {
    newId = (result as { traceId: number }).traceId;
    store.traces.discardInterrupted(id);
  } else {
    newId = (result as { runs: { runId: number }[] }).runs[0]!.runId;
    store.runs.discardInterrupted(id);
  }
  return { kind, replaced: id, id: newId, command: request.command, result };
}

export const resumeCommands = {
  /** Runs an interrupted trace (inference or import) or policy run again, from the request stored with it. */
  'job.rerun': command(rerunInput, rerun, true),
  /** Interrupted traces and runs, each with the command that runs it again. */
  'job.interrupted': command(emptyInput, (ctx) => {
    // A long-lived studio (serve, the desktop) learns of writers that died since it opened.
    ctx.store.recover();
    return {
      traces: ctx.store.traces.interrupted().map((t) => ({ ...t, status: 'interrupted' as const, request: ctx.store.traces.request(t.id), rerun: rerunHint('trace', t.id) })),
      runs: ctx.store.runs.interrupted().map((r) => ({ ...r, request: ctx.store.runs.request(r.id), rerun: rerunHint('run', r.id) })),
    };
  }),
};
