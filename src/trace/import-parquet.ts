/**
 * Imports a Parquet prediction table — what a cluster batch-inference job
 * (Ray Data, Spark) writes — as a Trace. The layout is the prediction
 * matrix's, in columns (see docs/scale.md):
 *
 * - one integer column per exit, in file order = depth order (predicted class);
 * - optionally, for every exit `E`, confidence columns `E_maxprob`,
 *   `E_entropy` (normalized: entropy / ln C) and `E_margin` (top-1 minus
 *   top-2), floats in [0, 1];
 * - optionally a label column, named by `labelColumn` or recognized by name
 *   (label, labels, op_labels, y, any case); a null label is "unknown" (-1).
 *
 * Confidence is all or nothing: a Trace that has max probabilities must also
 * have entropy and margin (policies and the store rely on it), and neither
 * can be recovered from the max probability alone when C > 2. So the trace
 * gets confidence only when every exit has all three columns; any other mix
 * is refused with what is missing, rather than inventing numbers or silently
 * dropping the columns the user wrote.
 *
 * Streaming: the footer is read first, then one row group at a time through
 * hyparquet's file-range reader; decoded values are appended into growing
 * typed arrays. Peak memory beyond the trace is one decoded row group.
 */
import { open, stat } from 'node:fs/promises';
import * as zlib from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, ColumnData, Compressors, FileMetaData, SchemaElement } from 'hyparquet';
import { inputError, nameList, StudioError } from '../errors.js';
import { MAX_EXITS } from '../model/types.js';
import type { Trace } from './types.js';
import { importCosts } from './costs.js';

export interface ParquetImportOptions {
  /** Name of the label column; default: a column named label, labels, op_labels or y (any case), if present. */
  labelColumn?: string;
  /** Cumulative cost per exit (normalized so the last is 1); default k/K. */
  costs?: number[];
}

const LABEL_NAMES = new Set(['label', 'labels', 'op_labels', 'y']);
const CONFIDENCE = ['maxprob', 'entropy', 'margin'] as const;
type ConfidenceKind = (typeof CONFIDENCE)[number];
/** Float rounding slack on [0, 1] confidence values; values within it are clamped. */
const SLACK = 1e-5;
const MAX_CLASS = 0x7fffffff;

/**
 * Decompressors beyond hyparquet's built-in SNAPPY: GZIP and BROTLI from
 * node:zlib, ZSTD where this Node has it (22.15+). LZ4 and LZO are not read.
 */
function compressors(): Compressors {
  // Each page inflates to at most the size its header declares (and never past MAX_PAGE):
  // a small page that would inflate to gigabytes stops there instead of filling memory.
  type Inflate = (input: Uint8Array, options: { maxOutputLength: number }) => Buffer;
  const bounded = (inflate: Inflate) => (input: Uint8Array, declared: number): Uint8Array => {
    if (!(declared >= 0 && declared <= MAX_PAGE)) throw new Error(`a page declares ${declared} bytes uncompressed (at most ${MAX_PAGE} are read)`);
    try {
      return new Uint8Array(inflate(input, { maxOutputLength: Math.max(1, declared) }));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`a page inflates past the ${declared} bytes its header declares`);
      throw e;
    }
  };
  const c: Compressors = { GZIP: bounded(zlib.gunzipSync), BROTLI: bounded(zlib.brotliDecompressSync) };
  const zstd = (zlib as unknown as { zstdDecompressSync?: Inflate }).zstdDecompressSync;
  if (typeof zstd === 'function') c.ZSTD = bounded(zstd);
  return c;
}

/** The largest page read: Parquet writers make pages of a megabyte or so. */
const MAX_PAGE = 1 << 30;

type Role = { kind: 'exit'; k: number } | { kind: 'label' } | { kind: ConfidenceKind; k: number };

function growI32(a: Int32Array, need: number): Int32Array {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function growF32(a: Float32Array, need: number): Float32Array {
  if (need <= a.length) return a;
  const b = new Float32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

async function hasParquetMagic(path: string, size: number): Promise<boolean> {
  if (size < 12) return false;
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    await fh.read(tail, 0, 4, size - 4);
    return head.toString('latin1') === 'PAR1' && tail.toString('latin1') === 'PAR1';
  } finally {
    await fh.close();
  }
}

function describeType(el: SchemaElement): string {
  const logical = el.logical_type ? ` (${el.logical_type.type})` : el.converted_type ? ` (${el.converted_type})` : '';
  return `${el.type ?? 'group'}${logical}`;
}

function isIntegerColumn(el: SchemaElement): boolean {
  if (el.type !== 'INT32' && el.type !== 'INT64') return false;
  if (el.logical_type && el.logical_type.type !== 'INTEGER') return false;
  if (el.converted_type && !/^U?INT_(8|16|32|64)$/.test(el.converted_type)) return false;
  return true;
}

function isFloatColumn(el: SchemaElement): boolean {
  return (el.type === 'FLOAT' || el.type === 'DOUBLE') && !el.logical_type && !el.converted_type;
}

function quoteList(names: readonly string[]): string {
  return nameList(names);
}

export async function readParquetTrace(path: string, opts: ParquetImportOptions = {}): Promise<Trace> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw inputError(path, 'is not a file');
    size = st.size;
  } catch (e) {
    if (e instanceof StudioError) throw e;
    throw inputError(path, 'cannot be read (no such file?)', e);
  }
  if (!(await hasParquetMagic(path, size))) {
    throw inputError(path, 'is not a Parquet file (no "PAR1" marker at its start and end); import-trace reads .parquet files as written by pandas/pyarrow, Ray Data or Spark');
  }
  let file: AsyncBuffer;
  let meta: FileMetaData;
  try {
    file = await asyncBufferFromFile(path);
    meta = await parquetMetadataAsync(file);
  } catch (e) {
    throw inputError(path, `is not a readable Parquet file: ${e instanceof Error ? e.message : String(e)}`, e);
  }

  // --- Columns: which is an exit, a confidence column, the label. ---
  const top = parquetSchema(meta).children;
  const names = top.map((c) => c.element.name);
  for (const c of top) {
    if (c.children.length > 0 || c.element.repetition_type === 'REPEATED') {
      throw inputError(path, `column "${c.element.name}" is a nested (list or struct) column; the importer takes flat columns: one integer class column per exit, optional <exit>_maxprob/_entropy/_margin floats and a label column`);
    }
  }
  let labelIdx = -1;
  if (opts.labelColumn !== undefined) {
    labelIdx = names.indexOf(opts.labelColumn);
    if (labelIdx < 0) throw inputError(path, `no label column "${opts.labelColumn}"; the columns are ${quoteList(names)}`);
  } else {
    labelIdx = names.findIndex((x) => LABEL_NAMES.has(x.toLowerCase()));
  }
  const confidenceOf = (name: string): { base: string; kind: ConfidenceKind } | undefined => {
    for (const kind of CONFIDENCE) {
      const suffix = `_${kind}`;
      if (name.length > suffix.length && name.toLowerCase().endsWith(suffix)) return { base: name.slice(0, -suffix.length), kind };
    }
    return undefined;
  };
  // pandas writes a non-default index as __index_level_N__: not a prediction.
  const isIndex = (name: string): boolean => /^__index_level_\d+__$/.test(name);
  const exitNames: string[] = [];
  const exitCols: number[] = [];
  for (let i = 0; i < top.length; i++) {
    if (i === labelIdx || isIndex(names[i]!) || confidenceOf(names[i]!)) continue;
    exitCols.push(i);
    exitNames.push(names[i]!);
  }
  const K = exitCols.length;
  if (K < 2) {
    throw inputError(path, `needs at least 2 exit columns (one predicted class per exit, in depth order); found ${K}${K ? ` (${quoteList(exitNames)})` : ''} among the columns ${quoteList(names)}`);
  }
  if (K > MAX_EXITS) throw inputError(path, `has ${K} exit columns; the studio takes at most ${MAX_EXITS} exits`);
  const roles = new Map<string, Role>();
  exitCols.forEach((i, k) => {
    const el = top[i]!.element;
    if (!isIntegerColumn(el)) {
      throw inputError(path, `exit column "${el.name}" has type ${describeType(el)}; predicted classes must be an integer column (INT32/INT64), one per exit — write argmax as int, not the scores`);
    }
    roles.set(el.name, { kind: 'exit', k });
  });
  if (labelIdx >= 0) {
    const el = top[labelIdx]!.element;
    if (!isIntegerColumn(el)) throw inputError(path, `label column "${el.name}" has type ${describeType(el)}; labels must be an integer column (INT32/INT64)`);
    roles.set(el.name, { kind: 'label' });
  }
  const have: Record<ConfidenceKind, boolean[]> = { maxprob: new Array<boolean>(K).fill(false), entropy: new Array<boolean>(K).fill(false), margin: new Array<boolean>(K).fill(false) };
  let anyConfidence = false;
  for (let i = 0; i < top.length; i++) {
    const c = i === labelIdx ? undefined : confidenceOf(names[i]!);
    if (!c) continue;
    const el = top[i]!.element;
    const k = exitNames.indexOf(c.base);
    if (k < 0) throw inputError(path, `column "${el.name}" names no exit column "${c.base}"; the exit columns are ${quoteList(exitNames)}`);
    if (!isFloatColumn(el)) throw inputError(path, `confidence column "${el.name}" has type ${describeType(el)}; it must be a FLOAT or DOUBLE column in [0, 1]`);
    roles.set(el.name, { kind: c.kind, k });
    have[c.kind][k] = true;
    anyConfidence = true;
  }
  if (anyConfidence) {
    const missing: string[] = [];
    for (let k = 0; k < K; k++) for (const kind of CONFIDENCE) if (!have[kind][k]) missing.push(`${exitNames[k]}_${kind}`);
    if (missing.length) {
      throw inputError(path, `has confidence columns for some exits but lacks ${quoteList(missing)}; a trace with confidence needs <exit>_maxprob, <exit>_entropy and <exit>_margin for every exit (entropy and margin cannot be recovered from the max probability); write them all, or drop the confidence columns to import hard predictions`);
    }
  }
  const readColumns = [...roles.keys()];
  const codecs = compressors();
  for (const rg of meta.row_groups) {
    for (const chunk of rg.columns) {
      const md = chunk.meta_data;
      if (!md || !roles.has(md.path_in_schema[0]!)) continue;
      if (md.codec !== 'UNCOMPRESSED' && md.codec !== 'SNAPPY' && !codecs[md.codec]) {
        throw inputError(path, `column "${md.path_in_schema[0]}" is ${md.codec}-compressed, which this reader cannot decompress${md.codec === 'ZSTD' ? ` on Node ${process.versions.node} (ZSTD needs Node 22.15 or later)` : ''}; write the file with snappy, gzip or no compression`);
      }
    }
  }

  // --- Row groups, one at a time. ---
  let pred: Int32Array = new Int32Array(0);
  let labels: Int32Array = new Int32Array(0);
  let maxProb: Float32Array = new Float32Array(0);
  let entropy: Float32Array = new Float32Array(0);
  let margin: Float32Array = new Float32Array(0);
  let maxClass = -1;
  let n = 0;
  let groupStart = 0;
  for (let g = 0; g < meta.row_groups.length; g++) {
    const rows = Number(meta.row_groups[g]!.num_rows);
    if (rows === 0) continue;
    const end = n + rows;
    pred = growI32(pred, end * K);
    if (labelIdx >= 0) labels = growI32(labels, end);
    if (anyConfidence) {
      maxProb = growF32(maxProb, end * K);
      entropy = growF32(entropy, end * K);
      margin = growF32(margin, end * K);
    }
    // Chunks arrive in I/O order; keep them and check columns in file order
    // so that the first error reported is the same on every run.
    const chunks = new Map<string, ColumnData[]>();
    try {
      await parquetRead({
        file,
        metadata: meta,
        columns: readColumns,
        compressors: codecs,
        rowStart: groupStart,
        rowEnd: groupStart + rows,
        onChunk: (c) => {
          const list = chunks.get(c.columnName);
          if (list) list.push(c);
          else chunks.set(c.columnName, [c]);
        },
      });
    } catch (e) {
      throw inputError(path, `row group ${g + 1} cannot be decoded: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    for (const [name, role] of roles) {
      let covered = 0;
      for (const c of (chunks.get(name) ?? []).sort((a, b) => a.rowStart - b.rowStart)) {
        const data = c.columnData as ArrayLike<unknown>;
        for (let j = 0; j < data.length; j++) {
          const row = c.rowStart + j;
          if (row < groupStart || row >= groupStart + rows) continue;
          const r = n + (row - groupStart);
          const v = data[j];
          const where = (): string => `row ${row} (counting from 0), column "${name}"`;
          if (role.kind === 'exit' || role.kind === 'label') {
            let x: number;
            if (v === null || v === undefined) {
              if (role.kind === 'exit') throw inputError(path, `${where()}: null; every sample needs a predicted class at every exit`);
              x = -1;
            } else {
              x = typeof v === 'bigint' ? (v > BigInt(MAX_CLASS) ? Infinity : v < -1n ? -Infinity : Number(v)) : (v as number);
              if (role.kind === 'exit' && !(x >= 0 && x <= MAX_CLASS)) throw inputError(path, `${where()}: ${String(v)} is not a class number (a whole number >= 0)`);
              if (role.kind === 'label' && !(x >= -1 && x <= MAX_CLASS)) throw inputError(path, `${where()}: ${String(v)} is not a label (a whole number >= 0, or -1/null for unknown)`);
            }
            if (x > maxClass) maxClass = x;
            if (role.kind === 'exit') pred[r * K + role.k] = x;
            else labels[r] = x;
          } else {
            if (v === null || v === undefined) throw inputError(path, `${where()}: null; confidence columns must be complete`);
            const x = v as number;
            if (!(x >= -SLACK && x <= 1 + SLACK)) throw inputError(path, `${where()}: ${x} is outside [0, 1]`);
            const y = x < 0 ? 0 : x > 1 ? 1 : x;
            const dst = role.kind === 'maxprob' ? maxProb : role.kind === 'entropy' ? entropy : margin;
            dst[r * K + role.k] = y;
          }
          covered++;
        }
      }
      if (covered !== rows) throw inputError(path, `row group ${g + 1}: column "${name}" decoded ${covered} of ${rows} rows`);
    }
    n = end;
    groupStart += rows;
  }
  if (n === 0) throw inputError(path, 'has no rows');

  const trace: Trace = {
    samples: n,
    ...importCosts(path, exitNames.map((name) => ({ name })), opts.costs),
    classes: Math.max(2, maxClass + 1),
    pred: pred.slice(0, n * K),
  };
  if (anyConfidence) {
    trace.maxProb = maxProb.slice(0, n * K);
    trace.entropy = entropy.slice(0, n * K);
    trace.margin = margin.slice(0, n * K);
  }
  if (labelIdx >= 0) trace.labels = labels.slice(0, n);
  return trace;
}
