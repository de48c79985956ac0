/**
 * Ground-truth labels: class indices, one per sample, from an .npy array (an
 * integer dtype, or floats that hold whole numbers), a text file with one label
 * per line, or a column of a CSV/TSV file named as `file.csv:column`.
 *
 * When the caller gives the sample count, fewer labels than samples is an
 * error; more labels are cut to the first `samples`, because a `limit` reads
 * the first samples of a dataset.
 */
import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { excerpt, fromFile, inputError, missingFile, nameList } from '../errors.js';
import { statRegularSync } from '../files/regular.js';
import { toNumbers } from './elements.js';
import { MAX_DATA_LINE, eachLine } from './lines.js';
import { readNpyArray, type NpyArray } from './npy.js';
import { delimiterOf, looksLikeHeader, parseNumber, splitCells } from './text.js';
import { formatDims } from './validate.js';

/** The longest line of a one-label-per-line file: a label is a short number. */
const MAX_LABEL_LINE = 4096;

const MAX_LABEL = 2 ** 31 - 1;

/** Why a value is not a label, or undefined when it is one. */
export function labelProblem(v: number): string | undefined {
  if (!Number.isInteger(v)) return `${v} is not a whole number; labels are class indices`;
  if (v < 0) return `${v} is negative; labels are class indices from 0`;
  if (v > MAX_LABEL) return `${v} is too large for a class index`;
  return undefined;
}

/**
 * Why a text cell is not a label. What the cell holds is never quoted: any
 * readable file can be named as labels, and an error must not become a way to
 * read the first bytes of one that is not (a key file, say).
 */
function labelCellProblem(cell: string): string | undefined {
  const v = parseNumber(cell);
  if (typeof v === 'number') return labelProblem(v);
  if (cell.trim() === '') return 'empty; every sample needs a label';
  return `not a number (${cell.length} characters of text); labels are class indices, whole numbers from 0: is this the labels file?`;
}

/**
 * Labels must name classes the model has: a label of 7 for a 5-class model
 * is a labels file of other data, and every accuracy computed with it would
 * be wrong without a word.
 */
export function checkLabelClasses(file: string, labels: Int32Array, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= classes) {
      throw inputError(file, `label ${i} is ${labels[i]}, but the model has ${classes} classes (0–${classes - 1}): are these the labels of this data and model?`);
    }
  }
}

/** Labels from a 1-D array (or [N, 1]), as read from .npy or .npz. */
export function labelsFromArray(file: string, a: NpyArray): Int32Array {
  if (!(a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1))) {
    throw inputError(file, `labels must be a 1-D array [N] (or [N, 1]); found ${a.dtype} ${formatDims(a.shape)}`);
  }
  const values = toNumbers(a.data, a.dtype);
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const problem = labelProblem(values[i]!);
    if (problem) throw inputError(file, `label ${i}: ${problem}`);
    out[i] = values[i]!;
  }
  return out;
}

/** Splits "file.csv:column" when file.csv exists and the whole string does not. */
function splitColumnSpec(path: string): { file: string; column?: string } {
  if (existsSync(path)) return { file: path };
  const m = /^(.+\.(?:csv|tsv|txt)):([^\\/:]+)$/i.exec(path);
  if (m && existsSync(m[1]!)) return { file: m[1]!, column: m[2]! };
  return { file: path };
}

async function labelsFromText(file: string, column: string | undefined): Promise<Int32Array> {
  const labels: number[] = [];
  let index = -1;
  let delimiter = '';
  let columnName = '';
  let pendingBlank = 0;
  const delimited = column !== undefined || /\.(csv|tsv)$/i.test(file);
  const bound = delimited ? MAX_DATA_LINE : MAX_LABEL_LINE;
  await eachLine(file, (text, line) => {
    if (text.trim() === '') { pendingBlank = pendingBlank || line; return; }
    if (pendingBlank) throw inputError(file, `line ${pendingBlank} is empty; every sample needs a label`);
    let cell = text;
    if (delimited) {
      if (!delimiter) {
        delimiter = delimiterOf(file, text);
        const cells = splitCells(text, delimiter, { file, line }).map((c) => c.trim());
        const header = looksLikeHeader(cells);
        if (column !== undefined) {
          index = header ? cells.indexOf(column) : /^\d+$/.test(column) ? Number(column) : -1;
          if (index < 0 || index >= cells.length) {
            throw inputError(file, header
              ? `no column ${excerpt(column, 64)}; the columns are ${nameList(cells)}`
              : `no header row to find column ${excerpt(column, 64)} in; name the column by its 0-based index instead`);
          }
        } else if (cells.length === 1) {
          index = 0;
        } else {
          throw inputError(file, `has ${cells.length} columns; say which holds the labels as ${file}:COLUMN`);
        }
        columnName = header ? `column ${excerpt(cells[index]!, 64)}` : `column ${index}`;
        if (header) return;
      }
      const cells = splitCells(text, delimiter, { file, line });
      if (cells.length <= index) throw inputError(file, `line ${line} has ${cells.length} cells; ${columnName} is missing`);
      cell = cells[index]!;
    }
    const problem = labelCellProblem(cell);
    if (problem) throw inputError(file, `line ${line}${columnName ? `, ${columnName}` : ''}: ${problem}`);
    labels.push(parseNumber(cell) as number);
  }, bound, delimited ? 'one row per sample' : 'one label per line');
  return Int32Array.from(labels);
}

/** Reads labels; with `samples`, checks there is one per sample (extra labels past a limit are dropped). */
export async function readLabels(path: string, samples?: number): Promise<Int32Array> {
  const { file, column } = splitColumnSpec(path);
  if (!existsSync(file)) throw missingFile(file, 'labels file');
  if (statSync(file).isDirectory()) throw inputError(file, 'is a folder; labels come from an .npy, .txt or .csv file (image folders carry their own labels)');
  const st = statRegularSync(file, 'labels file');
  if (st.size === 0) throw inputError(file, 'the labels file is empty');
  let labels: Int32Array;
  const ext = extname(file).toLowerCase();
  if (ext === '.npz' || ext === '.jsonl' || ext === '.parquet') {
    throw inputError(file, 'labels are read from .npy, a text file (one per line) or a CSV/TSV column (file.csv:column)');
  }
  try {
    labels = ext === '.npy' ? labelsFromArray(file, await readNpyArray(file)) : await labelsFromText(file, column);
  } catch (e) {
    throw fromFile(file, e);
  }
  if (labels.length === 0) throw inputError(file, 'holds no labels');
  if (samples !== undefined) {
    if (labels.length < samples) throw inputError(file, `${labels.length} labels for ${samples} samples; there must be one label per sample`);
    if (labels.length > samples) labels = labels.slice(0, samples);
  }
  return labels;
}
