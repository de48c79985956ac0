/**
 * The desktop menu's actions as the page receives them (electron/menu.ts
 * sends them on one channel): checked here before anything acts on them,
 * and mapped to a dialog, a file to open, or a screen. Pure, so the routing
 * is tested under Node.
 */
import type { FileFilter } from './host.js';
import { FILE_KINDS, fileFilter } from '../../../src/formats/table.js';
import type { OpenKind, OpenStep } from './drop.js';
import type { Screen } from './route.js';

export type MenuAction =
  | { action: 'openModel' }
  | { action: 'openDataset' }
  | { action: 'importTrace' }
  | { action: 'exportPolicy' }
  | { action: 'open'; kind: OpenKind; path: string };

const KINDS = new Set<string>(FILE_KINDS);
const BARE = new Set<string>(['openModel', 'openDataset', 'importTrace', 'exportPolicy']);

/** The action, or null for anything else (the page never trusts what arrives on a channel). */
export function parseMenuAction(x: unknown): MenuAction | null {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return null;
  const o = x as Record<string, unknown>;
  const keys = Object.keys(o);
  if (typeof o.action !== 'string') return null;
  if (BARE.has(o.action)) return keys.length === 1 ? ({ action: o.action } as MenuAction) : null;
  if (o.action === 'open') {
    if (keys.length !== 3 || typeof o.kind !== 'string' || !KINDS.has(o.kind)) return null;
    if (typeof o.path !== 'string' || o.path.length === 0 || o.path.length > 4096) return null;
    return { action: 'open', kind: o.kind as OpenKind, path: o.path };
  }
  return null;
}

export interface OpenDialog {
  title: string;
  filters: FileFilter[];
  /** What the picked file is opened as. */
  kind: OpenKind;
}

/** What the page does for an action: ask for a file, open one, or go to a screen. */
export type MenuPlan = { type: 'dialog'; dialog: OpenDialog } | { type: 'open'; step: OpenStep } | { type: 'go'; screen: Screen };

export function menuPlan(a: MenuAction): MenuPlan {
  switch (a.action) {
    case 'openModel':
      return { type: 'dialog', dialog: { title: 'Open a model', kind: 'model', filters: [fileFilter('model')] } };
    case 'openDataset':
      return { type: 'dialog', dialog: { title: 'Open a dataset', kind: 'dataset', filters: [fileFilter('dataset')] } };
    case 'importTrace':
      return { type: 'dialog', dialog: { title: 'Import a trace', kind: 'trace', filters: [fileFilter('trace')] } };
    case 'exportPolicy':
      return { type: 'go', screen: 'export' };
    case 'open':
      return { type: 'open', step: { kind: a.kind, path: a.path } };
  }
}
