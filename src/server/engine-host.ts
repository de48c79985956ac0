/**
 * The engine as a host process for the desktop window: the job runner and the
 * database live here, off Electron's main process, so a long import, a large
 * `runs show` or a many-seed replay never blocks the event loop that draws the
 * window, its menus and its dialogs. It answers serve mode's job protocol over
 * the parent's message port (engine-protocol.ts); engine-process.ts is the
 * entry point that finds that port and starts it.
 */
import type { OpenedFile } from '../api/command.js';
import { openedFiles } from '../api/commands.js';
import type { StudioEvent } from '../api/context.js';
import type { Store } from '../store/store.js';
import { appVersion } from '../version.js';
import { parseHostRequest, type HostReply } from './engine-protocol.js';
import { JobRunner, toJsonSafe, type JobOutcome } from './jobs.js';

/** The host's end of the parent's message port. */
export interface HostPort {
  onMessage(listener: (message: unknown) => void): void;
  post(message: HostReply): void;
}

export interface HostOptions {
  /** The database, opened on first use. */
  store: () => Store;
  /** Closes the database if it was opened. */
  closeStore: () => void;
  /** Called once a shutdown has finished: the process may exit. */
  onShutdown: () => void;
  /** How long a shutdown waits for cancelled jobs to wind down before it closes the database anyway. */
  graceMs?: number;
}

export interface Host {
  /** Cancels every job, waits for them (up to graceMs), closes the database, then calls onShutdown. */
  shutdown(): Promise<void>;
}

export function hostEngine(port: HostPort, options: HostOptions): Host {
  const runner = new JobRunner(options.store);
  const jobs = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;

  const shutdown = (): Promise<void> =>
    (closing ??= (async () => {
      runner.cancelAll();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((ok) => (timer = setTimeout(ok, options.graceMs ?? 10_000)));
      await Promise.race([Promise.allSettled([...jobs]), grace]);
      clearTimeout(timer);
      options.closeStore();
      options.onShutdown();
    })());

  const emit = (id: string, event: StudioEvent): void => {
    try {
      port.post({ type: 'event', id, event });
    } catch {
      // Structured clone refuses functions and the like; serve's JSON view of the event carries what the page reads.
      port.post({ type: 'event', id, event: toJsonSafe(event) as StudioEvent });
    }
  };

  const answer = (id: string, out: JobOutcome, opened: () => OpenedFile[] = () => []): void => {
    try {
      port.post(out.ok ? { type: 'result', id, ok: true, result: out.result, opened: opened() } : { type: 'result', id, ok: false, error: out.error });
    } catch (e) {
      port.post({ type: 'result', id, ok: false, error: { message: `the result could not be sent: ${e instanceof Error ? e.message : String(e)}`, kind: 'internal' } });
    }
  };

  port.onMessage((raw) => {
    const m = parseHostRequest(raw);
    if (!m) return;
    if (m.type === 'shutdown') return void shutdown();
    if (m.type === 'cancel') return void runner.cancel(m.id);
    if (closing) return answer(m.id, { ok: false, error: { message: 'the studio is closing', kind: 'cancelled' } });
    const job = runner.run(m.id, m.command, m.payload, (event) => emit(m.id, event)).then((out) => answer(m.id, out, () => openedFiles(m.command, m.payload, out.ok ? out.result : undefined)));
    jobs.add(job);
    void job.finally(() => jobs.delete(job));
  });
  port.post({ type: 'hello', version: appVersion });
  return { shutdown };
}
