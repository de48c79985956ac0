/**
 * Every file format the studio opens, one entry each: what it opens as
 * (a model, a dataset or a trace), its extensions, the bytes it starts with
 * and what it holds. The engine picks its reader by an entry's id
 * (src/data/open.ts, src/trace/import.ts: a table of readers keyed by id, so a
 * new entry without a reader does not compile); the page's dialogs, its drop
 * handler and the desktop's recent files read the same entries.
 *
 * Plain data and pure functions, with no imports: the page imports this
 * module as it is, and it must bring no engine code into the page's bundle
 * (test/renderer/formats.test.ts looks at the built bundle).
 */

/** What a file opens as. */
export const FILE_KINDS = ['model', 'dataset', 'trace'] as const;
export type FileKind = (typeof FILE_KINDS)[number];

export interface FileFormat {
  /** What the engine keys its reader by. */
  readonly id: string;
  readonly kind: FileKind;
  /** Its name in messages: "a NumPy array". */
  readonly title: string;
  /** Lower case, without the dot. For a folder format, the extensions of the files it holds. */
  readonly extensions: readonly string[];
  /** The bytes every file of this format starts with (latin1), where the format has its own (a zip does not: an .xlsx starts alike). */
  readonly magic?: string;
  /** The format is a folder of files, not one file. */
  readonly folder?: boolean;
  /** What it holds, for lists of formats in messages, hints and docs. */
  readonly holds: string;
}

export const FORMATS = [
  { id: 'onnx', kind: 'model', title: 'an ONNX model', extensions: ['onnx'], holds: 'two or more classifier outputs' },

  { id: 'npy-inputs', kind: 'dataset', title: 'a NumPy array', extensions: ['npy'], magic: '\x93NUMPY', holds: 'one input, samples first' },
  { id: 'npz-inputs', kind: 'dataset', title: 'a NumPy archive', extensions: ['npz'], holds: 'inputs by name, optional labels' },
  { id: 'table-inputs', kind: 'dataset', title: 'a CSV/TSV table', extensions: ['csv', 'tsv'], holds: 'one sample per row' },
  { id: 'jsonl-inputs', kind: 'dataset', title: 'JSON Lines', extensions: ['jsonl', 'ndjson'], holds: 'one sample per line' },
  { id: 'image-folder', kind: 'dataset', title: 'a folder of images', extensions: ['png', 'jpg', 'jpeg'], folder: true, holds: 'optionally one subfolder per class' },

  { id: 'prediction-matrix', kind: 'trace', title: 'a prediction matrix', extensions: ['tsv', 'csv', 'txt', 'tab'], holds: 'one column per exit' },
  { id: 'parquet-trace', kind: 'trace', title: 'a Parquet table', extensions: ['parquet'], magic: 'PAR1', holds: 'one column per exit' },
  { id: 'npy-scores', kind: 'trace', title: 'a NumPy score array', extensions: ['npy'], magic: '\x93NUMPY', holds: '[K, N, C] or [N, K, C]' },
  { id: 'npz-trace', kind: 'trace', title: 'a NumPy archive', extensions: ['npz'], holds: 'an exported trace, or "probs" and optional "labels"' },
] as const satisfies readonly FileFormat[];

export type Format = (typeof FORMATS)[number];
export type FormatId = Format['id'];
/** One kind's single-file formats (a folder format is opened as a folder, before any name is looked at). */
export type FileFormatOf<K extends FileKind> = Exclude<Extract<Format, { kind: K }>, { folder: true }>;
/** The ids of one kind's single-file formats: what a reader table of that kind is keyed by. */
export type FormatIdOf<K extends FileKind> = FileFormatOf<K>['id'];

/** The formats a kind opens, in table order. */
export function formatsOf(kind: FileKind): readonly Format[] {
  return FORMATS.filter((f) => f.kind === kind);
}

/** The extensions of a kind's single-file formats (no dot), each once. */
export function extensionsOf(kind: FileKind): string[] {
  return [...new Set(formatsOf(kind).flatMap((f) => (isFolder(f) ? [] : [...f.extensions])))];
}

/** The extension of a file name or path, lower case, without the dot; '' when it has none. */
export function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** The single-file format of a kind a file name says it is, or undefined. */
export function formatByName<K extends FileKind>(kind: K, name: string): FileFormatOf<K> | undefined {
  const ext = extensionOf(name);
  return formatsOf(kind).find((f) => !isFolder(f) && (f.extensions as readonly string[]).includes(ext)) as FileFormatOf<K> | undefined;
}

/** The formats whose first bytes `head` (latin1) starts with. */
export function formatsByMagic(head: string): Format[] {
  return FORMATS.filter((f) => 'magic' in f && head.startsWith(f.magic));
}

/** The folder format of a kind (a folder of images for datasets), if it has one. */
export function folderFormat(kind: FileKind): Extract<Format, { folder: true }> | undefined {
  return formatsOf(kind).find(isFolder) as Extract<Format, { folder: true }> | undefined;
}

function isFolder(f: Format): boolean {
  return 'folder' in f && f.folder;
}

/** A dialog's filter for a kind, in the shape Electron's dialogs take. */
export function fileFilter(kind: FileKind): { name: string; extensions: string[] } {
  return { name: KIND_NAMES[kind], extensions: extensionsOf(kind) };
}

const KIND_NAMES: Record<FileKind, string> = { model: 'ONNX models', dataset: 'Datasets', trace: 'Traces' };

/** A kind's formats in words: ".npy, .npz, .csv, .tsv, .jsonl, .ndjson or a folder of images (.png, .jpg, .jpeg)". */
export function formatList(kind: FileKind): string {
  const files = extensionsOf(kind).map((e) => `.${e}`);
  const folder = folderFormat(kind);
  const parts = folder ? [...files, `${folder.title} (${folder.extensions.map((e) => `.${e}`).join(', ')})`] : files;
  return parts.length < 2 ? parts.join('') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

/** A kind's formats with what each holds: ".tsv/.csv/.txt/.tab (a prediction matrix: one column per exit), ...". */
export function formatDetails(kind: FileKind): string {
  return formatsOf(kind)
    .map((f) => `${isFolder(f) ? f.title : f.extensions.map((e) => `.${e}`).join('/')} (${isFolder(f) ? '' : `${f.title}: `}${f.holds})`)
    .join(', ');
}
