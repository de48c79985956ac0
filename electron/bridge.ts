/**
 * The desktop window's one IPC channel, as plain functions of what Electron
 * hands the main process, so its checks are tested without launching
 * Electron: who may call (only the app's own top frame), what they may send
 * (zod-validated messages; the command table validates each payload again),
 * and the few host commands the window answers itself (native dialogs,
 * cancel). Every other command goes to the engine's command table.
 */
import { z } from 'zod';
import { pageCsp } from '../src/server/csp.js';
import type { OpenedFile } from '../src/api/command.js';
import type { WireError } from '../src/server/protocol.js';
import { recentEntries, type RecentEntry } from './recent.js';

export const INVOKE_CHANNEL = 'studio:invoke';
export const EVENT_CHANNEL = 'studio:event';

/** Where the window's page may come from: the built renderer on disk, or Forge's dev server during `npm start`. */
export interface AppOrigin {
  /** file:// URL of the built renderer's index.html. */
  fileUrl: string;
  /** http://localhost:PORT of Vite's dev server, when running under Forge. */
  devServerUrl?: string | undefined;
}

/** True when a URL is the app's own page (file or dev server), never a remote site. */
export function isAppUrl(url: string, origin: AppOrigin): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'file:') {
    const own = new URL(origin.fileUrl);
    return u.pathname === own.pathname;
  }
  if (origin.devServerUrl) {
    const dev = new URL(origin.devServerUrl);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === dev.origin;
  }
  return false;
}

/** What the main process knows about the frame behind an IPC message. */
export interface SenderInfo {
  /** The URL of the frame that sent it (event.senderFrame.url). */
  frameUrl: string | undefined;
  /** Whether that frame is the window's top frame (not an iframe). */
  isMainFrame: boolean;
}

/** IPC only from the app's own top frame. */
export function isTrustedSender(sender: SenderInfo, origin: AppOrigin): boolean {
  return sender.isMainFrame && sender.frameUrl !== undefined && isAppUrl(sender.frameUrl, origin);
}

const requestId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/);

export const invokeMessage = z
  .object({
    id: requestId,
    command: z.string().min(1).max(100),
    payload: z.unknown().optional(),
  })
  .strict();

const filters = z.array(z.object({ name: z.string().max(100), extensions: z.array(z.string().regex(/^[A-Za-z0-9*]{1,16}$/)).max(20) }).strict()).max(10).optional();

export const openFileInput = z.object({ title: z.string().max(200), filters, directory: z.boolean().optional() }).strict();
export const saveFileInput = z.object({ title: z.string().max(200), defaultPath: z.string().max(4096).optional(), filters }).strict();
export const cancelInput = z.object({ requestId }).strict();

export type OpenFileOptions = z.output<typeof openFileInput>;
export type SaveFileOptions = z.output<typeof saveFileInput>;

/** What the engine answers; `opened` (the files the call opened) stays in the main process, for Open Recent. */
export type EngineResult = { ok: true; result: unknown; opened?: OpenedFile[] } | { ok: false; error: WireError };
/** What the page gets. */
export type BridgeResult = { ok: true; result: unknown } | { ok: false; error: WireError };

/** What the bridge needs from the main process: the engine's job runner and the native dialogs. */
export interface BridgeDeps {
  origin: AppOrigin;
  run(id: string, command: string, payload: unknown, emit: (event: unknown) => void): Promise<EngineResult>;
  cancel(id: string): boolean;
  openFile(options: OpenFileOptions): Promise<string | null>;
  saveFile(options: SaveFileOptions): Promise<string | null>;
  /** Files a command opened (File → Open Recent); never allowed to fail the command. */
  recordRecent?(entries: RecentEntry[]): void;
}

function refused(message: string): BridgeResult {
  return { ok: false, error: { message, kind: 'input' } };
}

function zodProblems(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`).join('; ');
}

/**
 * Handles one message on the invoke channel. `send` pushes an event for this
 * request back to the window that asked.
 */
export async function handleInvoke(deps: BridgeDeps, sender: SenderInfo, message: unknown, send: (m: { id: string; event: unknown }) => void): Promise<BridgeResult> {
  if (!isTrustedSender(sender, deps.origin)) return refused('refused: IPC is accepted only from the studio window itself');
  const m = invokeMessage.safeParse(message);
  if (!m.success) return refused(`refused: malformed message (${zodProblems(m.error)})`);
  const { id, command } = m.data;
  const payload = m.data.payload ?? {};
  switch (command) {
    case 'host.cancel': {
      const p = cancelInput.safeParse(payload);
      if (!p.success) return refused(`host.cancel: invalid payload (${zodProblems(p.error)})`);
      return { ok: true, result: { cancelled: deps.cancel(p.data.requestId) } };
    }
    case 'host.openFile': {
      const p = openFileInput.safeParse(payload);
      if (!p.success) return refused(`host.openFile: invalid payload (${zodProblems(p.error)})`);
      return { ok: true, result: { path: await deps.openFile(p.data) } };
    }
    case 'host.saveFile': {
      const p = saveFileInput.safeParse(payload);
      if (!p.success) return refused(`host.saveFile: invalid payload (${zodProblems(p.error)})`);
      return { ok: true, result: { path: await deps.saveFile(p.data) } };
    }
    default: {
      // The command table validates the payload against the command's own schema.
      const r = await deps.run(id, command, payload, (event) => send({ id, event }));
      if (!r.ok) return r;
      if (r.opened?.length && deps.recordRecent) {
        try {
          deps.recordRecent(recentEntries(r.opened));
        } catch {
          // A recent-files hiccup (disk full, bad path) must not fail the command.
        }
      }
      return { ok: true, result: r.result };
    }
  }
}

/** Navigation and new windows: only the app's own page, never elsewhere (links to the web open in the OS browser). */
export function navigationAllowed(url: string, origin: AppOrigin): boolean {
  return isAppUrl(url, origin);
}

/**
 * Permissions a page may be granted when it asks: only writing text to the
 * clipboard (Export's "Copy to clipboard"), and only for the app's own page.
 * Camera, microphone, notifications, geolocation, fullscreen... are refused.
 */
export function permissionAllowed(permission: string, requestingUrl: string, origin: AppOrigin): boolean {
  return permission === 'clipboard-sanitized-write' && isAppUrl(requestingUrl, origin);
}

/** URLs a click may hand to the OS browser: https only. */
export function isExternalLink(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * The window's Content-Security-Policy (added to the page's response headers
 * by main.ts): own scripts only, no plugins, no framing, no network but the
 * dev server's own socket during `npm start`.
 */
export function windowCsp(origin: AppOrigin): string {
  if (!origin.devServerUrl) return pageCsp();
  const dev = new URL(origin.devServerUrl);
  return pageCsp([dev.origin, `${dev.protocol === 'https:' ? 'wss' : 'ws'}://${dev.host}`]);
}
