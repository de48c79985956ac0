/**
 * JSON that gives back exactly what went in, for results a later run builds
 * on (a resumed run's kept seeds): Float64Arrays come back as Float64Arrays,
 * and the numbers plain JSON cannot hold (NaN, ±Infinity, -0) come back as
 * themselves instead of null or 0, so an aggregate over decoded results is
 * bit for bit the one over the originals. Doubles otherwise round-trip
 * through JSON's shortest decimal form.
 */

type Tagged = { $f64: number[] } | { $num: string };

function isTagged(v: unknown): v is Tagged {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === '$f64' || keys[0] === '$num');
}

export function encodeExact(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0) ? v : { $num: Object.is(v, -0) ? '-0' : String(v) };
    if (ArrayBuffer.isView(v)) {
      if (!(v instanceof Float64Array)) throw new TypeError(`encodeExact: ${v.constructor.name} is not supported (Float64Array only)`);
      return { $f64: Array.from(v) };
    }
    if (isTagged(v)) throw new TypeError('encodeExact: an object shaped like a tag ($f64 or $num alone) would not come back as itself');
    return v;
  });
}

export function decodeExact<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (!isTagged(v)) return v;
    return '$f64' in v ? Float64Array.from(v.$f64) : Number(v.$num);
  }) as T;
}
