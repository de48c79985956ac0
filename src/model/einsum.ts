/**
 * Einsum equations ("bij,bjk->bik", "...ij,...jk", implicit outputs): the size of every index
 * letter from the operands' shapes, the output shape, and the MACs of evaluating it.
 */
import type { Dim } from './types.js';

export interface EinsumPlan {
  /** Size of each index letter; null when an operand leaves it unknown. */
  sizes: Map<string, Dim>;
  /** Broadcast dims that "..." stands for. */
  ellipsis: Dim[];
  output: Dim[];
  operands: number;
}

function broadcastDims(a: Dim[], b: Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    out.push(x === 1 ? y : y === 1 ? x : x === y ? x : typeof x === 'number' && typeof y === 'number' ? null : x ?? y);
  }
  return out;
}

/** Undefined when the equation does not match the operands (wrong rank, a letter with two sizes). */
export function planEinsum(equation: string, shapes: Dim[][]): EinsumPlan | undefined {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== shapes.length) return undefined;
  const sizes = new Map<string, Dim>();
  const counts = new Map<string, number>();
  let ellipsis: Dim[] = [];
  for (let t = 0; t < terms.length; t++) {
    const term = terms[t]!;
    const shape = shapes[t]!;
    const letters = term.replace('...', '');
    const hasDots = term.includes('...');
    const dotRank = shape.length - letters.length;
    if (dotRank < 0 || (!hasDots && dotRank !== 0)) return undefined;
    let axis = 0;
    for (let i = 0; i < term.length; i++) {
      if (term.startsWith('...', i)) {
        ellipsis = broadcastDims(ellipsis, shape.slice(axis, axis + dotRank));
        axis += dotRank;
        i += 2;
        continue;
      }
      const c = term[i]!;
      const d = shape[axis++] ?? null;
      counts.set(c, (counts.get(c) ?? 0) + 1);
      const known = sizes.get(c);
      // A letter of size 1 broadcasts against the same letter elsewhere; a fixed size beats a symbol or an unknown.
      if (known === undefined || known === 1 || (known === null && d !== 1) || (typeof known === 'string' && typeof d === 'number' && d !== 1)) sizes.set(c, d);
      else if (typeof known === 'number' && typeof d === 'number' && d !== 1 && d !== known) return undefined;
    }
  }
  const outTerm = rhs ?? [...counts.keys()].filter((c) => counts.get(c) === 1).sort().join('');
  const output: Dim[] = [];
  const dotsOut = rhs === undefined ? ellipsis.length > 0 : outTerm.includes('...');
  if (rhs === undefined && dotsOut) output.push(...ellipsis);
  for (let i = 0; i < outTerm.length; i++) {
    if (outTerm.startsWith('...', i)) {
      output.push(...ellipsis);
      i += 2;
      continue;
    }
    const d = sizes.get(outTerm[i]!);
    if (d === undefined) return undefined;
    output.push(d);
  }
  return { sizes, ellipsis, output, operands: terms.length };
}

/**
 * Every combination of all index values is one multiply-accumulate per extra operand (the naive
 * loop an einsum is defined by): exact for the two-operand contractions models use, an upper
 * bound for three or more (an engine may contract pairwise in a cheaper order). One operand
 * (transpose, trace, sum) multiplies nothing.
 */
export function einsumMacs(plan: EinsumPlan): number | null {
  if (plan.operands < 2) return 0;
  let p = plan.operands - 1;
  for (const d of [...plan.sizes.values(), ...plan.ellipsis]) {
    if (typeof d !== 'number') return null;
    p *= d;
  }
  return p;
}
