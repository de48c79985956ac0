/**
 * Recent files of the desktop window (File → Open Recent, and the OS list
 * through app.addRecentDocument): the models, datasets and traces the user
 * opened. Kept as plain functions of plain data, so the rules (add, dedupe,
 * cap, drop what is gone) are tested
 * without Electron; main.ts reads and writes the small JSON file in
 * app.getPath('userData').
 */
import { basename } from 'node:path';
import { z } from 'zod';
import type { OpenedFile } from '../src/api/command.js';
import { FILE_KINDS, formatByName } from '../src/formats/table.js';

/** How many files Open Recent keeps, all kinds together. */
export const RECENT_LIMIT = 10;
/** The file in app.getPath('userData'). */
export const RECENT_FILE = 'recent-files.json';

export const recentKind = z.enum(FILE_KINDS);
export type RecentKind = z.output<typeof recentKind>;

export const recentEntry = z
  .object({
    kind: recentKind,
    path: z.string().min(1).max(4096),
    /** ISO time it was last opened. */
    openedAt: z.string().max(64),
  })
  .strict();
export type RecentEntry = z.output<typeof recentEntry>;

const recentFileSchema = z.object({ version: z.literal(1), files: z.array(z.unknown()).max(1000) }).strict();

/**
 * The list as stored on disk, from whatever JSON.parse gave: a missing,
 * corrupt or foreign file is an empty list, bad entries are skipped.
 */
export function parseRecent(json: unknown): RecentEntry[] {
  const f = recentFileSchema.safeParse(json);
  if (!f.success) return [];
  const out: RecentEntry[] = [];
  for (const item of f.data.files) {
    const e = recentEntry.safeParse(item);
    if (e.success) out.push(e.data);
  }
  return dedupe(out).slice(0, RECENT_LIMIT);
}

/** What main.ts writes back. */
export function serializeRecent(list: readonly RecentEntry[]): string {
  return `${JSON.stringify({ version: 1, files: list.slice(0, RECENT_LIMIT) }, null, 2)}\n`;
}

/** Same file: same path and kind (case-insensitive on Windows and macOS, whose file systems usually are). */
function key(e: Pick<RecentEntry, 'kind' | 'path'>, caseInsensitive: boolean): string {
  return `${e.kind}\u0000${caseInsensitive ? e.path.toLowerCase() : e.path}`;
}

function dedupe(list: readonly RecentEntry[], caseInsensitive = false): RecentEntry[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const k = key(e, caseInsensitive);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The list after opening `entry`: it goes first, any older copy of it goes, at most RECENT_LIMIT stay. */
export function addRecent(list: readonly RecentEntry[], entry: RecentEntry, options: { caseInsensitive?: boolean } = {}): RecentEntry[] {
  const ci = options.caseInsensitive ?? false;
  const k = key(entry, ci);
  return dedupe([entry, ...list.filter((e) => key(e, ci) !== k)], ci).slice(0, RECENT_LIMIT);
}

/** The list without the files that are no longer there. */
export function pruneRecent(list: readonly RecentEntry[], exists: (path: string) => boolean): RecentEntry[] {
  return list.filter((e) => {
    try {
      return exists(e.path);
    } catch {
      return false;
    }
  });
}

/**
 * The entries for the files a command opened: the engine says which (its
 * command's `opens`, src/api/commands.ts), with the paths it resolved.
 */
export function recentEntries(opened: readonly OpenedFile[], now: Date = new Date()): RecentEntry[] {
  const openedAt = now.toISOString();
  return opened.map((f) => ({ kind: f.kind, path: f.path, openedAt }));
}

/**
 * What a file the OS hands the app (macOS open-file, from the Dock's recent
 * list) most likely is: the kind it was recorded with when it is in the list,
 * else by its extension (src/formats/table.ts; a table or array is taken
 * as a dataset).
 */
export function kindOfPath(path: string, list: readonly RecentEntry[] = [], isDirectory = false): RecentKind | null {
  const known = list.find((e) => e.path === path);
  if (known) return known.kind;
  if (isDirectory) return 'dataset';
  // By the format table; a name both a dataset and a trace may have (.csv, .npy) is taken as a dataset.
  return (['model', 'dataset', 'trace'] as const).find((kind) => formatByName(kind, path)) ?? null;
}

const KIND_LABEL: Record<RecentKind, string> = { model: 'Model', dataset: 'Dataset', trace: 'Trace' };

/** A menu label for an entry: "Model: resnet.onnx" ('&' doubled: it marks an access key on Windows and Linux). */
export function recentLabel(e: RecentEntry): string {
  const name = basename(e.path) || e.path;
  return `${KIND_LABEL[e.kind]}: ${name}`.replaceAll('&', '&&');
}
