/**
 * The request that started a job (command name + validated payload), kept
 * with the trace or run rows the job writes, so an interrupted job can be
 * run again exactly as it was asked for.
 *
 * The command table sets it around a long command (withJobRequest); the
 * stores read it when a job begins a row, unless the caller passes one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface JobRequest {
  command: string;
  payload: unknown;
}

const current = new AsyncLocalStorage<JobRequest>();

export function withJobRequest<T>(request: JobRequest, fn: () => T): T {
  return current.run(request, fn);
}

export function currentJobRequest(): JobRequest | undefined {
  return current.getStore();
}

export function parseRequest(json: string | null): JobRequest | null {
  if (json === null) return null;
  try {
    const r = JSON.parse(json) as JobRequest;
    return typeof r?.command === 'string' ? r : null;
  } catch {
    return null;
  }
}
