/**
 * Lines of a text file, streamed with a bound on their length. A file with a
 * line of hundreds of megabytes (no line breaks at all, or a binary file
 * given as text) must end in an error that names the file and the line, not
 * in a string too long for the JavaScript engine: node:readline builds such a
 * line inside a stream event, where the failure escapes every caller and
 * takes the process down. Here the bytes are scanned for line breaks as they
 * are read, and a line that outgrows the bound is refused before it is ever
 * made into a string.
 */
import { inputError } from '../errors.js';
import { openRegular } from '../files/regular.js';

/** The longest line a data file (CSV, TSV, JSONL) may hold: far above any sample the studio can feed a model. */
export const MAX_DATA_LINE = 64 * 1024 * 1024;

const CHUNK = 1 << 20;
const LF = 0x0a;
const CR = 0x0d;

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
 */
export async function* readLines(path: string, maxBytes = MAX_DATA_LINE, what = 'one sample per line'): AsyncGenerator<Line> {
  const { handle } = await openRegular(path);
  const tooLong = (line: number) =>
    inputError(path, `line ${line} is longer than ${size(maxBytes)} without a line break; this reader takes ${what}: is this the right file?`);
  let parts: Buffer[] = [];
  let partBytes = 0;
  let line = 0;
  let skipLF = false;
  const emit = (bytes: Buffer): Line => {
    line++;
    const text = bytes.toString('utf8');
    return { text: line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, line };
  };
  try {
    for (;;) {
      // A fresh buffer per read: an unfinished line keeps views on it.
      const chunk = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const data = chunk.subarray(0, bytesRead);
      let p = 0;
      if (skipLF) {
        if (data[0] === LF) p = 1;
        skipLF = false;
      }
      let cr = data.indexOf(CR, p);
      while (p < data.length) {
        const lf = data.indexOf(LF, p);
        if (cr >= 0 && cr < p) cr = data.indexOf(CR, p);
        let end = lf;
        let next = lf + 1;
        if (cr >= 0 && (lf < 0 || cr < lf)) {
          end = cr;
          next = cr + 1;
          if (next < data.length) {
            if (data[next] === LF) next++;
          } else skipLF = true;
        }
        if (end < 0) {
          if (partBytes + data.length - p > maxBytes) throw tooLong(line + 1);
          parts.push(data.subarray(p));
          partBytes += data.length - p;
          break;
        }
        if (partBytes + end - p > maxBytes) throw tooLong(line + 1);
        const piece = data.subarray(p, end);
        yield emit(parts.length ? Buffer.concat([...parts, piece]) : piece);
        parts = [];
        partBytes = 0;
        p = next;
      }
    }
    if (partBytes > 0) yield emit(Buffer.concat(parts));
  } finally {
    await handle.close();
  }
}
