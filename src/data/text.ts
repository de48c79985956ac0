/** Reading text data line by line, and the strict number syntax CSV, TSV and label files share. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { StudioError } from '../errors.js';

/** Lines with their 1-based numbers, streamed (memory O(line)); a UTF-8 BOM is dropped. */
export async function* readLines(path: string): AsyncGenerator<{ text: string; line: number }> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of rl) {
      line++;
      yield { text: line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw, line };
    }
  } finally {
    rl.close();
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NOT_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** A cell's number, or why it is not one. Decimal notation only: "0x10" or "" are not numbers here. */
export function parseNumber(cell: string): number | string {
  const s = cell.trim();
  if (s === '') return 'empty cell';
  if (NUMBER.test(s)) {
    const v = Number(s);
    return Number.isFinite(v) ? v : `"${s}" overflows a float64`;
  }
  if (NOT_FINITE.test(s)) return `"${s}" is not a finite number (NaN and Inf are not allowed; impute or drop them first)`;
  return `"${s.length > 40 ? s.slice(0, 40) + '…' : s}" is not a number`;
}

/** Splits a delimited line; double quotes around a cell are removed ("1.5" reads as 1.5). */
export function splitCells(text: string, delimiter: string): string[] {
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
  private lines: AsyncGenerator<{ text: string; line: number }> | undefined;
  private next = 0;

  constructor(private readonly path: string, private readonly skipHeader: boolean) {}

  /** Data lines [start, start + count) with their line numbers. */
  async take(start: number, count: number): Promise<{ text: string; line: number }[]> {
    if (!this.lines || start < this.next) await this.reset();
    const out: { text: string; line: number }[] = [];
    while (out.length < count) {
      const r = await this.lines!.next();
      if (r.done) throw new StudioError(`${this.path}: the file has fewer lines than when it was opened (was it changed?)`, { kind: 'runtime', file: this.path });
      if (r.value.text.trim() === '') continue;
      if (this.skipHeader && this.next === -1) { this.next = 0; continue; }
      if (this.next++ >= start) out.push(r.value);
    }
    return out;
  }

  private async reset(): Promise<void> {
    await this.close();
    this.lines = readLines(this.path);
    this.next = this.skipHeader ? -1 : 0;
  }

  async close(): Promise<void> {
    await this.lines?.return(undefined);
    this.lines = undefined;
  }
}
