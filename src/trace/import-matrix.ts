/**
 * Imports a prediction matrix (TSV/CSV: a header, one integer class column
 * per exit in depth order, optionally a label column) as a Trace of hard
 * predictions. Such a trace has no confidence, so only policies that need
 * predicted classes alone can run on it (the spec checks say so).
 *
 * Read as a stream, line by line, into growing typed arrays: a matrix of a
 * million rows never exists as strings all at once.
 */
import { basename, extname } from 'node:path';
import { eachLine } from '../data/lines.js';
import { excerpt, inputError, nameList } from '../errors.js';
import { statRegular } from '../files/regular.js';
import { MAX_EXITS } from '../model/types.js';
import type { Trace } from './types.js';
import { importCosts } from './costs.js';

/** The longest row of a prediction matrix: a class number per exit is a short line. */
const MAX_MATRIX_LINE = 1 << 20;

export interface MatrixImportOptions {
  /** Name of the label column; default: a column named label, labels, op_labels or y (any case), if present. */
  labelColumn?: string;
  /** Cumulative cost per exit (normalized so the last is 1); default k/K. */
  costs?: number[];
}

const LABEL_NAMES = new Set(['label', 'labels', 'op_labels', 'y']);

function splitterFor(path: string, header: string): (line: string) => string[] {
  const ext = extname(path).toLowerCase();
  if (ext === '.tsv' || ext === '.tab' || (ext !== '.csv' && header.includes('\t'))) return (l) => l.split('\t');
  if (ext === '.csv' || header.includes(',')) return (l) => l.split(',');
  return (l) => l.trim().split(/\s+/);
}

/** Strict whole number that fits a class index: no "1.0", no "", no "1e3" surprises, nothing past int32. */
function parseWhole(cell: string): number {
  const t = cell.trim();
  if (!/^-?\d{1,10}$/.test(t)) return NaN;
  const v = Number(t);
  return v <= 0x7fffffff ? v : NaN;
}

function grow(a: Int32Array, need: number): Int32Array {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

export async function readPredictionMatrix(path: string, opts: MatrixImportOptions = {}): Promise<Trace> {
  await statRegular(path);
  let names: string[] | undefined;
  let split: ((l: string) => string[]) | undefined;
  let labelCol = -1;
  let exitCols: number[] = [];
  let K = 0;
  let pred: Int32Array = new Int32Array(1 << 16);
  let labels: Int32Array = new Int32Array(1 << 14);
  let n = 0;
  let maxClass = -1;
  await eachLine(path, (line, lineNo) => {
    if (line.trim() === '') return;
    if (!names) {
      split = splitterFor(path, line);
      names = split(line).map((s) => s.trim());
      if (opts.labelColumn !== undefined) {
        labelCol = names.indexOf(opts.labelColumn);
        if (labelCol < 0) {
          throw inputError(path, `line 1: no label column ${excerpt(opts.labelColumn, 64)}; the columns are ${nameList(names)}`);
        }
      } else {
        labelCol = names.findIndex((x) => LABEL_NAMES.has(x.toLowerCase()));
      }
      exitCols = names.map((_, i) => i).filter((i) => i !== labelCol);
      K = exitCols.length;
      if (K < 2) {
        throw inputError(path, `line 1: needs at least 2 exit columns (one predicted class per exit, in depth order); found ${K}`);
      }
      if (K > MAX_EXITS) throw inputError(path, `line 1: ${K} exit columns; the studio takes at most ${MAX_EXITS} exits`);
      return;
    }
    const cells = split!(line);
    if (cells.length !== names.length) {
      throw inputError(path, `line ${lineNo}: ${cells.length} cells, but the header has ${names.length} columns`);
    }
    pred = grow(pred, (n + 1) * K);
    for (let k = 0; k < K; k++) {
      const col = exitCols[k]!;
      const v = parseWhole(cells[col]!);
      if (!(v >= 0)) {
        throw inputError(path, `line ${lineNo}, column ${col + 1} (${excerpt(names[col]!, 64)}): ${excerpt(cells[col]!)} is not a class number (a whole number >= 0)`);
      }
      pred[n * K + k] = v;
      if (v > maxClass) maxClass = v;
    }
    if (labelCol >= 0) {
      labels = grow(labels, n + 1);
      const cell = cells[labelCol]!;
      const v = cell.trim() === '' ? -1 : parseWhole(cell);
      if (!(v >= -1)) {
        throw inputError(path, `line ${lineNo}, column ${labelCol + 1} (${excerpt(names[labelCol]!, 64)}): ${excerpt(cell)} is not a label (a whole number >= 0, or -1/empty for unknown)`);
      }
      labels[n] = v;
      if (v > maxClass) maxClass = v;
    }
    n++;
  }, MAX_MATRIX_LINE, 'a header, then one row of class numbers per sample');
  if (!names) throw inputError(path, 'is empty: expected a header line and one row per sample');
  if (n === 0) throw inputError(path, 'has a header but no rows');
  const trace: Trace = {
    samples: n,
    ...importCosts(path, exitCols.map((i) => ({ name: names![i]! || `exit ${i + 1}` })), opts.costs),
    classes: Math.max(2, maxClass + 1),
    pred: pred.slice(0, n * K),
  };
  if (labelCol >= 0) trace.labels = labels.slice(0, n);
  return trace;
}

/** A short name for a matrix file (for trace names). */
export function matrixName(path: string): string {
  return basename(path, extname(path));
}
