/**
 * The bounded line reader every text format shares: the same lines
 * node:readline gives (\n, \r\n and a lone \r end a line; a BOM is dropped;
 * a last line needs no break), across the reader's 1 MiB chunks, and a line
 * over the bound refused with the file and the line, never built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { readLines } from '../../src/data/lines.js';
import { StudioError } from '../../src/errors.js';
import { tempDir } from './util.js';

async function lines(path: string, max?: number): Promise<string[]> {
  const out: string[] = [];
  let n = 0;
  for await (const l of readLines(path, max)) {
    assert.equal(l.line, ++n);
    out.push(l.text);
  }
  return out;
}

async function readlineLines(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity })) out.push(l);
  return out;
}

test('lines as node:readline reads them: \\n, \\r\\n, a lone \\r, a BOM, no final break, empty lines', async () => {
  const t = tempDir();
  try {
    const cases = ['a\nb\n', 'a\r\nb\r\n', 'a\rb\rc', '\ufeffx,y\n1,2', '\n\n3\n\n', 'only', '', 'é\r\n€\n𝄞'];
    for (const [i, text] of cases.entries()) {
      const p = t.file(`c${i}.txt`);
      writeFileSync(p, text);
      const want = (await readlineLines(p)).map((l, j) => (j === 0 ? l.replace(/^\ufeff/, '') : l));
      assert.deepEqual(await lines(p), want, JSON.stringify(text));
    }
  } finally {
    t.cleanup();
  }
});

test('line breaks and multi-byte characters split across 1 MiB chunks', async () => {
  const t = tempDir();
  try {
    const chunk = 1 << 20;
    // A \r\n whose \r ends the first chunk, then a 4-byte character across the next boundary.
    const first = 'a'.repeat(chunk - 1) + '\r\n';
    // The second line starts at byte chunk + 1; its 'b's end two bytes before the next boundary.
    const second = 'b'.repeat(chunk - 3) + '𝄞' + 'c'.repeat(20) + '\n';
    const p = t.file('split.txt');
    writeFileSync(p, first + second + 'last');
    const got = await lines(p, 4 << 20);
    assert.deepEqual(got.map((l) => l.length), ['a'.repeat(chunk - 1).length, second.length - 1, 4]);
    assert.ok(got[1]!.includes('𝄞'));
    assert.deepEqual(got, await readlineLines(p));
  } finally {
    t.cleanup();
  }
});

test('a line at the bound is read; one byte more is refused, naming the file and the line', async () => {
  const t = tempDir();
  try {
    const ok = t.file('at-bound.txt');
    writeFileSync(ok, `ok\n${'x'.repeat(4096)}\n`);
    assert.deepEqual((await lines(ok, 4096)).map((l) => l.length), [2, 4096]);
    const p = t.file('bound.csv');
    writeFileSync(p, `ok\n${'x'.repeat(4096)}\n${'y'.repeat(4097)}\nnever read\n`);
    await assert.rejects(
      lines(p, 4096),
      (e: unknown) => e instanceof StudioError && e.kind === 'input' && e.message === `${p}: line 3 is longer than 4 KiB without a line break; this reader takes one sample per line: is this the right file?`,
    );
  } finally {
    t.cleanup();
  }
});
