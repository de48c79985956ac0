/**
 * What the screens share: the host, the files the user picked, the model
 * they inspected, the trace and runs they are working on. One object of
 * runes; big payloads are kept raw (not deeply reactive).
 */
import type { CommandName, CommandPayload, CommandResult } from '../../../src/api/wire.js';
import { studioErrorText } from './fields.js';
import { HostError, type Host, type Job } from './host.js';
import type { LatencyProfile, ModelInfo, RunRecord, SamplePaths, StudioEvent, TraceMeta } from './types.js';
import { parseRoute, routeHash, type Route } from './route.js';

let host: Host | undefined;

export function setHost(h: Host): void {
  host = h;
}

export function getHost(): Host {
  if (!host) throw new Error('no host');
  return host;
}

/** One exit as the Model screen edits it: kept or not, and its position. */
export interface ExitChoice {
  name: string;
  enabled: boolean;
  macs: number;
}

export const studio = $state({
  modelPath: '',
  dataPath: '',
  labelsPath: '',
  model: null as ModelInfo | null,
  exits: [] as ExitChoice[],
  traceId: null as number | null,
  /** The latency profile of the latest inference of this model, with the exits it was timed at. */
  latency: null as (LatencyProfile & { exits: string[] }) | null,
  /** Runs from the latest policy.run, for Compare and Export. */
  lastRunIds: [] as number[],
  route: parseRoute(typeof location === 'undefined' ? '' : location.hash) as Route,
});

export function go(r: Route): void {
  const h = routeHash(r);
  if (location.hash !== h) location.hash = h;
  else studio.route = r;
}

if (typeof window !== 'undefined') {
  window.addEventListener('hashchange', () => {
    studio.route = parseRoute(location.hash);
  });
}

/** Starts a command as a job (events, cancellable): its name, payload and result typed by the command table (src/api/wire.ts). */
export function start<N extends CommandName>(command: N, payload: CommandPayload<N>, onEvent?: (e: StudioEvent) => void): Job<CommandResult<N>> {
  return getHost().invoke<CommandResult<N>>(command, payload, onEvent);
}

/** Calls a command and waits for its result. */
export function call<N extends CommandName>(command: N, payload: CommandPayload<N>, onEvent?: (e: StudioEvent) => void): Promise<CommandResult<N>> {
  return start(command, payload, onEvent).result;
}

/** A command the user cancelled: nothing went wrong and nothing was saved. */
export function isCancelled(e: unknown): boolean {
  return e instanceof HostError && e.kind === 'cancelled';
}

/** The message to show for a failed command; one about a field the user set ends by naming that field as the studio labels it. */
export function errorText(e: unknown): string {
  if (e instanceof HostError) return studioErrorText(e.message, e.field, e.code);
  return e instanceof Error ? e.message : String(e);
}

export async function samplePaths(): Promise<SamplePaths> {
  return call('sample.paths', {});
}

/** A job a killed process left behind: listed so it can be run again (job.rerun). */
export interface InterruptedJob {
  kind: 'trace' | 'run';
  id: number;
  name: string;
}

export interface Recent {
  traces: TraceMeta[];
  runs: RunRecord[];
  models: { path: string; usedAt?: string }[];
  datasets: { path: string; usedAt?: string }[];
  interrupted: InterruptedJob[];
}

/** Home's lists. */
export async function recent(): Promise<Recent> {
  const r = await call('home.recent', {});
  return {
    traces: r.traces,
    runs: r.runs,
    models: r.models.map((m) => ({ path: m.path, usedAt: m.createdAt })),
    datasets: r.datasets.map((d) => ({ path: d.path, usedAt: d.createdAt })),
    interrupted: [...r.interrupted.map((t) => ({ kind: 'trace' as const, id: t.id, name: t.name })), ...r.interruptedRuns.map((x) => ({ kind: 'run' as const, id: x.id, name: x.name }))],
  };
}

/** A job's preparation or wrap-up step as one line ("hashing the model: 120 of 429 MB"), or undefined for sample progress. */
export function phaseText(e: StudioEvent): string | undefined {
  if (e.type !== 'progress' || !e.phase) return undefined;
  if (e.unit === 'bytes') return `${e.phase}: ${Math.round(e.done / 2 ** 20)} of ${Math.round(e.total / 2 ** 20)} MB`;
  return e.unit === 'steps' ? `${e.phase}…` : `${e.phase}: ${e.done} of ${e.total}`;
}

/** Sets the model and resets what depends on it. */
export function useModel(info: ModelInfo): void {
  if (studio.model?.sha256 !== info.sha256) studio.latency = null;
  studio.model = info;
  studio.modelPath = info.path;
  studio.exits = info.exits.map((e) => ({ name: e.name, enabled: true, macs: e.macs }));
}
