/** The desktop transport: the preload's generic bridge to the command table, plus native dialogs, menu actions and dropped files' paths. */
import { HostError, requestId, type DesktopBridge, type FileFilter, type Host, type Job } from './host.js';
import { parseMenuAction, type MenuAction } from './host-menu.js';
import type { StudioEvent } from './types.js';

export class DesktopHost implements Host {
  readonly kind = 'desktop' as const;
  private readonly listeners = new Map<string, (e: StudioEvent) => void>();

  constructor(private readonly bridge: DesktopBridge) {
    bridge.subscribe(({ id, event }) => this.listeners.get(id)?.(event));
  }

  invoke<T = unknown>(command: string, payload: unknown = {}, onEvent?: (event: StudioEvent) => void): Job<T> {
    const id = requestId();
    if (onEvent) this.listeners.set(id, onEvent);
    const result = this.bridge.invoke(command, payload, id).then(
      (r) => {
        this.listeners.delete(id);
        if (r.ok) return r.result as T;
        throw new HostError(r.error.message, r.error.kind, r.error.code, r.error.field);
      },
      (e: unknown) => {
        this.listeners.delete(id);
        throw new HostError(e instanceof Error ? e.message : String(e), 'internal');
      },
    );
    return { id, result, cancel: () => void this.bridge.invoke('host.cancel', { requestId: id }, requestId()) };
  }

  async openFile(options: { title: string; filters?: FileFilter[]; directory?: boolean }): Promise<string | null> {
    return (await this.invoke<{ path: string | null }>('host.openFile', options).result).path;
  }

  async saveFile(options: { title: string; defaultPath?: string; filters?: FileFilter[] }): Promise<string | null> {
    return (await this.invoke<{ path: string | null }>('host.saveFile', options).result).path;
  }

  pathForFile(file: File): string {
    const p = this.bridge.pathForFile(file);
    return typeof p === 'string' ? p : '';
  }

  onMenu(listener: (action: MenuAction) => void): () => void {
    return this.bridge.onMenu((raw) => {
      const a = parseMenuAction(raw);
      if (a) listener(a);
    });
  }
}
