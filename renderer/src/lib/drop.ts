/**
 * Files dropped on the window, routed by kind: a model (.onnx) to the Model
 * screen and inspected, a dataset (arrays, tables, a folder of images) to the
 * Dataset screen, and on the Trace screen a table or array imported as a
 * trace. Pure, so the rules run under Node's test runner; App.svelte reads
 * the DataTransfer and carries out the plan.
 */
import { extensionOf, extensionsOf, folderFormat, formatList, type FileKind } from '../../../src/formats/table.js';
import type { Screen } from './route.js';

/** What a file opens as: the kinds of the format table (src/formats/table.ts, plain data the page may import). */
export type OpenKind = FileKind;

/** One thing to open, from a drop, a menu action or Open Recent. */
export interface OpenStep {
  kind: OpenKind;
  path: string;
}

/** A dropped item as the page sees it. */
export interface DroppedItem {
  name: string;
  /** Its path on disk: '' when it has none (a File not backed by a file), null when the host cannot tell (the browser). */
  path: string | null;
  isDirectory: boolean;
}

export interface DropPlan {
  /** What to open, at most one of each kind, datasets before models before traces. */
  steps: OpenStep[];
  /** Where to go; null to stay. */
  screen: Screen | null;
  /** What to tell the user: files that were not used, and why. */
  notes: string[];
}

const MODEL_EXTENSIONS = extensionsOf('model');
const DATASET_EXTENSIONS = extensionsOf('dataset');
/** What trace.import reads (the Trace screen takes these as traces). */
const TRACE_EXTENSIONS = extensionsOf('trace');
/** What a folder of images holds: one such file dropped alone is explained. */
const IMAGE_EXTENSIONS: readonly string[] = folderFormat('dataset')?.extensions ?? [];

const SCREEN_OF: Record<OpenKind, Screen> = { model: 'model', dataset: 'dataset', trace: 'trace' };
const WHAT: Record<OpenKind, string> = { model: 'model', dataset: 'dataset', trace: 'trace' };
const TYPE_IT: Record<OpenKind, string> = {
  model: 'Type the model’s path on that machine in the Model screen’s “Model file” field instead.',
  dataset: 'Type the dataset’s path on that machine in the Dataset screen’s “Dataset” field instead.',
  trace: 'Import it on that machine by its path instead: `exit-studio import-trace FILE`.',
};

export const ACCEPTED = `a model (${formatList('model')}), a dataset (${formatList('dataset')}) or, on the Trace screen, a trace (${formatList('trace')})`;

/** What a dropped item is, given the screen it was dropped on; a note when it is nothing the studio opens. */
export function classifyDrop(item: Pick<DroppedItem, 'name' | 'isDirectory'>, screen: Screen): { kind: OpenKind } | { note: string } {
  if (item.isDirectory) return { kind: 'dataset' };
  const ext = extensionOf(item.name);
  if (MODEL_EXTENSIONS.includes(ext)) return { kind: 'model' };
  if (screen === 'trace' && TRACE_EXTENSIONS.includes(ext)) return { kind: 'trace' };
  if (DATASET_EXTENSIONS.includes(ext)) return { kind: 'dataset' };
  if (IMAGE_EXTENSIONS.includes(ext)) return { note: `“${item.name}” is one image: drop the folder that holds the images to use them as a dataset.` };
  if (TRACE_EXTENSIONS.includes(ext)) return { note: `“${item.name}” looks like a trace: open the Trace screen and drop it there to import it.` };
  return { note: `“${item.name}” is not a file the studio opens. Drop ${ACCEPTED}.` };
}

/**
 * The plan for one drop. In the browser (serve mode) nothing has a path the
 * studio can read, so the plan only goes to the right screen and says to
 * type the path as the serving machine sees it.
 */
export function planDrop(items: readonly DroppedItem[], screen: Screen): DropPlan {
  const notes: string[] = [];
  const chosen = new Map<OpenKind, OpenStep>();
  let firstKind: OpenKind | null = null;
  if (items.length === 0) return { steps: [], screen: null, notes: ['Nothing was dropped that the studio can open: drag files or a folder from your file manager.'] };
  for (const item of items) {
    const c = classifyDrop(item, screen);
    if ('note' in c) {
      notes.push(c.note);
      continue;
    }
    firstKind ??= c.kind;
    if (item.path === null) {
      notes.push(`“${item.name}” stays in this browser: the studio reads files on the machine that runs \`exit-studio serve\`, which cannot see files dropped on a web page. ${TYPE_IT[c.kind]}`);
      continue;
    }
    if (item.path === '') {
      notes.push(`“${item.name}” has no path on disk (was it dragged from another app?): save it to a file first, then drop the file.`);
      continue;
    }
    if (chosen.has(c.kind)) {
      notes.push(`Only one ${WHAT[c.kind]} at a time: “${item.name}” was left out.`);
      continue;
    }
    chosen.set(c.kind, { kind: c.kind, path: item.path });
  }
  const order: OpenKind[] = ['dataset', 'model', 'trace'];
  const steps = order.flatMap((k) => (chosen.has(k) ? [chosen.get(k)!] : []));
  // The screen of the most specific thing opened: a trace, else the model, else the dataset.
  const target = (['trace', 'model', 'dataset'] as const).find((k) => chosen.has(k)) ?? firstKind;
  return { steps, screen: target ? SCREEN_OF[target] : null, notes };
}

/** The overlay's line while files are dragged over the window. */
export function dropHint(screen: Screen, desktop: boolean): string {
  const what =
    screen === 'trace'
      ? `Drop a trace (${formatList('trace')}) to import it, or a model (${formatList('model')})`
      : `Drop a model (${formatList('model')}) or a dataset (${formatList('dataset')})`;
  return desktop ? what : `${what}: in the browser the studio cannot read dropped files; it will tell you where to type the path`;
}
