/** Reading text data line by line, and the strict number syntax CSV, TSV and label files share. */
import { StudioError, excerpt, inputError } from '../errors.js';
import { MAX_DATA_LINE, readLineBatches, type Line } from './lines.js';

export { readLines } from './lines.js';

/**
 * The most cells a row may split into. A row of a few million cells is
 * already far wider than any model input; a line of 64 MiB of "1," would
 * otherwise become 32 million strings at once.
 */
export const MAX_CELLS = 1 << 21;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NOT_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/**
 * A cell's number, or why it is not one. Decimal notation only: "0x10" or ""
 * are not numbers here. NaN and Inf (any case, "inf" or "infinity") are
 * refused unless `nonFinite` allows them.
 */
export function parseNumber(cell: string, nonFinite = false): number | string {
  const s = cell.trim();
  if (s === '') return 'empty cell';
  if (NUMBER.test(s)) {
    const v = Number(s);
    return Number.isFinite(v) ? v : `${excerpt(s)} overflows a float64`;
  }
  if (NOT_FINITE.test(s)) {
    if (nonFinite) return /nan/i.test(s) ? NaN : s.startsWith('-') ? -Infinity : Infinity;
    return `${excerpt(s)} is not a finite number (NaN and Inf are refused; impute or drop them first, or allow non-finite inputs)`;
  }
  return `${excerpt(s)} is not a number`;
}

/** How many cells `text` splits into, counted without splitting (quotes aside: an upper bound). */
function countCells(text: string, delimiter: string): number {
  let n = 1;
  for (let i = text.indexOf(delimiter); i >= 0; i = text.indexOf(delimiter, i + 1)) n++;
  return n;
}

/**
 * Splits a delimited line; double quotes around a cell are removed ("1.5"
 * reads as 1.5). A row of more than MAX_CELLS cells is refused, naming the
 * file and line `at`.
 */
export function splitCells(text: string, delimiter: string, at: { file: string; line: number }): string[] {
  if (text.length > MAX_CELLS && countCells(text, delimiter) > MAX_CELLS) {
    throw inputError(at.file, `line ${at.line} has more than ${MAX_CELLS} cells; no model input takes that many values per sample: is this the right file?`);
  }
  if (!text.includes('"')) return text.split(delimiter);
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) { cells.push(cur); cur = ''; }
    else cur += c;
  }
  cells.push(cur);
  return cells;
}

/** A header row is one with any cell that is not numeric (names like "x1", "label"). */
export function looksLikeHeader(cells: string[]): boolean {
  return cells.some((c) => {
    const s = c.trim();
    return s !== '' && !NUMBER.test(s) && !NOT_FINITE.test(s);
  });
}

/** The delimiter of a delimited text file: tab for .tsv, else whichever of , ; tab the first line uses. */
export function delimiterOf(path: string, firstLine: string): string {
  if (/\.tsv$/i.test(path)) return '\t';
  if (firstLine.includes('\t') && !firstLine.includes(',')) return '\t';
  if (firstLine.includes(';') && !firstLine.includes(',')) return ';';
  return ',';
}

/**
 * Sequential access to the data lines of a text file (blank lines and a header
 * skipped), re-opened only when a reader goes back: batches read forward, so a
 * full pass streams the file once.
 */
export class LineCursor {
  private lines: AsyncGenerator<Line[]> | undefined;
  /** Lines read from the file and not taken yet. */
  private buffered: Line[] = [];
  private at = 0;
  private next = 0;

  constructor(private readonly path: string, private readonly skipHeader: boolean, private readonly maxLine = MAX_DATA_LINE) {}

  /** Data lines [start, start + count) with their line numbers. */
  async take(start: number, count: number): Promise<Line[]> {
    if (!this.lines || start < this.next) await this.reset();
    const out: Line[] = [];
    while (out.length < count) {
      if (this.at === this.buffered.length) {
        const r = await this.lines!.next();
        if (r.done) throw new StudioError(`${this.path}: the file has fewer lines than when it was opened (was it changed?)`, { kind: 'internal', file: this.path });
        this.buffered = r.value;
        this.at = 0;
      }
      const l = this.buffered[this.at++]!;
      if (l.text.trim() === '') continue;
      if (this.skipHeader && this.next === -1) { this.next = 0; continue; }
      if (this.next++ >= start) out.push(l);
    }
    return out;
  }

  private async reset(): Promise<void> {
    await this.close();
    this.lines = readLineBatches(this.path, this.maxLine);
    this.buffered = [];
    this.at = 0;
    this.next = this.skipHeader ? -1 : 0;
  }

  async close(): Promise<void> {
    await this.lines?.return(undefined);
    this.lines = undefined;
  }
}
