/**
 * The desktop shell: one window, a menu, native dialogs, and the IPC bridge
 * to the engine's command table. Everything else is the engine (dist/src,
 * loaded at run time so the same compiled code serves the CLI, serve mode
 * and this window) and the renderer (dist/ui).
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, shell, type IpcMainInvokeEvent, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JobRunner } from '../src/server/jobs.js';
import { EVENT_CHANNEL, handleInvoke, INVOKE_CHANNEL, isExternalLink, navigationAllowed, type AppOrigin, type BridgeDeps } from './bridge.js';

// Set by Electron Forge's Vite plugin during `npm start`; absent in a packaged app.
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
const devServerUrl = typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' ? MAIN_WINDOW_VITE_DEV_SERVER_URL : undefined;

app.enableSandbox();
const root = app.getAppPath();
const origin: AppOrigin = { fileUrl: pathToFileURL(join(root, 'dist', 'ui', 'index.html')).href, devServerUrl };

async function engine(): Promise<{ runner: JobRunner; close(): void }> {
  const load = <T>(rel: string): Promise<T> => import(pathToFileURL(join(root, 'dist', 'src', rel)).href) as Promise<T>;
  const [{ JobRunner }, { openStore }, { resolveDbPath }] = await Promise.all([
    load<typeof import('../src/server/jobs.js')>('server/jobs.js'),
    load<typeof import('../src/store/store.js')>('store/store.js'),
    load<typeof import('../src/store/location.js')>('store/location.js'),
  ]);
  let store: ReturnType<typeof openStore> | undefined;
  // The same database as the CLI (app data folder, or EXIT_STUDIO_DB), opened on first use.
  const runner = new JobRunner(() => (store ??= openStore(resolveDbPath(undefined))));
  return { runner, close: () => store?.close() };
}

function createWindow(deps: BridgeDeps): BrowserWindow {
  const win = new BrowserWindow({
    width: 1360,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'Exit Studio',
    show: false,
    webPreferences: {
      preload: join(import.meta.dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  // Navigation and new windows stay inside the app; https links open in the OS browser.
  win.webContents.on('will-navigate', (e, url) => {
    if (!navigationAllowed(url, deps.origin)) e.preventDefault();
  });
  win.webContents.on('will-redirect', (e, url) => {
    if (!navigationAllowed(url, deps.origin)) e.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  if (devServerUrl) void win.loadURL(devServerUrl);
  else void win.loadFile(join(root, 'dist', 'ui', 'index.html'));
  return win;
}

function menu(): void {
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'Exit Studio on the web', click: () => void shell.openExternal('https://github.com/') }],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (ev, url) => {
    if (!navigationAllowed(url, origin)) ev.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

app.whenReady().then(async () => {
  const { runner, close } = await engine();
  const deps: BridgeDeps = {
    origin,
    run: (id, command, payload, emit) => runner.run(id, command, payload, emit),
    cancel: (id) => runner.cancel(id),
    openFile: async (o) => {
      const win = BrowserWindow.getFocusedWindow();
      const opts = { title: o.title, properties: [o.directory ? ('openDirectory' as const) : ('openFile' as const)], ...(o.filters ? { filters: o.filters } : {}) };
      const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    saveFile: async (o) => {
      const win = BrowserWindow.getFocusedWindow();
      const opts = { title: o.title, ...(o.defaultPath ? { defaultPath: o.defaultPath } : {}), ...(o.filters ? { filters: o.filters } : {}) };
      const r = win ? await dialog.showSaveDialog(win, opts) : await dialog.showSaveDialog(opts);
      return r.canceled ? null : (r.filePath ?? null);
    },
  };
  ipcMain.handle(INVOKE_CHANNEL, (event: IpcMainInvokeEvent, message: unknown) => {
    const frame = event.senderFrame;
    const sender = { frameUrl: frame?.url, isMainFrame: frame !== null && frame !== undefined && frame === event.sender.mainFrame };
    return handleInvoke(deps, sender, message, (m) => {
      if (!event.sender.isDestroyed()) event.sender.send(EVENT_CHANNEL, m);
    });
  });
  menu();
  createWindow(deps);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(deps);
  });
  app.on('before-quit', () => {
    runner.cancelAll();
    close();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
