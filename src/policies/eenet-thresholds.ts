/**
 * Budget-constrained refinement of EENet's per-exit thresholds on the fitting
 * data (docs/policies.md, "EENet"). Share filling turns the assignment head's
 * shares into thresholds, but those shares come from a soft loss and need not
 * be the split that serves accuracy best; this finds, for the same scores q,
 * the thresholds that maximize the fitting objective (how many samples exit
 * where the target says they are right) with the mean cost in a band just
 * under the budget, [floor, B] (floor default 0.99 B: the budget is a target).
 *
 * The rule: a sample exits at the first k < K-1 with q_k >= th_k, else at the
 * last exit. Search:
 *  1. Lagrangian coordinate ascent: for a price mu on cost, each threshold in
 *     turn is set to its best value given the others (exact: the samples that
 *     reach exit j, sorted by q_j, each gain z_j - mu c_j by exiting there and
 *     their continuation value by going on), until no threshold moves;
 *  2. bisection on mu (negative: a subsidy, when the most accurate rule
 *     spends too little) for the most accurate rule in the band, from every
 *     starting rule given (share filling, one common threshold);
 *  3. a polish: single-threshold moves that raise the objective (or, at equal
 *     objective, spend more of the budget) with the cost kept in the band.
 * The best rule in the band wins; ties go to the higher cost.
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

/** Steps of the bisection on the price of cost (the first is mu = 0). */
const BISECTIONS = 12;

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
  /** 1 for the samples that reach the exit being moved. */
  reach: Uint8Array;
  /** Per reaching sample: change in right count and cost of exiting at j instead of going on. */
  dRight: Int8Array;
  dCost: Float64Array;
  /** Candidate thresholds for exit j and the cumulative change each brings against "nobody exits at j". */
  candT: Float64Array;
  candR: Float64Array;
  candC: Float64Array;
}

function workFor(p: RuleProblem): Work {
  const n = p.n;
  return {
    p,
    order: sortedByScore(p),
    reach: new Uint8Array(n),
    dRight: new Int8Array(n),
    dCost: new Float64Array(n),
    candT: new Float64Array(n + 1),
    candR: new Float64Array(n + 1),
    candC: new Float64Array(n + 1),
  };
}

/**
 * One pass for moving th_j: which samples reach exit j under th, and for each
 * the change in right count and cost of exiting at j instead of going on under
 * th_{j+1..}. Returns the change the current th_j brings against "nobody
 * exits at j".
 */
function prepareAt(w: Work, th: Float64Array, j: number): { r: number; c: number } {
  const { n, K, q, z, costs } = w.p;
  const { reach, dRight, dCost } = w;
  const tj = th[j]!;
  let r = 0;
  let c = 0;
  for (let s = 0; s < n; s++) {
    const o = s * K;
    let k = 0;
    while (k < j && !(q[o + k]! >= th[k]!)) k++;
    if (k < j) {
      reach[s] = 0;
      continue;
    }
    reach[s] = 1;
    k = j + 1;
    while (k < K - 1 && !(q[o + k]! >= th[k]!)) k++;
    const dr = z[o + j]! - z[o + k]!;
    const dc = costs[j]! - costs[k]!;
    dRight[s] = dr;
    dCost[s] = dc;
    if (q[o + j]! >= tj) {
      r += dr;
      c += dc;
    }
  }
  return { r, c };
}

/**
 * Candidate thresholds for exit j (after prepareAt), walking the reaching
 * samples by q_j from the highest: after each group of equal scores, the
 * threshold that lets exactly the samples seen so far exit (midway to the next
 * lower score, so a score a hair below the last one taken still goes on), with
 * the cumulative change in right count and cost. The first is NEVER with no
 * change. Returns how many were written to w.candT/candR/candC.
 */
function candidatesAt(w: Work, j: number): number {
  const { K, q } = w.p;
  const { reach, dRight, dCost, candT, candR, candC } = w;
  const idx = w.order[j]!;
  const n = idx.length;
  let r = 0;
  let c = 0;
  candT[0] = NEVER;
  candR[0] = 0;
  candC[0] = 0;
  let m = 1;
  let i = 0;
  while (i < n && !reach[idx[i]!]) i++;
  while (i < n) {
    const v = q[idx[i]! * K + j]!;
    // Take the whole group of reaching samples scoring v.
    while (i < n) {
      const s = idx[i]!;
      if (reach[s]) {
        if (q[s * K + j]! !== v) break;
        r += dRight[s]!;
        c += dCost[s]!;
      }
      i++;
    }
    while (i < n && !reach[idx[i]!]) i++;
    candT[m] = i < n ? (v + q[idx[i]! * K + j]!) / 2 : v;
    candR[m] = r;
    candC[m] = c;
    m++;
  }
  return m;
}

/** Coordinate ascent on right - mu * cost; mutates th. */
function ascend(w: Work, th: Float64Array, mu: number, maxSweeps = 4): void {
  const K = w.p.K;
  const { candT, candR, candC } = w;
  for (let it = 0; it < maxSweeps; it++) {
    let moved = false;
    for (let j = 0; j < K - 1; j++) {
      const cur = prepareAt(w, th, j);
      const m = candidatesAt(w, j);
      let best = cur.r - mu * cur.c;
      let bestT = th[j]!;
      for (let i = 0; i < m; i++) {
        const v = candR[i]! - mu * candC[i]!;
        if (v > best + 1e-9) {
          best = v;
          bestT = candT[i]!;
        }
      }
      if (bestT !== th[j]) {
        th[j] = bestT;
        moved = true;
      }
    }
    if (!moved) break;
  }
}

/**
 * Coordinate moves with the total cost kept <= cap: in the band [floor, cap],
 * those that raise the right count (or keep it and spend more); below the
 * floor, those that spend more (or keep the cost and raise the right count),
 * and any move into the band. Mutates th.
 */
function polish(w: Work, th: Float64Array, floor: number, cap: number, maxSweeps = 8): RuleScore {
  const K = w.p.K;
  let score = scoreRule(w.p, th);
  const inBand = (c: number): boolean => c >= floor - 1e-9;
  const beats = (R: number, C: number, r: number, c: number): boolean => {
    if (inBand(C) !== inBand(c)) return inBand(C);
    if (inBand(C)) return R > r || (R === r && C > c + 1e-9);
    return C > c + 1e-9 || (Math.abs(C - c) <= 1e-9 && R > r);
  };
  for (let it = 0; it < maxSweeps; it++) {
    let moved = false;
    for (let j = 0; j < K - 1; j++) {
      const cur = prepareAt(w, th, j);
      const m = candidatesAt(w, j);
      // Totals with nobody exiting at j: the score minus the current choice's change.
      const r0 = score.right - cur.r;
      const c0 = score.cost - cur.c;
      let bestR = score.right;
      let bestC = score.cost;
      let bestT = th[j]!;
      for (let i = 0; i < m; i++) {
        const R = r0 + w.candR[i]!;
        const C = c0 + w.candC[i]!;
        if (C > cap + 1e-9) continue;
        if (beats(R, C, bestR, bestC)) {
          bestR = R;
          bestC = C;
          bestT = w.candT[i]!;
        }
      }
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
  const w = workFor(p);
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
    // The best rule in the band from this start, and the most accurate within budget (a seed for the polish).
    let mine: { score: RuleScore; th: Float64Array } | undefined;
    let seed: { score: RuleScore; th: Float64Array } | undefined;
    const consider = (th: Float64Array): RuleScore => {
      const sc = scoreRule(p, th);
      if (sc.cost <= cap + 1e-9) {
        if (better(sc, seed?.score)) seed = { score: sc, th: Float64Array.from(th) };
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
    const th = Float64Array.from(s0);
    for (let i = 0; i < BISECTIONS; i++) {
      const mu = i === 0 ? 0 : (lo + hi) / 2;
      ascend(w, th, mu); // warm: from the last price's rule
      const sc = consider(th);
      if (sc.cost > cap + 1e-9) lo = mu;
      else if (sc.cost < floor - 1e-9) hi = mu;
      else if (i === 0) break; // the most accurate rule lands in the band
      else if (mu > 0) hi = mu;
      else lo = mu;
    }
    for (const from of seed === mine ? [mine] : [mine, seed]) {
      if (!from) continue;
      const th = Float64Array.from(from.th);
      const sc = polish(w, th, floor, cap);
      if (sc.cost >= floor - 1e-9 && sc.cost <= cap + 1e-9 && better(sc, mine?.score)) mine = { score: sc, th };
    }
    if (mine && better(mine.score, best?.score)) best = mine;
  }
  if (best === undefined) {
    if (within) {
      // Below the band: the polish spends towards it.
      const th = Float64Array.from(within.th);
      return { thresholds: th, score: polish(w, th, floor, cap) };
    }
    return { thresholds: cheapest!.th, score: cheapest!.score };
  }
  return { thresholds: best.th, score: best.score };
}

/**
 * One threshold for every exit but the last: the highest whose rule's mean
 * cost is within budget. A sample has exited by exit k iff the running max of
 * its scores over exits 1..k reaches t, so the cost of t is
 * c_1 + sum_k (c_{k+1} - c_k) * #(running max at k < t) / n: sort each running
 * max once, and each guess of the bisection is K binary searches.
 */
export function commonThreshold(p: RuleProblem): Float64Array {
  const { n, K, q, costs } = p;
  const cap = p.budget * n;
  const run = Array.from({ length: K - 1 }, () => new Float64Array(n));
  for (let s = 0; s < n; s++) {
    let m = -Infinity;
    for (let k = 0; k < K - 1; k++) {
      const v = q[s * K + k]!;
      if (v > m) m = v;
      run[k]![s] = m;
    }
  }
  for (const r of run) r.sort();
  const below = (r: Float64Array, t: number): number => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const cost = (t: number): number => {
    let c = costs[0]! * n;
    for (let k = 0; k < K - 1; k++) c += (costs[k + 1]! - costs[k]!) * below(run[k]!, t);
    return c;
  };
  // Cost rises with the threshold: the highest threshold within budget spends the most.
  let lo = 0;
  let hi = NEVER;
  if (cost(hi) <= cap + 1e-9) lo = hi;
  else {
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (cost(mid) <= cap + 1e-9) lo = mid;
      else hi = mid;
    }
  }
  const th = new Float64Array(K).fill(lo);
  th[K - 1] = 0;
  return th;
}
