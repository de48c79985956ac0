/**
 * The window's only surface into the main process: invoke a command,
 * subscribe to the events of the commands it started, subscribe to menu
 * actions, and read the path of a file dropped on the window. No Node, no
 * Electron objects cross the bridge (contextIsolation, sandbox).
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';

// Channel names are repeated here (not imported): a sandboxed preload is one file that can require only 'electron'.
const INVOKE_CHANNEL = 'studio:invoke';
const EVENT_CHANNEL = 'studio:event';
const MENU_CHANNEL = 'studio:menu';

contextBridge.exposeInMainWorld('exitStudio', {
  invoke: (command: string, payload: unknown, requestId: string): Promise<unknown> =>
    ipcRenderer.invoke(INVOKE_CHANNEL, { id: String(requestId), command: String(command), payload }),
  subscribe: (listener: (message: { id: string; event: unknown }) => void): (() => void) => {
    const wrapped = (_e: IpcRendererEvent, message: { id: string; event: unknown }): void => listener(message);
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
  },
  /** Menu actions from the main process (the renderer validates each before acting on it). */
  onMenu: (listener: (action: unknown) => void): (() => void) => {
    const wrapped = (_e: IpcRendererEvent, action: unknown): void => listener(action);
    ipcRenderer.on(MENU_CHANNEL, wrapped);
    return () => void ipcRenderer.removeListener(MENU_CHANNEL, wrapped);
  },
  /** The path on disk of a File the user dropped on the window; '' for anything else (a File built in the page, not a File). */
  pathForFile: (file: unknown): string => {
    try {
      return webUtils.getPathForFile(file as File);
    } catch {
      return '';
    }
  },
});
