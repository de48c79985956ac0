/**
 * P-values for "the risk of a rule exceeds eps", from its losses on n
 * independent calibration samples (a 0/1 loss), as Learn-then-Test uses them:
 *
 *  - binomial: P(Bin(n, eps) <= losses), exact for a 0/1 loss;
 *  - hoeffding-bentkus: min(exp(-n h(min(losses/n, eps), eps)), e P(Bin(n, eps) <= losses)),
 *    h(a, b) = a ln(a/b) + (1-a) ln((1-a)/(1-b)): the bound LTT and CALM use, valid for any
 *    loss in [0, 1], more conservative than the binomial tail for a 0/1 one.
 *
 * The binomial tail is summed in log space term by term, so a large n, where
 * (1 - eps)^n underflows, stays exact.
 */

export type RiskTest = 'binomial' | 'hoeffding-bentkus';

/** log(e^a + e^b) without overflow. */
function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** log P(X <= k), X ~ Bin(n, p). */
export function binomialLogCdf(k: number, n: number, p: number): number {
  if (k < 0) return -Infinity;
  if (k >= n || p <= 0) return 0;
  if (p >= 1) return -Infinity;
  const ratio = Math.log(p) - Math.log1p(-p);
  let logPmf = n * Math.log1p(-p);
  let logCdf = logPmf;
  for (let i = 0; i < k; i++) {
    logPmf += Math.log((n - i) / (i + 1)) + ratio;
    logCdf = logAdd(logCdf, logPmf);
  }
  return Math.min(0, logCdf);
}

/** Hoeffding's log tail bound -n h(min(r, eps), eps) for the empirical risk r = losses / n. */
function hoeffdingLog(losses: number, n: number, eps: number): number {
  const a = Math.min(losses / n, eps);
  const h = (a === 0 ? 0 : a * Math.log(a / eps)) + (1 - a) * Math.log((1 - a) / (1 - eps));
  return -n * h;
}

/** The log p-value of `losses` out of n under "risk > eps", given the binomial log tail of those losses. */
function pValueLog(test: RiskTest, losses: number, n: number, eps: number, logTail: number): number {
  return test === 'binomial' ? logTail : Math.min(hoeffdingLog(losses, n, eps), 1 + logTail);
}

/** The p-value of `losses` losses out of n for the null "risk > eps". */
export function riskPValue(test: RiskTest, losses: number, n: number, eps: number): number {
  return Math.min(1, Math.exp(pValueLog(test, losses, n, eps, binomialLogCdf(losses, n, eps))));
}

/**
 * The most losses out of n that still reject "risk > eps" at level delta (the p-value is
 * non-decreasing in the losses); -1 when even none can (n too small for eps and delta).
 */
export function criticalLosses(n: number, eps: number, delta: number, test: RiskTest): number {
  const logDelta = Math.log(delta);
  const ratio = Math.log(eps) - Math.log1p(-eps);
  let logPmf = n * Math.log1p(-eps);
  let logCdf = logPmf;
  if (pValueLog(test, 0, n, eps, logCdf) > logDelta) return -1;
  for (let k = 0; k < n; k++) {
    logPmf += Math.log((n - k) / (k + 1)) + ratio;
    logCdf = logAdd(logCdf, logPmf);
    if (pValueLog(test, k + 1, n, eps, logCdf) > logDelta) return k;
  }
  return n;
}

/**
 * The (1 - delta) upper confidence bound on a risk from `losses` out of n: the
 * eps at which the test's p-value of those losses is delta (for the binomial
 * test, Clopper-Pearson's bound).
 */
export function riskUpperBound(losses: number, n: number, delta: number, test: RiskTest): number {
  if (losses >= n) return 1;
  const logDelta = Math.log(delta);
  let lo = losses / n;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (pValueLog(test, losses, n, mid, binomialLogCdf(losses, n, mid)) > logDelta) lo = mid;
    else hi = mid;
  }
  return hi;
}
