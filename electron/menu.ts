/**
 * The application menu as a plain template (what Menu.buildFromTemplate
 * takes), built by a pure function so its items, shortcuts and the actions
 * they send are tested without Electron. Menu items that need the page
 * (dialogs, navigation) send one typed action on MENU_CHANNEL; the preload
 * exposes that channel as a subscription and the renderer maps each action.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { recentKind, recentLabel, type RecentEntry } from './recent.js';

/** Main → window: menu actions (the only other message the window receives besides its commands' events). */
export const MENU_CHANNEL = 'studio:menu';

export const menuAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('openModel') }).strict(),
  z.object({ action: z.literal('openDataset') }).strict(),
  z.object({ action: z.literal('importTrace') }).strict(),
  z.object({ action: z.literal('exportPolicy') }).strict(),
  /** A recent file (Open Recent, or the OS list on macOS): open it as what it was. */
  z.object({ action: z.literal('open'), kind: recentKind, path: z.string().min(1).max(4096) }).strict(),
]);
export type MenuAction = z.output<typeof menuAction>;

/** The roles this menu uses (a subset of Electron's MenuItemConstructorOptions['role']). */
export type MenuRole =
  | 'appMenu'
  | 'editMenu'
  | 'windowMenu'
  | 'help'
  | 'close'
  | 'quit'
  | 'reload'
  | 'forceReload'
  | 'toggleDevTools'
  | 'resetZoom'
  | 'zoomIn'
  | 'zoomOut'
  | 'togglefullscreen';

/** The subset of MenuItemConstructorOptions the builder produces; main.ts hands it to Menu.buildFromTemplate as is. */
export interface MenuItem {
  label?: string;
  role?: MenuRole;
  type?: 'separator';
  accelerator?: string;
  enabled?: boolean;
  toolTip?: string;
  id?: string;
  submenu?: MenuItem[];
  click?: () => void;
}

export interface MenuOptions {
  /** process.platform. */
  platform: string;
  /** Reload and the developer tools appear only here (npm start, not a packaged app). */
  isDevelopment: boolean;
  recent: readonly RecentEntry[];
  /** Sends an action to the window (main.ts picks the focused one, or opens one). */
  send(action: MenuAction): void;
  clearRecent(): void;
  openDocumentation(): void;
}

const SEP: MenuItem = { type: 'separator' };

/** File → Open Recent: newest first, then Clear Recent; a disabled line when empty. */
function recentMenu(o: MenuOptions): MenuItem[] {
  if (o.recent.length === 0) return [{ label: 'No Recent Files', enabled: false }];
  return [
    ...o.recent.map((e): MenuItem => ({ label: recentLabel(e), toolTip: e.path, click: () => o.send({ action: 'open', kind: e.kind, path: e.path }) })),
    SEP,
    { label: 'Clear Recent', id: 'clear-recent', click: () => o.clearRecent() },
  ];
}

export function buildMenuTemplate(o: MenuOptions): MenuItem[] {
  const mac = o.platform === 'darwin';
  const dev = o.isDevelopment;
  return [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    {
      label: mac ? 'File' : '&File',
      id: 'file',
      submenu: [
        { label: 'Open Model…', id: 'open-model', accelerator: 'CmdOrCtrl+O', click: () => o.send({ action: 'openModel' }) },
        { label: 'Open Dataset…', id: 'open-dataset', accelerator: 'CmdOrCtrl+Shift+O', click: () => o.send({ action: 'openDataset' }) },
        { label: 'Import Trace…', id: 'import-trace', click: () => o.send({ action: 'importTrace' }) },
        { label: 'Open Recent', id: 'open-recent', submenu: recentMenu(o) },
        SEP,
        { label: 'Export Policy…', id: 'export-policy', accelerator: 'CmdOrCtrl+E', click: () => o.send({ action: 'exportPolicy' }) },
        SEP,
        { label: 'Close Window', role: 'close', accelerator: 'CmdOrCtrl+W' },
        ...(mac ? [] : [{ label: 'Quit', role: 'quit' as const }]),
      ],
    },
    { role: 'editMenu' },
    {
      label: mac ? 'View' : '&View',
      id: 'view',
      submenu: [
        ...(dev ? [{ role: 'reload' as const }, { role: 'forceReload' as const }, SEP] : []),
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        SEP,
        { role: 'togglefullscreen' },
        ...(dev ? [SEP, { role: 'toggleDevTools' as const }] : []),
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      label: mac ? 'Help' : '&Help',
      submenu: [{ label: 'Exit Studio documentation', id: 'docs', click: () => o.openDocumentation() }],
    },
  ];
}

/**
 * Where the README may be, best first: next to the app's resources (where an
 * installer puts extra files), unpacked beside app.asar, or in the app's own
 * folder (npm start). Never inside app.asar: the OS cannot open a file there.
 */
export function documentationCandidates(appPath: string, resourcesPath: string | undefined): string[] {
  const out: string[] = [];
  if (resourcesPath) out.push(join(resourcesPath, 'README.md'));
  if (/\.asar$/i.test(appPath)) out.push(join(`${appPath}.unpacked`, 'README.md'));
  else out.push(join(appPath, 'README.md'));
  return [...new Set(out)];
}
