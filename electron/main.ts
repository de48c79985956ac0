/**
 * The desktop shell: one window, a menu, native dialogs, and the IPC bridge
 * to the engine. The engine (dist/src: the job runner, SQLite, onnxruntime)
 * runs in its own utility process (src/server/engine-process.ts) and speaks
 * serve mode's job protocol; this process only relays messages and owns the
 * window, so a long import or replay never freezes the window, its menus or
 * its dialogs. The renderer is dist/ui.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, session, shell, utilityProcess, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EngineClient, type EngineProcess, type EngineSession } from '../src/server/engine-client.js';
import { EVENT_CHANNEL, handleInvoke, INVOKE_CHANNEL, isAppUrl, isExternalLink, navigationAllowed, permissionAllowed, windowCsp, type AppOrigin, type BridgeDeps } from './bridge.js';
import { buildMenuTemplate, documentationCandidates, MENU_CHANNEL, menuAction, type MenuAction } from './menu.js';
import { addRecent, kindOfPath, parseRecent, pruneRecent, RECENT_FILE, serializeRecent, type RecentEntry } from './recent.js';

// Set by Electron Forge's Vite plugin during `npm start`; absent in a packaged app.
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
const devServerUrl = typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' ? MAIN_WINDOW_VITE_DEV_SERVER_URL : undefined;

app.enableSandbox();
const root = app.getAppPath();
const origin: AppOrigin = { fileUrl: pathToFileURL(join(root, 'dist', 'ui', 'index.html')).href, devServerUrl };

/** The engine's process: the compiled engine entry, in a utility process that inherits the environment (EXIT_STUDIO_DB, EXIT_STUDIO_ORT_LOG). */
function spawnEngine(): EngineProcess {
  const child = utilityProcess.fork(join(root, 'dist', 'src', 'server', 'engine-process.js'), [], { serviceName: 'Exit Studio engine', stdio: 'inherit' });
  return {
    post: (message) => child.postMessage(message),
    onMessage: (listener) => void child.on('message', listener),
    onExit: (listener) => void child.once('exit', listener),
    kill: () => void child.kill(),
  };
}

const engine = new EngineClient(spawnEngine);

/** What the window, the menu and the dialogs need from the bridge's dependencies; the engine side comes per window. */
type WindowHost = Omit<BridgeDeps, 'run' | 'cancel'>;

/** Each window's requests: ids scoped to the window, cancelled when it closes. */
const sessions = new Map<number, EngineSession>();
function sessionOf(contents: WebContents): EngineSession {
  const known = sessions.get(contents.id);
  if (known) return known;
  const made = engine.session(`w${contents.id}`);
  sessions.set(contents.id, made);
  contents.once('destroyed', () => {
    made.close();
    sessions.delete(contents.id);
  });
  return made;
}

function createWindow(deps: WindowHost): BrowserWindow {
  const win = new BrowserWindow({
    width: 1360,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'Exit Studio',
    show: false,
    webPreferences: {
      // Electronegativity flags every preload for review (PRELOAD_JS_CHECK); reviewed: preload.cts exposes
      // only invoke/subscribe/onMenu/pathForFile through contextBridge, on three fixed channels, no Node or
      // Electron objects, and main.ts answers IPC only from the app's own top frame (isTrustedSender).
      preload: join(import.meta.dirname, 'preload.cjs'), // eng-disable PRELOAD_JS_CHECK
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      // A middle click must not open anything (new windows are denied anyway).
      disableBlinkFeatures: 'Auxclick',
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
    // Electronegativity flags any non-constant URL here (OPEN_EXTERNAL_JS_CHECK, for review); reviewed:
    // only https URLs reach the OS browser (isExternalLink), never file:, smb:, custom schemes or javascript:.
    if (isExternalLink(url)) void shell.openExternal(url); // eng-disable OPEN_EXTERNAL_JS_CHECK
    return { action: 'deny' };
  });
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  if (devServerUrl) void win.loadURL(devServerUrl);
  else void win.loadFile(join(root, 'dist', 'ui', 'index.html'));
  return win;
}

// ---- Recent files: a small JSON in userData, mirrored to the OS list (macOS Dock, Windows jump list).

const recentPath = (): string => join(app.getPath('userData'), RECENT_FILE);
const caseInsensitive = process.platform === 'darwin' || process.platform === 'win32';
const osRecentList = process.platform === 'darwin' || process.platform === 'win32';
let recent: RecentEntry[] = [];

function loadRecent(): void {
  try {
    recent = pruneRecent(parseRecent(JSON.parse(readFileSync(recentPath(), 'utf8'))), existsSync);
  } catch {
    recent = [];
  }
}

function saveRecent(): void {
  try {
    const file = recentPath();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, serializeRecent(recent));
    renameSync(`${file}.tmp`, file);
  } catch {
    // Recent files are a convenience: a read-only profile must not break the app.
  }
}

function recordRecent(entries: RecentEntry[]): void {
  for (const e of entries) {
    recent = addRecent(recent, e, { caseInsensitive });
    if (osRecentList) app.addRecentDocument(e.path);
  }
  saveRecent();
  menu();
}

function clearRecent(): void {
  recent = [];
  if (osRecentList) app.clearRecentDocuments();
  saveRecent();
  menu();
}

// ---- The menu: its actions go to the window on one channel; the window maps them to dialogs and screens.

/**
 * Sends a menu action (checked against its schema) to the focused window, or
 * the first, or a new one once its page has loaded; only ever to the app's
 * own page.
 */
function sendMenuAction(action: MenuAction, deps: WindowHost): void {
  const a = menuAction.parse(action);
  const deliver = (w: BrowserWindow): void => {
    if (!w.isDestroyed() && isAppUrl(w.webContents.getURL(), deps.origin)) w.webContents.send(MENU_CHANNEL, a);
  };
  const win = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
  if (win && !win.webContents.isLoading()) return deliver(win);
  const target = win ?? createWindow(deps);
  target.webContents.once('did-finish-load', () => deliver(target));
}

async function openDocumentation(): Promise<void> {
  const readme = documentationCandidates(app.getAppPath(), process.resourcesPath).find((p) => existsSync(p));
  const problem = readme ? await shell.openPath(readme) : 'the README is not installed with this copy of the app';
  if (problem) dialog.showErrorBox('Exit Studio documentation', `Could not open the documentation: ${problem}`);
}

let menuDeps: WindowHost | undefined;

function menu(): void {
  const deps = menuDeps;
  recent = pruneRecent(recent, existsSync);
  const template = buildMenuTemplate({
    platform: process.platform,
    isDevelopment: !app.isPackaged,
    recent,
    send: (action) => {
      if (deps) sendMenuAction(action, deps);
    },
    clearRecent,
    openDocumentation: () => void openDocumentation(),
  });
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (ev, url) => {
    if (!navigationAllowed(url, origin)) ev.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

// macOS: a file picked in the Dock's recent list (or dropped on the Dock icon) opens as what it is.
const pendingOpen: string[] = [];
app.on('open-file', (e, path) => {
  e.preventDefault();
  if (!menuDeps) {
    pendingOpen.push(path);
    return;
  }
  openFromOs(path, menuDeps);
});

function openFromOs(path: string, deps: WindowHost): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    return;
  }
  const kind = kindOfPath(path, recent, isDirectory);
  if (kind) sendMenuAction({ action: 'open', kind, path }, deps);
}

app.whenReady().then(() => {
  engine.start();
  // The page's Content-Security-Policy, on the app's own page (the dev server's too).
  const csp = windowCsp(origin);
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    if (details.resourceType !== 'mainFrame' || !isAppUrl(details.url, origin)) return callback({});
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  // Permission requests (camera, notifications, geolocation...) are refused but the clipboard write of the app's own page.
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(permissionAllowed(permission, details.requestingUrl, origin));
  });
  const deps: WindowHost = {
    origin,
    recordRecent,
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
    // The engine side of the bridge is the sending window's own session.
    const own = sessionOf(event.sender);
    return handleInvoke({ ...deps, run: own.run, cancel: own.cancel }, sender, message, (m) => {
      if (!event.sender.isDestroyed()) event.sender.send(EVENT_CHANNEL, m);
    });
  });
  menuDeps = deps;
  loadRecent();
  menu();
  createWindow(deps);
  for (const p of pendingOpen.splice(0)) openFromOs(p, deps);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(deps);
  });
  // Quitting waits for the engine to cancel its jobs and close the database (WAL folded back, nothing half-written).
  let engineClosed = false;
  app.on('before-quit', (e) => {
    if (engineClosed) return;
    e.preventDefault();
    void engine.close().finally(() => {
      engineClosed = true;
      app.quit();
    });
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
