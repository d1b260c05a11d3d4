"""Which calibrator: chosen by cross-validation on the calibration split only; test figures beside.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/calibrators.py --eval runs/eval
    .venv/bin/python benchmarks/calibrators.py --synthetic 301        # no eval directory: synthetic scores

``--eval DIR`` reads what ``nescio eval --out DIR`` wrote: ``results.json`` (which model, bench
and train bench; split sizes), ``<model>/guard`` (the fitted guard), ``<model>/decisions.jsonl``
(the evaluated questions and their grades) and the generation store (``<model>/generations``,
or ``--generations`` when the eval used a shared one). The calibration split is not in the
results, so it is rebuilt: the stored questions that are not evaluated, split as ``nescio eval``
splits them (their split fields, else the hash of their id), graded again with
``nescio.grading``, scored with the saved guard's signals and combiner. The rebuild is checked:
the number of calibration questions must equal ``results.json``'s, and refitting the guard's
own calibration method on the rebuilt scores must give the guard's calibrator array for array
(``reproduces_guard_calibrator``). No model is loaded and nothing is generated.

What is compared (:data:`METHODS`): ``isotonic`` (the default), ``platt``, ``isotonic-smooth`` at
the default block size and at fixed ones, ``venn-abers`` (``nescio.policy.calibrate``). As the
guard does, the model's own abstentions are left out.

- cv: repeated stratified 2-fold on the calibration split (``--repeats``, both halves used as
  the held-out half once): Brier score, log-loss (p clipped to [1e-6, 1 - 1e-6]), ECE (10
  equal-width bins), reliability-diagram *holes* (empty bins between the first and the last
  non-empty one), *inverted* bins (a non-empty bin whose share correct is below the previous
  non-empty one's), the largest jump in share correct between adjacent non-empty bins, the
  largest rise of the map over a score window of 1% of the calibration scores' range, and the
  number of distinct outputs. Mean and standard deviation over the folds.
- test: each method fitted on the whole calibration split, the same figures on the evaluated
  questions, with the reliability bins.

Selection (on cv only): the lowest mean cv Brier score; methods within one standard error of
it (the fold spread / sqrt(folds)) are tied, and a tie goes to fewer mean holes, then to the
default. ``default_at_least_as_good``: whether the chosen method is ``isotonic``;
``at_least_as_good_as_default``: the other methods whose mean cv Brier is at most isotonic's
plus one standard error and whose mean cv holes are at most isotonic's. A new method chosen is
a *proposal* to change the default; nothing here changes it.
"""

from __future__ import annotations

import argparse
import itertools
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

import harness

RESULTS = harness.RESULTS_DIR / "calibrators.json"
METHODS = (
    ("isotonic", {}), ("platt", {}), ("isotonic-smooth", {}), ("isotonic-smooth", {"min_bin": 10}),
    ("isotonic-smooth", {"min_bin": 20}), ("isotonic-smooth", {"min_bin": 40}), ("venn-abers", {}),
)
DEFAULT = "isotonic"  # the baseline: the guard's default when this comparison was made (now DEFAULT_CALIBRATOR, its pick)
N_BINS = 10


def method_key(method: str, kwargs: dict) -> str:
    return method + "".join(f" {k}={v}" for k, v in sorted(kwargs.items()))


# ------------------------------------------------------------------ the figures
def figures(cal, scores: np.ndarray, correct: np.ndarray, score_range: tuple[float, float]) -> dict:
    """Every figure of one fitted calibrator on (scores, correct)."""
    from nescio.evaluate.metrics import reliability_bins

    p = cal.predict(scores)
    y = correct.astype(float)
    pc = np.clip(p, 1e-6, 1 - 1e-6)
    bins = reliability_bins(p, y, N_BINS)
    filled = [b for b in bins if b["count"]]
    first = next(i for i, b in enumerate(bins) if b["count"])
    last = max(i for i, b in enumerate(bins) if b["count"])
    acc = [b["accuracy"] for b in filled]
    lo, hi = score_range
    grid = np.linspace(lo, hi, 2001)
    window = max(1, round(0.01 * (len(grid) - 1)))
    g = cal.predict(grid)
    return {
        "brier": float(np.mean((p - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
        "ece": float(sum(b["count"] * abs(b["accuracy"] - b["mean_confidence"]) for b in filled) / len(p)),
        "holes": sum(1 for b in bins[first:last + 1] if not b["count"]),
        "inverted": sum(1 for a, b in itertools.pairwise(acc) if b < a),
        "max_bin_jump": float(max((abs(b - a) for a, b in itertools.pairwise(acc)), default=0.0)),
        "max_rise_1pct": float(np.max(g[window:] - g[:-window])) if len(g) > window else 0.0,
        "distinct_outputs": len(np.unique(np.round(p, 12))),
    }


def _stratified_halves(correct: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask picking half of each class (at random)."""
    mask = np.zeros(len(correct), dtype=bool)
    for cls in (False, True):
        idx = rng.permutation(np.flatnonzero(correct == cls))
        mask[idx[: len(idx) // 2]] = True
    return mask


def _summary(rows: list[dict]) -> dict:
    return {k: {"mean": float(np.mean([r[k] for r in rows])), "sd": float(np.std([r[k] for r in rows], ddof=1))
                if len(rows) > 1 else 0.0} for k in rows[0]}


def compare(cal_scores, cal_correct, test_scores=None, test_correct=None, *, repeats: int = 25, seed: int = 0,
            methods=METHODS) -> dict:
    """Cross-validated figures on the calibration split, test figures beside, and the choice."""
    from nescio.policy.calibrate import Calibrator, default_min_bin

    cs, cy = np.asarray(cal_scores, dtype=float), np.asarray(cal_correct, dtype=bool)
    rng_range = (float(cs.min()), float(cs.max()))
    out: dict = {"n_calibration": len(cs), "calibration_share_correct": float(cy.mean()),
                 "default_min_bin_full": default_min_bin(len(cs)),
                 "default_min_bin_half": default_min_bin(len(cs) // 2),
                 "repeats": repeats, "folds": 2 * repeats, "methods": {}}
    if test_scores is not None:
        out["n_test"] = len(test_scores)
        out["test_share_correct"] = float(np.mean(test_correct))
    masks = []
    rng = np.random.default_rng(seed)
    for _ in range(repeats):
        m = _stratified_halves(cy, rng)
        masks += [m, ~m]
    for method, kwargs in methods:
        key = method_key(method, kwargs)
        t = time.perf_counter()
        rows = []
        for m in masks:  # fit on one half, score on the other
            cal = Calibrator(method, **kwargs).fit(cs[m], cy[m])
            rows.append(figures(cal, cs[~m], cy[~m], rng_range))
        entry = {"cv": _summary(rows), "cv_seconds": round(time.perf_counter() - t, 3)}
        if test_scores is not None:
            from nescio.evaluate.metrics import reliability_bins

            full = Calibrator(method, **kwargs).fit(cs, cy)
            ts, ty = np.asarray(test_scores, dtype=float), np.asarray(test_correct, dtype=bool)
            entry["test"] = figures(full, ts, ty, rng_range)
            entry["test_reliability"] = [{"lower": b["lower"], "count": b["count"],
                                          "accuracy": None if not b["count"] else round(b["accuracy"], 4),
                                          "mean_confidence": None if not b["count"] else round(b["mean_confidence"], 4)}
                                         for b in reliability_bins(full.predict(ts), ty, N_BINS)]
        out["methods"][key] = entry
    out["selection"] = choose(out["methods"], len(masks))
    return out


def choose(methods: dict, folds: int) -> dict:
    """Lowest mean cv Brier; within one standard error of it: fewer mean holes, then the default."""
    best = min(methods, key=lambda k: methods[k]["cv"]["brier"]["mean"])
    b = methods[best]["cv"]["brier"]
    se = b["sd"] / math.sqrt(folds)
    tied = [k for k in methods if methods[k]["cv"]["brier"]["mean"] <= b["mean"] + se]
    chosen = min(tied, key=lambda k: (round(methods[k]["cv"]["holes"]["mean"], 6), k != DEFAULT,
                                      methods[k]["cv"]["brier"]["mean"]))
    d = methods.get(DEFAULT, {}).get("cv")
    as_good = [k for k in methods if d is not None and k != DEFAULT
               and methods[k]["cv"]["brier"]["mean"] <= d["brier"]["mean"] + se
               and methods[k]["cv"]["holes"]["mean"] <= d["holes"]["mean"]]
    return {"criterion": "lowest mean cv Brier; within one standard error: fewer mean cv holes, then the default",
            "lowest_brier": best, "standard_error": se, "tied": tied, "chosen": chosen,
            "default_at_least_as_good": chosen == DEFAULT,
            "at_least_as_good_as_default": as_good,
            "proposal": None if chosen == DEFAULT else f"make {chosen!r} the default calibrator (the lead decides)"}


# ------------------------------------------------------------------ reading an eval directory
def load_eval_scores(eval_dir: str | Path, *, model: str | None = None, generations: str | Path | None = None,
                     grade=None) -> dict:
    """Raw detector scores and correctness of the calibration and evaluated questions of one
    model of a ``nescio eval`` output directory (abstentions left out), with the checks."""
    from nescio.evaluate.result import EvalResult, read_decisions
    from nescio.evaluate.run import BENCH_SHARES, TRAIN_BENCH_SHARES, _run_dir_name, _split
    from nescio.models.io import INDEX_FILE, GenerationStore
    from nescio.policy.calibrate import Calibrator
    from nescio.policy.guard import Guard
    from nescio.types import NescioError, Outcome

    if grade is None:
        from nescio.policy.answering import grade_outcomes as grade
    eval_dir = Path(eval_dir)
    res = EvalResult.read(eval_dir / "results.json")
    runs = {r.model: r for r in res.runs}
    run = runs.get(model) if model else res
    if run is None:
        raise NescioError(f"{eval_dir}: no model {model!r}; it holds {', '.join(runs)}")
    model_dir = eval_dir / _run_dir_name(run.model, run.prompt or "default")
    guard = Guard.load(model_dir / "guard")
    records = read_decisions(model_dir / "decisions.jsonl")
    store_root = Path(generations) / model_dir.name if generations else model_dir / "generations"
    stores = sorted(p.parent for p in store_root.glob(f"*/{INDEX_FILE}"))
    if not stores:
        raise NescioError(f"no generation store under {store_root}; pass --generations (the eval's --generations-dir)")
    by_id = {}
    for d in stores:
        for g in GenerationStore(d).load():
            by_id.setdefault(g.question.id, g)
    test_ids = [r.id for r in records]
    missing = [i for i in test_ids if i not in by_id]
    if missing:
        raise NescioError(f"{len(missing)} evaluated questions (e.g. {missing[0]!r}) are not in the stores under "
                          f"{store_root}")
    rest = [g.question for g in by_id.values() if g.question.id not in set(test_ids)]
    own_splits = run.train_bench == f"{run.bench} (train/calibration splits)"
    shares = BENCH_SHARES if own_splits else TRAIN_BENCH_SHARES
    cal_q = _split(rest, shares)["calibration"]
    if len(cal_q) != run.n_calibration:
        raise NescioError(f"rebuilt {len(cal_q)} calibration questions, results.json says {run.n_calibration}; "
                          "was the eval run with --limit or another store?")
    cal = [by_id[q.id] for q in cal_q]
    test = [by_id[i] for i in test_ids]

    def scored(gens, outcomes):
        oc = np.array(outcomes, dtype=object)
        keep = oc != Outcome.ABSTAINED
        s = guard.detector_.raw_score(guard.signal_set_.transform(gens))
        return s[keep], (oc == Outcome.CORRECT)[keep]

    cal_s, cal_y = scored(cal, grade(cal))
    test_outcomes = [r.outcome for r in records]
    test_s, test_y = scored(test, test_outcomes)
    regraded = grade(test)
    mine = Calibrator(guard.calibrator).fit(cal_s, cal_y)
    theirs = guard.detector_.calibrator_
    ma, aa = mine.state()
    mb, ab = theirs.state()
    same = ma == mb and aa.keys() == ab.keys() and all(np.array_equal(aa[k], ab[k]) for k in aa)
    return {
        "source": {"eval": str(eval_dir), "model": run.model, "bench": run.bench, "train_bench": run.train_bench,
                   "guard_calibrator": guard.calibrator, "stores": [str(d) for d in stores]},
        "checks": {"n_calibration_rebuilt": len(cal), "n_calibration_results": run.n_calibration,
                   "reproduces_guard_calibrator": bool(same),
                   "test_regrading_agrees": int(sum(a == b for a, b in zip(regraded, test_outcomes))),
                   "n_test": len(test)},
        "calibration": (cal_s, cal_y), "test": (test_s, test_y),
    }


def synthetic_scores(n_cal: int, n_test: int = 700, seed: int = 0) -> dict:
    """Detector-like raw scores: skewed low, P(correct | s) a smooth S-curve around a 30% base rate."""
    rng = np.random.default_rng(seed)

    def draw(n):
        s = rng.beta(1.3, 2.2, size=n)
        return s, rng.uniform(size=n) < 1 / (1 + np.exp(-(6.0 * s - 2.6)))

    return {"source": {"synthetic": {"n_calibration": n_cal, "n_test": n_test, "seed": seed,
                                     "scores": "Beta(1.3, 2.2)", "p_correct": "sigmoid(6 s - 2.6)"}},
            "calibration": draw(n_cal), "test": draw(n_test)}


# ------------------------------------------------------------------ entry point
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--eval", help="A nescio eval output directory (results.json, <model>/guard, generations).")
    src.add_argument("--synthetic", type=int, metavar="N", help="Synthetic scores with N calibration examples.")
    ap.add_argument("--model", help="Which model of the eval (default: its first).")
    ap.add_argument("--generations", help="The eval's shared generation store (its --generations-dir), if any.")
    ap.add_argument("--repeats", type=int, default=25, help="Repeats of the 2-fold split (default 25).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS), help="Results file (merged by key).")
    ap.add_argument("--key", help="Key of this run in the results file (default: from the source).")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.eval:
        data = load_eval_scores(args.eval, model=args.model, generations=args.generations)
        key = args.key or f"eval:{Path(args.eval).name}:{data['source']['model']}"
    else:
        data = synthetic_scores(args.synthetic, seed=args.seed)
        key = args.key or f"synthetic:{args.synthetic}"
    (cs, cy), (ts, ty) = data["calibration"], data["test"]
    result = {"source": data["source"], **({"checks": data["checks"]} if "checks" in data else {}),
              **compare(cs, cy, ts, ty, repeats=args.repeats, seed=args.seed)}
    result["seconds"] = round(time.perf_counter() - t0, 2)
    result["python"] = platform.python_version()
    out = Path(args.out)
    saved = harness.read_results(out) or {"runs": {}}
    saved["runs"][key] = result
    harness.write_results(out, saved)
    _print(key, result)
    return result


def _print(key: str, r: dict) -> None:
    cols = ("brier", "log_loss", "ece", "holes", "inverted", "max_bin_jump", "max_rise_1pct")
    print(f"{key}: calibration n={r['n_calibration']}" + (f", test n={r['n_test']}" if "n_test" in r else ""))
    if "checks" in r:
        print(f"checks: {r['checks']}")
    print(f"{'method':<28}" + "".join(f"{c:>14}" for c in cols) + "   | test " + " ".join(c for c in cols[:5]))
    for k, e in r["methods"].items():
        cv = "".join(f"{e['cv'][c]['mean']:>14.4f}" for c in cols)
        test = " ".join(f"{e['test'][c]:.4f}" if isinstance(e["test"][c], float) else str(e["test"][c])
                        for c in cols[:5]) if "test" in e else ""
        print(f"{k:<28}{cv}   | {test}")
    s = r["selection"]
    print(f"chosen on cv: {s['chosen']} (lowest Brier {s['lowest_brier']}, tied {s['tied']}); "
          f"default at least as good: {s['default_at_least_as_good']}")


if __name__ == "__main__":
    sys.exit(main() and 0)
