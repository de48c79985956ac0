/** What every command handler gets: the store, a way to report progress, and a cancel signal. */
import type { Store } from '../store/store.js';

/** Events a long command emits while it works; the transports forward them as they come. */
export type StudioEvent =
  | { type: 'progress'; job: string; done: number; total: number; samplesPerSecond?: number; etaSeconds?: number; message?: string }
  | { type: 'warning'; job: string; message: string }
  | { type: 'partial'; job: string; data: unknown };

export interface CommandContext {
  store: Store;
  emit: (event: StudioEvent) => void;
  signal?: AbortSignal;
}
