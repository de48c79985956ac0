/**
 * Exit scores no probability can be made of. A row of logits holding NaN or
 * +Inf (or nothing but -Inf) has no softmax: featurizing it anyway would
 * store class 0 with a max probability of NaN, and every threshold replayed
 * over such a trace would report nonsense. A batch with such rows ends the
 * job with a report per exit instead.
 */
import { StudioError } from '../errors.js';

export interface BadRows {
  /** Rows (samples) of the batch with unusable scores. */
  count: number;
  /** The first such row, or -1. */
  first: number;
}

/** Unusable rows of one exit's [n, C] scores. -Inf alone is fine: a masked class has probability 0. */
export function badScoreRows(scores: ArrayLike<number>, n: number, C: number): BadRows {
  let count = 0;
  let first = -1;
  for (let i = 0; i < n; i++) {
    let usable = false;
    let bad = false;
    for (let c = 0; c < C; c++) {
      const v = scores[i * C + c]!;
      if (v !== v || v === Infinity) { bad = true; break; }
      if (v !== -Infinity) usable = true;
    }
    if (bad || !usable) {
      count++;
      if (first < 0) first = i;
    }
  }
  return { count, first };
}

/** The error for a batch whose scores are unusable at some exits, naming each exit and how many samples. */
export function checkScores(modelPath: string, dataPath: string, exits: { name: string; classes: number }[], scores: ArrayLike<number>[], start: number, n: number): void {
  const per = exits.map((e, k) => ({ name: e.name, ...badScoreRows(scores[k]!, n, e.classes) }));
  const bad = per.filter((p) => p.count > 0);
  if (bad.length === 0) return;
  const fine = per.length - bad.length;
  const list = bad.map((p) => `exit "${p.name}": ${p.count} of ${n} samples (first: sample ${start + p.first})`).join('; ');
  throw new StudioError(
    `${modelPath}: the model's scores are NaN or infinite for samples ${start}–${start + n - 1} of ${dataPath}: ${list}` +
      `${fine ? `; the other ${fine} exit${fine > 1 ? 's are' : ' is'} finite` : ''}; a trace cannot hold them, so nothing was stored: check the model, or what it was fed`,
    { kind: 'input', file: modelPath },
  );
}
