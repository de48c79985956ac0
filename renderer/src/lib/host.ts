/**
 * The one door the views use into the studio. Two transports implement it:
 * the desktop window's preload bridge (Electron IPC) and serve mode's
 * WebSocket. Views never know which one they have, except to offer native
 * file dialogs where there are some.
 */
import type { MenuAction } from './host-menu.js';
import type { StudioEvent } from './types.js';

export interface Job<T> {
  id: string;
  result: Promise<T>;
  /** Asks the host to abort the command (its AbortSignal); the result then rejects with kind 'cancelled'. */
  cancel(): void;
}

export interface FileFilter {
  name: string;
  extensions: string[];
}

export interface Host {
  readonly kind: 'desktop' | 'browser';
  invoke<T = unknown>(command: string, payload?: unknown, onEvent?: (event: StudioEvent) => void): Job<T>;
  /** Native open dialog (desktop only); null when the user cancels. */
  openFile?(options: { title: string; filters?: FileFilter[]; directory?: boolean }): Promise<string | null>;
  /** Native save dialog (desktop only). */
  saveFile?(options: { title: string; defaultPath?: string; filters?: FileFilter[] }): Promise<string | null>;
  /** The path on disk of a dropped file (desktop only: a browser page never learns one); '' when it has none. */
  pathForFile?(file: File): string;
  /** Subscribes to the application menu's actions (desktop only); returns the unsubscribe. */
  onMenu?(listener: (action: MenuAction) => void): () => void;
}

/** A command's failure as the views show it; `code` 'exists' means the same request with force: true replaces an output. */
export class HostError extends Error {
  constructor(
    message: string,
    readonly kind: string,
    readonly code?: string,
    /** The payload field the problem is in (the engine's name; errorText gives the studio's). */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

let counter = 0;
/** Request ids: unique per page, [A-Za-z0-9_.:-] as both transports require. */
export function requestId(): string {
  counter += 1;
  return `r${Date.now().toString(36)}-${counter}`;
}

/** What the preload puts on window (desktop only): the only surface the page gets. */
export interface DesktopBridge {
  invoke(command: string, payload: unknown, requestId: string): Promise<{ ok: true; result: unknown } | { ok: false; error: { message: string; kind: string; code?: string; field?: string } }>;
  subscribe(listener: (message: { id: string; event: StudioEvent }) => void): () => void;
  /** Menu actions, unchecked: DesktopHost validates them. */
  onMenu(listener: (action: unknown) => void): () => void;
  /** webUtils.getPathForFile, behind the preload. */
  pathForFile(file: File): string;
}
