/**
 * The window's only surface into the main process: invoke a command, and
 * subscribe to the events of the commands it started. No Node, no Electron
 * objects cross the bridge (contextIsolation, sandbox).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

// Channel names are repeated here (not imported): a sandboxed preload is one file that can require only 'electron'.
const INVOKE_CHANNEL = 'studio:invoke';
const EVENT_CHANNEL = 'studio:event';

contextBridge.exposeInMainWorld('exitStudio', {
  invoke: (command: string, payload: unknown, requestId: string): Promise<unknown> =>
    ipcRenderer.invoke(INVOKE_CHANNEL, { id: String(requestId), command: String(command), payload }),
  subscribe: (listener: (message: { id: string; event: unknown }) => void): (() => void) => {
    const wrapped = (_e: IpcRendererEvent, message: { id: string; event: unknown }): void => listener(message);
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
  },
});
