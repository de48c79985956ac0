/** What a CLI subcommand works with: its output, and a command context whose store opens on first use. */
import { existsSync } from 'node:fs';
import { resolveDbPath } from '../store/location.js';
import { openStore, type Store } from '../store/store.js';
import type { CommandContext, StudioEvent } from '../api/context.js';
import { seconds, type Output } from './output.js';

export interface CliEnv {
  out: Output;
  /**
   * A command context whose events become progress bars and notes. The
   * database (--db, EXIT_STUDIO_DB or the app-data default) is opened only
   * when a command touches the store, so `inspect` never creates one; a
   * command that only reads ('read') finds an empty store where there is no
   * database yet, and creates neither the file nor its folders.
   */
  context(dbFlag: string | undefined, signal?: AbortSignal, mode?: 'read' | 'write'): CommandContext;
  close(): void;
}

export function makeEnv(out: Output): CliEnv {
  let store: Store | undefined;
  const emit = (e: StudioEvent): void => {
    if (e.type === 'progress') {
      const rate = e.samplesPerSecond ? `${e.samplesPerSecond.toFixed(0)}/s` : '';
      const eta = e.etaSeconds !== undefined && e.done < e.total ? ` ETA ${seconds(e.etaSeconds)}` : '';
      out.progress(e.job, e.done, e.total, `${rate}${eta}${e.message ? ' ' + e.message : ''}`);
    } else if (e.type === 'warning') {
      out.note(`warning: ${e.message}`);
    }
  };
  return {
    out,
    context(dbFlag, signal, mode = 'write') {
      const ctx: CommandContext = {
        get store(): Store {
          const path = resolveDbPath(dbFlag);
          store ??= openStore(mode === 'read' && !existsSync(path) ? ':memory:' : path);
          return store;
        },
        emit,
      };
      if (signal) ctx.signal = signal;
      return ctx;
    },
    close() {
      store?.close();
    },
  };
}
