/**
 * Least-squares coefficients of a series on a few others (columns), for the
 * series codec's prediction: only the encoder fits, and it stores the
 * coefficients it found, so the decoder recomputes the very same prediction
 * whatever the fit's own rounding was. A column the others already explain
 * (exit counts add up to the round) gets coefficient 0.
 */
export class LinearFit {
  private readonly m: number;
  private readonly P: number;
  /** 1 / max |column|: columns are solved for at unit scale. */
  private readonly scale: Float64Array;
  private readonly scaled: Float64Array[];
  /** X'X of the scaled columns, made once for every target fitted on them. */
  private readonly gram: Float64Array[];

  constructor(columns: readonly Float64Array[]) {
    this.m = columns.length;
    this.P = columns[0]?.length ?? 0;
    this.scale = Float64Array.from(columns, (c) => {
      let max = 0;
      for (let p = 0; p < c.length; p++) max = Math.max(max, Math.abs(c[p]!));
      return max > 0 ? 1 / max : 0;
    });
    this.scaled = columns.map((c, j) => c.map((x) => x * this.scale[j]!));
    this.gram = this.scaled.map((a) => Float64Array.from(this.scaled, (b) => dot(a, b)));
  }

  /** Coefficients c with target[p] ≈ sum_j c[j] * columns[j][p]. */
  coefficients(target: Float64Array): Float64Array {
    const m = this.m;
    // Normal equations [X'X | X'y], solved by Gauss-Jordan elimination with partial pivoting.
    const a = this.gram.map((row, i) => {
      const r = new Float64Array(m + 1);
      r.set(row);
      r[m] = dot(this.scaled[i]!, target);
      return r;
    });
    const pivotRow = new Int32Array(m).fill(-1);
    const used = new Uint8Array(m);
    for (let col = 0; col < m; col++) {
      let best = -1;
      for (let r = 0; r < m; r++) if (!used[r] && (best < 0 || Math.abs(a[r]![col]!) > Math.abs(a[best]![col]!))) best = r;
      // A column the ones before explain leaves no pivot: it takes no part (coefficient 0).
      if (best < 0 || Math.abs(a[best]![col]!) < 1e-9 * this.P) continue;
      used[best] = 1;
      pivotRow[col] = best;
      const pr = a[best]!;
      for (let r = 0; r < m; r++) {
        if (r === best) continue;
        const f = a[r]![col]! / pr[col]!;
        if (f !== 0) for (let c = col; c <= m; c++) a[r]![c]! -= f * pr[c]!;
      }
    }
    const coef = new Float64Array(m);
    for (let col = 0; col < m; col++) {
      const r = pivotRow[col]!;
      if (r >= 0) coef[col] = (a[r]![m]! / a[r]![col]!) * this.scale[col]!;
    }
    return coef;
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let p = 0; p < a.length; p++) s += a[p]! * b[p]!;
  return s;
}
