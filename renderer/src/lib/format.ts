/** Number and text formatting shared by the views. Pure: no DOM. */

export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(digits)} %`;
}

export function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (Math.abs(x) >= 1e4) return x.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return x.toFixed(digits);
}

/** 1234567 → "1.23 M" (MACs, samples). */
export function si(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (a >= 1e3) return `${(x / 1e3).toFixed(2)} k`;
  return String(Math.round(x * 100) / 100);
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return `${m} min ${s.toString().padStart(2, '0')} s`;
}

export function date(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').slice(0, 16);
}

type StatLike = { mean: number | null; ci95?: number | null } | number | null | undefined;

function parts(s: StatLike): { mean: number | null; ci: number | null } {
  if (s === null || s === undefined) return { mean: null, ci: null };
  if (typeof s === 'number') return { mean: s, ci: null };
  return { mean: s.mean, ci: typeof s.ci95 === 'number' && Number.isFinite(s.ci95) && s.ci95 > 0 ? s.ci95 : null };
}

/** Mean ± half-width of a 95 % interval, e.g. "91.2 % ± 0.4". */
export function pctStat(s: StatLike): string {
  const { mean, ci } = parts(s);
  const base = pct(mean);
  return ci !== null && mean !== null ? `${base} ± ${(ci * 100).toFixed(1)}` : base;
}

export function numStat(s: StatLike, digits = 3): string {
  const { mean, ci } = parts(s);
  const base = num(mean, digits);
  return ci !== null && mean !== null ? `${base} ± ${num(ci, digits)}` : base;
}

/** The file name of a path, for labels. */
export function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** "a, b" from a comma/space list, e.g. seeds "1, 2 3" → [1, 2, 3]; undefined when something is not a whole number. */
export function parseIntList(text: string): number[] | undefined {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const out: number[] = [];
  for (const p of parts) {
    if (!/^-?\d+$/.test(p)) return undefined;
    out.push(Number(p));
  }
  return out;
}

/** "0.1, 0.3, 1" or "1/12, 3/12, 1" → numbers; undefined when something is not a number. */
export function parseNumberList(text: string): number[] | undefined {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const out: number[] = [];
  for (const p of parts) {
    const [a, b] = p.split('/');
    const v = b === undefined ? Number(a) : Number(a) / Number(b);
    if (!Number.isFinite(v)) return undefined;
    out.push(v);
  }
  return out;
}
