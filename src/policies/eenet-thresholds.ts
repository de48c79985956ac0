/**
 * Budget-constrained refinement of EENet's per-exit thresholds on the fitting
 * data (docs/policies.md, "EENet"). Share filling turns the assignment head's
 * shares into thresholds, but those shares come from a soft loss and need not
 * be the split that serves accuracy best; this finds, for the same scores q,
 * the thresholds that maximize the fitting objective (how many samples exit
 * where the target says they are right) while the mean cost stays within the
 * budget.
 *
 * The rule: a sample exits at the first k < K-1 with q_k >= th_k, else at the
 * last exit. Search:
 *  1. Lagrangian coordinate ascent: for a price mu on cost, each threshold in
 *     turn is set to its best value given the others (exact: the samples that
 *     reach exit j, sorted by q_j, each gain z_j - mu c_j by exiting there and
 *     their continuation value by going on), until no threshold moves;
 *  2. bisection on mu for the dearest rule whose mean cost is within budget,
 *     from every starting rule given (share filling, one common threshold);
 *  3. a constrained polish: coordinate moves that raise the objective (or,
 *     at equal objective, spend more of the budget) with the cost kept <= B.
 * The best rule found with cost <= B wins; ties go to the higher cost.
 */

export interface RuleProblem {
  n: number;
  K: number;
  /** Clamped scores, n*K. */
  q: Float64Array;
  /** Targets, n*K: 1 when exit k is right for sample s. */
  z: Uint8Array;
  /** Per-exit cost. */
  costs: Float64Array;
  /** Mean cost the rule must not exceed. */
  budget: number;
  /** Mean cost the rule should reach (default budget less 1 %). */
  floor?: number;
}

export interface RuleScore {
  /** Number of samples that exit where they are right. */
  right: number;
  /** Total cost over the samples. */
  cost: number;
}

/** Above any clamped score: nobody exits there. */
const NEVER = 2;

/** Right count and total cost of thresholds th on the problem. */
export function scoreRule(p: RuleProblem, th: Float64Array): RuleScore {
  const { n, K, q, z, costs } = p;
  let right = 0;
  let cost = 0;
  for (let s = 0; s < n; s++) {
    const o = s * K;
    let k = 0;
    while (k < K - 1 && !(q[o + k]! >= th[k]!)) k++;
    right += z[o + k]!;
    cost += costs[k]!;
  }
  return { right, cost };
}

/** Per exit, the sample indices sorted by q_k descending (ties by index, so the order is deterministic). */
function sortedByScore(p: RuleProblem): Uint32Array[] {
  const { n, K, q } = p;
  const out: Uint32Array[] = [];
  const key = new Float64Array(n);
  for (let k = 0; k < K - 1; k++) {
    for (let s = 0; s < n; s++) key[s] = q[s * K + k]!;
    const idx = Uint32Array.from({ length: n }, (_, i) => i);
    idx.sort((a, b) => key[b]! - key[a]! || a - b);
    out.push(idx);
  }
  return out;
}

/** Workspace shared by the coordinate moves. */
interface Work {
  p: RuleProblem;
  order: Uint32Array[];
  /** Exit of each sample under the current thresholds. */
  exit: Uint8Array;
  /** Per sample: value of exiting at j and of going on (filled per move). */
  dRight: Int8Array;
  dCost: Float64Array;
}

function exitsUnder(p: RuleProblem, th: Float64Array, out: Uint8Array): void {
  const { n, K, q } = p;
  for (let s = 0; s < n; s++) {
    const o = s * K;
    let k = 0;
    while (k < K - 1 && !(q[o + k]! >= th[k]!)) k++;
    out[s] = k;
  }
}

/**
 * For the samples reaching exit j, the change in right count and cost of
 * exiting at j instead of going on under th_{j+1..}. Returns nothing; fills
 * w.dRight / w.dCost (zero for samples that do not reach j).
 */
function deltasAt(w: Work, th: Float64Array, j: number): void {
  const { n, K, q, z, costs } = w.p;
  for (let s = 0; s < n; s++) {
    if (w.exit[s]! < j) {
      w.dRight[s] = 0;
      w.dCost[s] = 0;
      continue;
    }
    const o = s * K;
    let k = j + 1;
    while (k < K - 1 && !(q[o + k]! >= th[k]!)) k++;
    w.dRight[s] = z[o + j]! - z[o + k]!;
    w.dCost[s] = costs[j]! - costs[k]!;
  }
}

/**
 * Candidate thresholds for exit j, walking the reaching samples by q_j from
 * the highest: after each group of equal scores, the threshold that lets
 * exactly the samples seen so far exit (midway to the next lower score, so a
 * score a hair below the last one taken still goes on). `visit` gets the
 * threshold and the cumulative change in right count and cost against
 * "nobody exits at j"; the first visit is NEVER with zero change.
 */
function sweep(w: Work, j: number, visit: (t: number, dRight: number, dCost: number) => void): void {
  const { K, q } = w.p;
  const idx = w.order[j]!;
  let r = 0;
  let c = 0;
  visit(NEVER, 0, 0);
  let i = 0;
  const n = idx.length;
  // Skip to the first sample that reaches j.
  while (i < n && w.exit[idx[i]!]! < j) i++;
  while (i < n) {
    const v = q[idx[i]! * K + j]!;
    // Take the whole group of samples scoring v.
    while (i < n) {
      const s = idx[i]!;
      if (w.exit[s]! >= j) {
        if (q[s * K + j]! !== v) break;
        r += w.dRight[s]!;
        c += w.dCost[s]!;
      }
      i++;
    }
    while (i < n && w.exit[idx[i]!]! < j) i++;
    const next = i < n ? q[idx[i]! * K + j]! : -Infinity;
    visit(next === -Infinity ? v : (v + next) / 2, r, c);
  }
}

/** Change in right count and cost of the current th_j against "nobody exits at j". */
function currentAt(w: Work, th: Float64Array, j: number): { r: number; c: number } {
  const { n, K, q } = w.p;
  let r = 0;
  let c = 0;
  const t = th[j]!;
  for (let s = 0; s < n; s++) {
    if (w.exit[s]! >= j && q[s * K + j]! >= t) {
      r += w.dRight[s]!;
      c += w.dCost[s]!;
    }
  }
  return { r, c };
}

/** Coordinate ascent on right - mu * cost; mutates th. */
function ascend(w: Work, th: Float64Array, mu: number, maxSweeps = 8): void {
  const K = w.p.K;
  for (let it = 0; it < maxSweeps; it++) {
    let moved = false;
    for (let j = 0; j < K - 1; j++) {
      exitsUnder(w.p, th, w.exit);
      deltasAt(w, th, j);
      const cur = currentAt(w, th, j);
      let best = cur.r - mu * cur.c;
      let bestT = th[j]!;
      sweep(w, j, (t, r, c) => {
        const v = r - mu * c;
        if (v > best + 1e-9) {
          best = v;
          bestT = t;
        }
      });
      if (bestT !== th[j]) {
        th[j] = bestT;
        moved = true;
      }
    }
    if (!moved) break;
  }
}

/** Coordinate moves that raise the right count (or keep it and spend more) with the total cost kept in [floor, cap]; mutates th. */
function polish(w: Work, th: Float64Array, floor: number, cap: number, maxSweeps = 8): RuleScore {
  const K = w.p.K;
  let score = scoreRule(w.p, th);
  for (let it = 0; it < maxSweeps; it++) {
    let moved = false;
    for (let j = 0; j < K - 1; j++) {
      exitsUnder(w.p, th, w.exit);
      deltasAt(w, th, j);
      const cur = currentAt(w, th, j);
      // Totals with nobody exiting at j: the score minus the current choice's change.
      const r0 = score.right - cur.r;
      const c0 = score.cost - cur.c;
      let bestR = score.right;
      let bestC = score.cost;
      let bestT = th[j]!;
      sweep(w, j, (t, r, c) => {
        const R = r0 + r;
        const C = c0 + c;
        if (C > cap + 1e-9 || C < floor - 1e-9) return;
        if (R > bestR || (R === bestR && C > bestC + 1e-9)) {
          bestR = R;
          bestC = C;
          bestT = t;
        }
      });
      if (bestT !== th[j]) {
        th[j] = bestT;
        score = { right: bestR, cost: bestC };
        moved = true;
      }
    }
    if (!moved) break;
  }
  return scoreRule(w.p, th);
}

const better = (a: RuleScore, b: RuleScore | undefined): boolean =>
  b === undefined || a.right > b.right || (a.right === b.right && a.cost > b.cost + 1e-9);

/**
 * The thresholds with the highest right count whose mean cost lies in
 * [floor, budget] (`floor` defaults to the budget less 1 %: the budget is a
 * target, as the loss's |E[cost] - B| term says, not only a cap), searched
 * from each of `starts` (see the file's comment). The last threshold is always
 * 0. Where no rule found lands in the band, the dearest one within budget
 * (or, with a budget below the first exit's cost, the cheapest).
 */
export function refineThresholds(p: RuleProblem, starts: Float64Array[]): { thresholds: Float64Array; score: RuleScore } {
  const { n, K, costs } = p;
  const cap = p.budget * n;
  const floor = (p.floor ?? p.budget * 0.99) * n;
  const w: Work = { p, order: sortedByScore(p), exit: new Uint8Array(n), dRight: new Int8Array(n), dCost: new Float64Array(n) };
  let best: { score: RuleScore; th: Float64Array } | undefined;
  // Fallbacks: the dearest rule within budget, else the cheapest rule seen.
  let within: { score: RuleScore; th: Float64Array } | undefined;
  let cheapest: { score: RuleScore; th: Float64Array } | undefined;
  // A price (or subsidy) on cost above the most a right answer can be worth per unit of cost makes cost alone decide.
  let minStep = Infinity;
  for (let k = 1; k < K; k++) if (costs[k]! > costs[k - 1]!) minStep = Math.min(minStep, costs[k]! - costs[k - 1]!);
  const muMax = Number.isFinite(minStep) ? 2 / minStep : 1;
  for (const start of starts) {
    const s0 = Float64Array.from(start);
    s0[K - 1] = 0;
    // The best rule in the band from this start.
    let mine: { score: RuleScore; th: Float64Array } | undefined;
    const consider = (th: Float64Array): RuleScore => {
      const sc = scoreRule(p, th);
      if (sc.cost <= cap + 1e-9) {
        if (sc.cost >= floor - 1e-9) {
          if (better(sc, mine?.score)) mine = { score: sc, th: Float64Array.from(th) };
        } else if (!within || sc.cost > within.score.cost + 1e-9 || (Math.abs(sc.cost - within.score.cost) <= 1e-9 && sc.right > within.score.right)) {
          within = { score: sc, th: Float64Array.from(th) };
        }
      } else if (!cheapest || sc.cost < cheapest.score.cost) {
        cheapest = { score: sc, th: Float64Array.from(th) };
      }
      return sc;
    };
    consider(s0);
    // Bisection on the price of cost mu (negative: a subsidy): the most accurate rule (mu = 0) first; if it
    // costs too much, price cost in; if too little, subsidize it; in the band, move mu back towards 0.
    let lo = -muMax;
    let hi = muMax;
    for (let i = 0; i < 24; i++) {
      const mu = i === 0 ? 0 : (lo + hi) / 2;
      const th = Float64Array.from(s0);
      ascend(w, th, mu);
      const sc = consider(th);
      if (sc.cost > cap + 1e-9) lo = mu;
      else if (sc.cost < floor - 1e-9) hi = mu;
      else if (i === 0) break; // the most accurate rule lands in the band
      else if (mu > 0) hi = mu;
      else lo = mu;
    }
    if (mine) {
      const th = Float64Array.from(mine.th);
      const sc = polish(w, th, floor, cap);
      if (better(sc, mine.score)) mine = { score: sc, th };
      if (better(mine.score, best?.score)) best = mine;
    }
  }
  if (best === undefined) {
    if (within) {
      const th = Float64Array.from(within.th);
      return { thresholds: th, score: polish(w, th, -Infinity, cap) };
    }
    return { thresholds: cheapest!.th, score: cheapest!.score };
  }
  return { thresholds: best.th, score: best.score };
}

/** One threshold for every exit but the last: the highest whose rule's mean cost is within budget (bisection on the score). */
export function commonThreshold(p: RuleProblem): Float64Array {
  const K = p.K;
  const cap = p.budget * p.n;
  const th = new Float64Array(K);
  const at = (t: number): number => {
    for (let k = 0; k < K - 1; k++) th[k] = t;
    th[K - 1] = 0;
    return scoreRule(p, th).cost;
  };
  // Cost rises with the threshold: the highest threshold within budget spends the most.
  let lo = 0;
  let hi = NEVER;
  if (at(hi) <= cap + 1e-9) lo = hi;
  else {
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (at(mid) <= cap + 1e-9) lo = mid;
      else hi = mid;
    }
  }
  at(lo);
  return Float64Array.from(th);
}
