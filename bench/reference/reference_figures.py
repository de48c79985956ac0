#!/usr/bin/python3
"""Reference figures of an exported Exit Studio trace, computed in plain numpy
from the archive alone (none of the studio's code), to check the studio's
policy figures against.

    /usr/bin/python3 bench/reference/reference_figures.py TRACE.npz \\
        [--costs uniform|c1,c2,..] [--lambda 0.3] [--eps 0.05] [--budget 0.6] \\
        [--calibrate-on OTHER.npz] [--json]

TRACE.npz is what `exit-studio trace export ID --out TRACE.npz` writes
(pred, max_prob, labels, costs, exits.json; see docs/formats.md). Costs are the
archive's unless --costs is given; they are normalized so the last exit
costs 1. Every figure is in-sample on TRACE (hindsight), except the budget
threshold calibrated on --calibrate-on and scored on TRACE.

Figures (exits k = 1..K, C_k cumulative cost, mp_k max probability):
  exits          per-exit accuracy (labels) and agreement with the last exit
  best_fixed     the exit minimising error + lambda * C_k
  ceebert        one max-probability threshold a shared by exits 1..K-1 from
                 the grid 0.50, 0.55, .., 0.95; a sample exits at the first
                 k < K with mp_k >= a, else at K; mean reward per arm
                 (mp_j - mp_1) - lambda (C_j - C_1), j the exit taken; best arm
                 (ties to the lowest threshold)
  risk           the cheapest single max-probability threshold (over every
                 value in the trace) whose disagreement with the last exit is
                 at most eps; its mean cost and accuracy
  budget         the max-probability threshold with the largest mean cost not
                 above the budget (a value of the trace's running maxima),
                 its accuracy and cost; with --calibrate-on, the threshold
                 found on OTHER and scored on TRACE
"""

import argparse
import io
import json
import sys
import zipfile

import numpy as np

GRID = [round(0.50 + 0.05 * i, 2) for i in range(10)]


def fail(message):
    """Bad input: one line naming the file and what is wrong, exit status 2."""
    print(f"reference_figures: {message}", file=sys.stderr)
    sys.exit(2)


class Trace:
    def __init__(self, path):
        self.path = path
        try:
            self._read(path)
        except (OSError, zipfile.BadZipFile, ValueError, KeyError) as e:
            fail(f"{path}: not a readable trace archive ({e})")
        if self.pred is None or self.max_prob is None:
            fail(f"{path}: needs pred.npy and max_prob.npy (an archive written by 'exit-studio trace export')")
        if self.pred.ndim != 2 or self.max_prob.shape != self.pred.shape:
            fail(f"{path}: pred and max_prob must both be [N, K]; found {self.pred.shape} and {self.max_prob.shape}")
        self.n, self.k = self.pred.shape
        if self.labels is not None and self.labels.shape != (self.n,):
            fail(f"{path}: labels must be [{self.n}]; found {self.labels.shape}")
        # float32 -> float64 is exact: every comparison below is the float32 comparison.
        self.max_prob = self.max_prob.astype(np.float64)
        # Running maximum over exits 1..k: a sample has exited by exit k iff it reaches the threshold.
        self.run_max = np.maximum.accumulate(self.max_prob, axis=1)

    def _read(self, path):
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())

            def arr(name):
                return np.load(io.BytesIO(z.read(name))) if name in names else None

            self.pred = arr("pred.npy")
            self.max_prob = arr("max_prob.npy")
            self.labels = arr("labels.npy")
            self.costs = arr("costs.npy")
            self.meta = json.loads(z.read("exits.json")) if "exits.json" in names else {}


def parse_costs(text, trace):
    if text is None:
        if trace.costs is None:
            fail(f"{trace.path}: no costs.npy; give --costs")
        c = trace.costs.astype(np.float64)
        source = trace.meta.get("costSource", "archive")
    elif text == "uniform":
        c = np.arange(1, trace.k + 1, dtype=np.float64)
        source = "uniform"
    else:
        try:
            c = np.array([float(x) for x in text.split(",")], dtype=np.float64)
        except ValueError:
            fail(f"--costs: {text!r} is not 'uniform' or a list of numbers c1,..,cK")
        source = "given"
        if len(c) != trace.k:
            fail(f"--costs: {len(c)} costs for {trace.k} exits in {trace.path}")
    if np.any(np.diff(c) < 0) or not c[0] > 0:
        fail(f"--costs: costs must be positive and non-decreasing; got {c.tolist()}")
    return c / c[-1], source


def exits_taken(trace, threshold):
    """Direct rule, sample by sample: the first exit k < K with mp_k >= threshold, else K (0-based)."""
    passed = trace.max_prob[:, :-1] >= threshold
    first = np.argmax(passed, axis=1)
    return np.where(passed.any(axis=1), first, trace.k - 1)


def sweep(trace, thresholds, per_exit):
    """Sum over samples of per_exit[n, exit(T)] for every T in thresholds, without
    a pass per threshold (exact for counts; sums of floats to rounding). With R_k the running max (R_0 = -inf, R_K = +inf),
    a sample exits at k iff R_{k-1} < T <= R_k, so the sum is
    sum_k sum_n q_k[n] ([R_k >= T] - [R_{k-1} >= T]); each term is a weighted count
    of values >= T, read off sorted values and suffix sums."""
    T = np.asarray(thresholds, dtype=np.float64)
    total = np.zeros(len(T))

    def weighted_ge(values, weights):
        order = np.argsort(values, kind="stable")
        v, w = values[order], weights[order]
        prefix = np.concatenate([[0.0], np.cumsum(w)])
        below = np.searchsorted(v, T, side="left")  # values < T
        return prefix[-1] - prefix[below]

    for k in range(trace.k):
        q = per_exit[:, k].astype(np.float64)
        upper = weighted_ge(trace.run_max[:, k], q) if k < trace.k - 1 else np.full(len(T), q.sum())
        lower = weighted_ge(trace.run_max[:, k - 1], q) if k > 0 else 0.0
        total += upper - lower
    return total


def exit_counts(trace, thresholds):
    """[len(thresholds), K] how many samples exit at each exit under each threshold:
    exact integers, so that costs and rates below are as exact as one division."""
    onehot = np.eye(trace.k)
    return np.stack([sweep(trace, thresholds, np.broadcast_to(onehot[k], (trace.n, trace.k)))
                     for k in range(trace.k)], axis=1).round().astype(np.int64)


# Two mean costs (or rates) closer than this are equal: the figure is then decided by
# the order of float operations, and the report says so rather than pick one silently.
TIE = 1e-9


def score(t, costs, thr):
    """What the threshold rule does on trace t: accuracy, agreement with the last exit, cost, exit shares."""
    j = exits_taken(t, thr)
    rows = np.arange(t.n)
    return {"accuracy": None if t.labels is None else float((t.pred[rows, j] == t.labels).mean()),
            "agreement_with_last": float((t.pred[rows, j] == t.pred[:, -1]).mean()),
            "mean_cost": float(np.bincount(j, minlength=t.k) @ costs / t.n),
            "exit_share": (np.bincount(j, minlength=t.k) / t.n).round(4).tolist()}


def best_fixed(trace, costs, lam):
    """The exit minimising error + lambda * cost (error against labels, else disagreement with the last exit)."""
    ref = trace.labels if trace.labels is not None else trace.pred[:, -1]
    obj = 1 - (trace.pred == ref[:, None]).mean(axis=0) + lam * costs
    return {"by": "error" if trace.labels is not None else "disagreement with the last exit",
            "objective": [round(float(x), 6) for x in obj], "exit": int(np.argmin(obj)) + 1}


def threshold_arms(trace, costs, lam):
    """CeeBERT-style arms: mean reward (mp_j - mp_1) - lambda (C_j - C_1) per grid threshold,
    the best arm (ties to the lowest threshold), and its lead over the runner-up with the
    standard error of the paired per-sample difference (is the best arm clearly best?)."""
    mp, rows = trace.max_prob, np.arange(trace.n)
    reward = (mp - mp[:, :1]) - lam * (np.broadcast_to(costs, mp.shape) - costs[0])
    per_sample = [reward[rows, exits_taken(trace, a)] for a in GRID]
    arms = [{"threshold": a, "mean_reward": float(r.mean()), **score(trace, costs, a)} for a, r in zip(GRID, per_sample)]
    # The sweep must agree with the direct rule on the grid (a check of this script itself).
    assert np.allclose(sweep(trace, GRID, reward) / trace.n, [a["mean_reward"] for a in arms], atol=1e-12)
    order = sorted(range(len(GRID)), key=lambda i: (-arms[i]["mean_reward"], i))
    best, second = order[0], order[1]
    diff = per_sample[best] - per_sample[second]
    return {"grid": GRID, "arms": arms, "best_threshold": GRID[best], "runner_up": GRID[second],
            "lead": float(diff.mean()), "lead_se": float(diff.std(ddof=1) / np.sqrt(trace.n))}


def cheapest_within(trace, costs, eps):
    """The cheapest single max-probability threshold, over every value the trace holds,
    whose disagreement with the last exit is at most eps (ties to the lower disagreement)."""
    cand = np.concatenate([np.unique(trace.run_max[:, :-1]), [np.inf]])  # inf: never exit early
    disagree = trace.pred != trace.pred[:, -1:]
    dis = sweep(trace, cand, disagree).round() / trace.n
    cost = exit_counts(trace, cand) @ costs / trace.n
    ok = np.flatnonzero(dis <= eps + TIE)
    i = ok[np.lexsort((dis[ok], cost[ok]))[0]]
    got = score(trace, costs, cand[i])
    assert abs(got["mean_cost"] - cost[i]) < TIE and abs(1 - got["agreement_with_last"] - dis[i]) < TIE
    return {"eps": eps, "threshold": float(cand[i]), "disagreement": float(dis[i]),
            "disagreement_at_eps_exactly": bool(abs(dis[i] - eps) < TIE), **got, "candidates": int(len(cand))}


def budget_threshold(trace, costs, budget):
    """The max-probability threshold with the largest mean cost not above the budget: the
    largest running-max value of the trace whose cost fits. None where nothing fits."""
    cand = np.unique(trace.run_max[:, :-1])
    cost = exit_counts(trace, cand) @ costs / trace.n
    fit = np.flatnonzero(cost <= budget + TIE)
    if not len(fit):
        return None
    i = fit[-1]
    return {"threshold": float(cand[i]), "cost_equals_budget": bool(abs(cost[i] - budget) < TIE)}


def figures(trace, costs, cost_source, lam, eps, budget, calib):
    agree = trace.pred == trace.pred[:, -1:]
    correct = None if trace.labels is None else trace.pred == trace.labels[:, None]
    out = {"trace": trace.path, "samples": trace.n, "exits": trace.k, "costs": costs.tolist(),
           "cost_source": cost_source, "lambda": lam, "evaluation": "in-sample (hindsight) on the whole trace"}
    out["per_exit"] = [{"exit": k + 1, "cost": round(float(costs[k]), 6),
                        "accuracy": None if correct is None else float(correct[:, k].mean()),
                        "agreement_with_last": float(agree[:, k].mean())} for k in range(trace.k)]
    out["best_fixed"] = best_fixed(trace, costs, lam)
    out["ceebert"] = threshold_arms(trace, costs, lam)
    out["risk"] = cheapest_within(trace, costs, eps)
    fitted = budget_threshold(trace, costs, budget)
    out["budget"] = {"budget": budget,
                     "in_sample": fitted and {**fitted, **score(trace, costs, fitted["threshold"])}}
    if calib is not None:
        fitted = budget_threshold(calib, costs, budget)
        out["budget"]["calibrated_on"] = calib.path
        out["budget"]["cross_trace"] = fitted and {**fitted, "evaluated_on": trace.path,
                                                   **score(trace, costs, fitted["threshold"])}
    return out


def report(f):
    lines = [f"{f['trace']}: {f['samples']} samples, {f['exits']} exits, costs "
             + "/".join(f"{c:.4g}" for c in f["costs"]) + f" ({f['cost_source']}), lambda {f['lambda']} ({f['evaluation']})"]
    lines.append("  exit  cost     accuracy  agreement")
    for e in f["per_exit"]:
        acc = "-" if e["accuracy"] is None else f"{e['accuracy']:.4f}"
        lines.append(f"  {e['exit']:>4}  {e['cost']:.4f}   {acc:>8}  {e['agreement_with_last']:.4f}")
    b = f["best_fixed"]
    lines.append(f"  best fixed exit by {b['by']} + lambda*cost: exit {b['exit']}  ("
                 + " ".join(f"{x:.4f}" for x in b["objective"]) + ")")
    ce = f["ceebert"]
    lines.append(f"  threshold arms, mean reward (mp_j - mp_1) - lambda (C_j - C_1); best {ce['best_threshold']:.2f}, "
                 f"ahead of {ce['runner_up']:.2f} by {ce['lead']:.5f} (paired s.e. {ce['lead_se']:.5f})")
    for a in f["ceebert"]["arms"]:
        acc = "-" if a["accuracy"] is None else f"{a['accuracy']:.4f}"
        lines.append(f"    {a['threshold']:.2f}  reward {a['mean_reward']:+.5f}  cost {a['mean_cost']:.4f}  acc {acc}")
    r = f["risk"]
    lines.append(f"  cheapest threshold with disagreement <= {r['eps']}: {r['threshold']:.6f}  cost {r['mean_cost']:.4f}  "
                 f"disagreement {r['disagreement']:.4f}  accuracy {r['accuracy']}  exit shares {r['exit_share']}"
                 + ("  (disagreement exactly eps)" if r["disagreement_at_eps_exactly"] else ""))
    bd = f["budget"]
    for key, label in (("in_sample", "in-sample"), ("cross_trace", f"calibrated on {bd.get('calibrated_on')}")):
        if bd.get(key):
            x = bd[key]
            lines.append(f"  maxprob@budget {bd['budget']} {label}: threshold {x['threshold']:.6f}  "
                         f"accuracy {x['accuracy']}  cost {x['mean_cost']:.5f}  exit shares {x['exit_share']}"
                         + ("  (where it was fitted, its cost equals the budget: a tie that float rounding decides)"
                            if x["cost_equals_budget"] else ""))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--costs", help="uniform, or cumulative costs c1,..,cK (normalized to the last); default: the archive's")
    ap.add_argument("--lambda", dest="lam", type=float, default=0.3)
    ap.add_argument("--eps", type=float, default=0.05)
    ap.add_argument("--budget", type=float, default=0.6)
    ap.add_argument("--calibrate-on", help="another trace of the same model: fit the budget threshold there")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    trace = Trace(args.trace)
    costs, source = parse_costs(args.costs, trace)
    calib = Trace(args.calibrate_on) if args.calibrate_on else None
    if calib is not None and calib.k != trace.k:
        fail(f"--calibrate-on: {calib.path} has {calib.k} exits, {trace.path} has {trace.k}")
    f = figures(trace, costs, source, args.lam, args.eps, args.budget, calib)
    print(json.dumps(f, indent=2) if args.json else report(f))


if __name__ == "__main__":
    sys.exit(main())
