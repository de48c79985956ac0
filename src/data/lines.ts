/**
 * Lines of a text file, streamed with a bound on their length. A file with a
 * line of hundreds of megabytes (no line breaks at all, or a binary file
 * given as text) must end in an error that names the file and the line, not
 * in a string too long for the JavaScript engine: node:readline builds such a
 * line inside a stream event, where the failure escapes every caller and
 * takes the process down. Here the text is scanned for line breaks as it is
 * read, and a line that outgrows the bound is refused as soon as it does,
 * long before the engine's limit.
 */
import { StringDecoder } from 'node:string_decoder';
import { inputError } from '../errors.js';
import { openRegular } from '../files/regular.js';

/** The longest line a data file (CSV, TSV, JSONL) may hold: far above any sample the studio can feed a model. */
export const MAX_DATA_LINE = 64 * 1024 * 1024;

const CHUNK = 1 << 20;
const LF = 0x0a;

export interface Line {
  text: string;
  /** 1-based line number. */
  line: number;
}

function size(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

/**
 * Lines with their 1-based numbers (\n, \r\n or a lone \r ends one, as
 * node:readline has it); a UTF-8 BOM is dropped. Memory O(longest line).
 * `maxBytes` bounds a line; `what` says what a line should be, for the error.
 *
 * Each chunk is decoded once and its lines are cut from the string and handed
 * over together (one decode and one await per chunk, not per line: an async
 * generator's await per line would cost more than the reading). A line that runs on past a
 * chunk is kept as text with its size in bytes, and refused as soon as that
 * passes the bound; within a chunk, a line of more characters than the bound
 * has more bytes too.
 */
export async function* readLineBatches(path: string, maxBytes = MAX_DATA_LINE, what = 'one sample per line'): AsyncGenerator<Line[]> {
  const { handle } = await openRegular(path);
  const tooLong = (line: number) =>
    inputError(path, `line ${line} is longer than ${size(maxBytes)} without a line break; this reader takes ${what}: is this the right file?`);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let pendingBytes = 0;
  let line = 0;
  let skipLF = false;
  const emit = (text: string): Line => {
    line++;
    return { text: line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, line };
  };
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const s = decoder.write(chunk.subarray(0, bytesRead));
      let p = 0;
      if (skipLF) {
        if (s.charCodeAt(0) === LF) p = 1;
        skipLF = false;
      }
      const batch: Line[] = [];
      let cr = s.indexOf('\r', p);
      while (p < s.length) {
        const lf = s.indexOf('\n', p);
        if (cr >= 0 && cr < p) cr = s.indexOf('\r', p);
        let end = lf;
        let next = lf + 1;
        if (cr >= 0 && (lf < 0 || cr < lf)) {
          end = cr;
          next = cr + 1;
          if (next < s.length) {
            if (s.charCodeAt(next) === LF) next++;
          } else skipLF = true;
        }
        if (end < 0) {
          const rest = s.slice(p);
          pendingBytes += Buffer.byteLength(rest);
          if (pendingBytes > maxBytes) throw tooLong(line + 1);
          pending += rest;
          break;
        }
        if (end - p > maxBytes || (pending && pendingBytes + Buffer.byteLength(s.slice(p, end)) > maxBytes)) throw tooLong(line + 1);
        const text = pending ? pending + s.slice(p, end) : s.slice(p, end);
        pending = '';
        pendingBytes = 0;
        batch.push(emit(text));
        p = next;
      }
      if (batch.length) yield batch;
    }
    const tail = pending + decoder.end();
    if (tail) yield [emit(tail)];
  } finally {
    await handle.close();
  }
}

/** Lines one at a time, for readers that stop early or read few lines; readLineBatches for whole passes. */
export async function* readLines(path: string, maxBytes = MAX_DATA_LINE, what = 'one sample per line'): AsyncGenerator<Line> {
  for await (const batch of readLineBatches(path, maxBytes, what)) yield* batch;
}

/**
 * Calls `f` with every line of a file in order, until it returns false: the
 * fast way through a whole file (no await per line).
 */
export async function eachLine(path: string, f: (text: string, line: number) => boolean | void, maxBytes = MAX_DATA_LINE, what = 'one sample per line'): Promise<void> {
  const lines = readLineBatches(path, maxBytes, what);
  try {
    for await (const batch of lines) {
      for (const { text, line } of batch) if (f(text, line) === false) return;
    }
  } finally {
    await lines.return(undefined);
  }
}
