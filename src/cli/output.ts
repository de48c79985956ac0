/** Printing for the CLI: human text on stderr/stdout, --json on stdout only, tables, progress bars. */

export interface Output {
  json: boolean;
  /** Human-readable result lines (stdout; suppressed with --json). */
  line(text?: string): void;
  /** Messages about the work (stderr), never mixed into --json output. */
  note(text: string): void;
  /** The machine-readable result (stdout, with --json only). */
  result(value: unknown): void;
  /** A progress bar (terminals only); `unit` 'bytes' prints the counts in MB. */
  progress(label: string, done: number, total: number, extra?: string, unit?: 'bytes' | 'samples' | 'steps'): void;
  endProgress(): void;
}

export function makeOutput(json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Output {
  let barShown = false;
  let lastDraw = 0;
  let lastLabel = '';
  return {
    json,
    line: (text = '') => {
      if (!json) stdout.write(text + '\n');
    },
    note: (text) => {
      if (barShown) {
        stderr.write('\n');
        barShown = false;
      }
      stderr.write(text + '\n');
    },
    result: (value) => {
      if (json) stdout.write(JSON.stringify(value, null, 2) + '\n');
    },
    progress: (label, done, total, extra = '', unit) => {
      // Bars only on a terminal: logs and pipes get no carriage-return noise.
      if (!stderr.isTTY) return;
      const now = Date.now();
      // A new phase is drawn at once, so a short one still shows its name.
      if (now - lastDraw < 100 && done < total && label === lastLabel) return;
      lastDraw = now;
      lastLabel = label;
      const width = 28;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const fill = Math.round(frac * width);
      const counts = unit === 'bytes' ? `${(done / 2 ** 20).toFixed(0)}/${(total / 2 ** 20).toFixed(0)} MB` : `${done}/${total}`;
      stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${counts} ${extra}\x1b[K`);
      barShown = true;
    },
    endProgress: () => {
      if (barShown) stderr.write('\n');
      barShown = false;
    },
  };
}

/** A plain text table with right-aligned numbers. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number'));
  return cells
    .map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

export function fmt(x: number): string {
  if (Number.isInteger(x)) return String(x);
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  return x.toFixed(4);
}

export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
