/**
 * The few Python literals an .npy header holds: a dict of strings, booleans,
 * integers and tuples. A real parser, not a regex, so odd spacing, key order,
 * quotes or Python 2's "3L" all read the same and garbage fails cleanly.
 */
export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

export class PyLiteralError extends Error {}

export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new PyLiteralError(`${what} at character ${i + 1}`);
  };
  const space = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (depth: number): PyValue => {
    if (depth > 32) fail('nesting too deep');
    space();
    const c = text[i];
    if (c === undefined) return fail('unexpected end');
    if (c === '{') {
      i++;
      const out: { [key: string]: PyValue } = {};
      for (;;) {
        space();
        if (text[i] === '}') { i++; return out; }
        const key = value(depth + 1);
        if (typeof key !== 'string') fail('dict keys must be strings');
        space();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        out[key as string] = value(depth + 1);
        space();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return out; }
        fail('expected "," or "}"');
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const out: PyValue[] = [];
      for (;;) {
        space();
        if (text[i] === close) { i++; return out; }
        out.push(value(depth + 1));
        space();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === close) { i++; return out; }
        fail(`expected "," or "${close}"`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      if (s.includes('\\')) fail('escapes in strings are not supported');
      i = end + 1;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(i, i + 64));
    if (!m) return fail('unexpected character');
    i += m[0].length;
    if (m[2] === 'True') return true;
    if (m[2] === 'False') return false;
    if (m[2] === 'None') return null;
    const n = Number(m[1]);
    if (!Number.isSafeInteger(n)) fail('integer too large');
    return n;
  };
  const v = value(0);
  space();
  if (i !== text.length) fail('trailing characters');
  return v;
}
