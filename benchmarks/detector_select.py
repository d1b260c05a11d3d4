"""Detector selection on fitting data only: benchmarks/results/detector_select.json.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/detector_select.py
    .venv/bin/python benchmarks/detector_select.py --limit 60      # a smoke run

Which combination of the registered signals should the guard's detector use? One
generation pass over the built-in train, calibration and test splits (SmolLM2) captures what
every candidate signal needs: the default guard's logit signals and residual probes, the
attention signals (LM-Polygraph's attention score and its answer-only variant), the
H-Neurons (CETT activations), the known-entity direction and the first-answer-token probe.
(The semantic-entropy probe is left out: its training label needs K sampled answers per
train question, and the sampling signals themselves cost K extra passes per question.)

The choice is made on the **train split only**: every fitted signal's train values are
out-of-fold (``SignalSet.fit_transform``), the logistic combiner is cross-validated on them
(5 folds, repeated over 5 fold seeds) and a greedy forward search adds, from the default set,
the signal whose mean CV AUROC gain is largest, as long as it gains at least ``--min-gain``
on average and under every fold seed. The calibration split therefore
stays untouched for the certificate, as in the guard. For transparency every candidate is
also fitted as a full guard (probes + combiner on train, calibrator + thresholds on
calibration) and scored on the test split (AUROC, answered / risk / kept at α = 0.1, the
tightest certified α and what it keeps) with a paired bootstrap interval for its test AUROC
minus the default's, so the reader sees what the train-only choice gave up against a choice
made on the test split.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np

import harness

RESULTS = harness.RESULTS_DIR / "detector_select.json"
RUNS = harness.RUNS_DIR / "bench-detector-select"
POOL = ("attention_score", "attention_score_answer", "h_neurons", "entity_direction", "probe_answer_first", "perplexity")


REPEATS = 5


def cv_aurocs(X: np.ndarray, correct: np.ndarray, names) -> np.ndarray:
    """:func:`cv_auroc` over :data:`REPEATS` fold seeds (paired across candidates: same folds)."""
    return np.array([cv_auroc(X, correct, names, seed=s) for s in range(REPEATS)])


def cv_auroc(X: np.ndarray, correct: np.ndarray, names, folds: int = 5, seed: int = 0) -> float:
    """AUROC (hallucinated vs correct) of the logistic combiner, out of fold on the train rows."""
    from sklearn.model_selection import StratifiedKFold

    from nescio.evaluate.metrics import auroc
    from nescio.policy.detector import Detector

    score = np.full(len(correct), np.nan)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, correct):
        det = Detector(tuple(names)).fit(X[tr], correct[tr])
        score[te] = det.raw_score(X[te])
    return float(auroc(-score, ~correct))


def forward_search(X: np.ndarray, correct: np.ndarray, names: list[str], start: list[str], pool: list[str],
                   min_gain: float) -> tuple[list[str], list[dict]]:
    """Greedy forward selection from ``start`` over ``pool`` on repeated-CV AUROC: a signal is
    added when its mean gain is ≥ ``min_gain`` and it gains under every fold seed."""
    col = {n: i for i, n in enumerate(names)}
    chosen = list(start)
    best = cv_aurocs(X[:, [col[n] for n in chosen]], correct, chosen)
    steps = [{"signals": list(chosen), "cv_auroc": float(best.mean()), "added": None}]
    left = list(pool)
    while left:
        runs = {n: cv_aurocs(X[:, [col[m] for m in chosen + [n]]], correct, chosen + [n]) for n in left}
        steps[-1]["trials"] = {n: {"cv_auroc": float(r.mean()), "gain": float((r - best).mean()),
                                   "gain_min_over_seeds": float((r - best).min())} for n, r in runs.items()}
        n = max(runs, key=lambda k: runs[k].mean())
        gain = runs[n] - best
        if gain.mean() < min_gain or gain.min() <= 0:
            break
        chosen.append(n)
        left.remove(n)
        best = runs[n]
        steps.append({"signals": list(chosen), "cv_auroc": float(best.mean()), "added": n})
    return chosen, steps


def paired_bootstrap(y_bad: np.ndarray, a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> dict:
    """Test AUROC of risk scores ``a`` minus that of ``b`` on the same answers, with a 95% bootstrap interval."""
    from nescio.evaluate.metrics import auroc

    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        i = rng.integers(0, len(y_bad), len(y_bad))
        if y_bad[i].all() or not y_bad[i].any():
            continue
        diffs.append(auroc(a[i], y_bad[i]) - auroc(b[i], y_bad[i]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {"diff": float(auroc(a, y_bad) - auroc(b, y_bad)), "ci95": [float(lo), float(hi)]}


def guard_figures(guard, test, ot) -> dict:
    """Test-split figures of a fitted guard: AUROC of its score, and α = 0.1 / tightest-α tallies."""
    from nescio.evaluate.metrics import auroc
    from nescio.policy.scoring import tally
    from nescio.types import Outcome

    d = guard.decide(test)
    graded = ot != Outcome.ABSTAINED
    out = {"test_auroc": float(auroc(-d.scores[graded], ot[graded] == Outcome.HALLUCINATED)),
           "_risk": -d.scores[graded], "_bad": ot[graded] == Outcome.HALLUCINATED,
           "tightest_alpha": guard.tightest_alpha_, "certified_at_0.1": bool(np.isfinite(guard.threshold_))}
    out["at_0.1"] = tally(d.action_array(), ot).to_json()
    levels = [a for a, t in guard.certified_levels().items() if np.isfinite(t)]
    if levels:  # the tightest of the levels decide() accepts
        level = min(levels)
        dt = guard.decide(test, alpha=level)
        out["at_tightest_level"] = {"alpha": level} | tally(dt.action_array(), ot).to_json()
    return out


def main() -> None:
    from nescio.evaluate.metrics import auroc
    from nescio.evaluate.run import generate_stored
    from nescio.models import load_model
    from nescio.policy.answering import grade_outcomes
    from nescio.policy.guard import DEFAULT_SIGNALS, Guard
    from nescio.policy.signalset import SignalSet
    from nescio.types import Outcome

    ap = harness.parser(__doc__)
    ap.add_argument("--model", default=harness.DEFAULT_MODEL)
    ap.add_argument("--limit", type=int, default=None, help="questions per split (smoke runs)")
    ap.add_argument("--min-gain", type=float, default=0.003, help="smallest CV AUROC gain that adds a signal")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    t0 = time.perf_counter()

    lm = load_model(args.model)
    every = list(DEFAULT_SIGNALS) + list(POOL)
    cfg = Guard(signals=every).generation_config(model=lm)
    qs = harness.builtin_splits()
    if args.limit:  # a seeded random subset, so every split keeps both kinds of question
        qs = {s: random.Random(0).sample(q, min(args.limit, len(q))) for s, q in qs.items()}
    t = time.perf_counter()
    gens = {s: generate_stored(lm, q, cfg, RUNS / "generations" / args.model) for s, q in qs.items()}
    gen_s = time.perf_counter() - t
    oc = {s: np.asarray(grade_outcomes(g), dtype=object) for s, g in gens.items()}

    # train-only choice: out-of-fold signal values, cross-validated combiner
    t = time.perf_counter()
    ss = SignalSet(tuple(every), random_state=0)
    X = ss.fit_transform(gens["train"], oc["train"])
    keep = oc["train"] != Outcome.ABSTAINED
    correct = oc["train"][keep] == Outcome.CORRECT
    Xk = X[keep]
    single = {n: float(auroc(Xk[:, i], ~correct)) for i, n in enumerate(every)}
    chosen, steps = forward_search(Xk, correct, every, list(DEFAULT_SIGNALS), list(POOL), args.min_gain)
    col = {n: i for i, n in enumerate(every)}
    cv = {"default": float(cv_aurocs(Xk[:, [col[n] for n in DEFAULT_SIGNALS]], correct, DEFAULT_SIGNALS).mean()),
          "all": float(cv_aurocs(Xk, correct, every).mean())}
    select_s = time.perf_counter() - t

    candidates = {"default": list(DEFAULT_SIGNALS), "chosen": chosen, "all": every}
    candidates |= {f"default+{n}": list(DEFAULT_SIGNALS) + [n] for n in POOL}
    rows = {}
    for name, sig in candidates.items():
        if name != "chosen" and sig == chosen and "chosen" in rows:
            rows[name] = dict(rows["chosen"])
            continue
        g = Guard(signals=sig).fit(gens["train"], oc["train"], gens["calibration"], oc["calibration"], model_id=lm.model_id)
        row = {"signals": sig, "train_cv_auroc": float(cv_aurocs(Xk[:, [col[n] for n in sig]], correct, sig).mean())}
        rows[name] = row | guard_figures(g, gens["test"], oc["test"])
        print(f"{name}: train CV AUROC {row['train_cv_auroc']:.3f}, test AUROC {rows[name]['test_auroc']:.3f}, "
              f"tightest α {rows[name]['tightest_alpha']}")
    base = rows["default"]
    for name, row in rows.items():
        if name != "default":
            row["test_auroc_minus_default"] = paired_bootstrap(base["_bad"], row["_risk"], base["_risk"])
    for row in rows.values():
        row.pop("_risk", None), row.pop("_bad", None)
    best_on_test = max((n for n in rows if n != "chosen"), key=lambda n: rows[n]["test_auroc"])
    results = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/detector_select.py" + (f" --limit {args.limit}" if args.limit else ""),
        "model": args.model, "model_id": lm.model_id, "bench": "builtin",
        "n": {s: len(g) for s, g in gens.items()},
        "outcomes_train": {o.value: int((oc["train"] == o).sum()) for o in Outcome},
        "pool": list(POOL), "min_gain": args.min_gain,
        "chosen_on_train": chosen, "forward_search": steps, "train_cv_auroc": cv,
        "single_signal_train_auroc": single,
        "candidates": rows,
        "best_candidate_on_test_split": best_on_test,
        "note": "choice on the train split only (out-of-fold probe values, 5-fold CV of the combiner repeated over "
                f"{REPEATS} fold seeds); the test "
                "figures of every candidate are shown so the train-only choice can be compared with what a "
                "choice made on the test split would have given",
        "timing": {"generation_s": gen_s, "selection_s": select_s, "total_s": time.perf_counter() - t0},
        "machine": harness.machine(note="2 shared CPU cores"),
    }
    harness.write_results(args.results, results)
    print(f"chosen on train: {chosen}; best on test: {best_on_test} → {args.results}")


if __name__ == "__main__":
    main()
