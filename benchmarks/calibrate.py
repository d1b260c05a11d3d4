"""Calibration on the user's own questions: benchmarks/results/calibrate.json.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/calibrate.py              # all parts
    .venv/bin/python benchmarks/calibrate.py --part sizes                             # the size table only

Parts (each merges its figures into the results file):
- sizes:  how many answered-correct calibration questions a certificate at α needs at δ, and
  how many labelled questions that means at a given accuracy (``nescio.policy.recalibration``'s
  ``min_correct_answers`` / ``questions_needed``: the risk policy's own exact binomial test).
- splits: guards fitted on the built-in train/calibration splits (SmolLM2, as ``nescio eval``
  fits them; with and without the pre-check), then recalibrated with
  ``nescio.policy.recalibration.recalibrate`` (what ``nescio calibrate`` runs) on part of a
  "user set" and tested on the rest, over 50 random calibration/test splits and two
  calibration shares. User sets: 300 TriviaQA questions (the issue's case) and the built-in
  test split (the guard's own kind of questions, where certification is possible). Per α
  (each certified in advance): how often the realised test risk exceeds α (target ≤ δ of the
  splits; a split where nothing is answered cannot exceed), the kept share, and the oracle
  (the best threshold chosen on the test part itself) beside it; the same at each split's
  tightest certifiable α (a diagnostic), for the guard without recalibration, recalibrated,
  recalibrated with its combiner refitted (``--refit-detector``), and recalibrated without
  the pre-check.
- cli:    ``nescio calibrate`` itself on the real model (subprocess), on the built-in test
  split at α = 0.1 and 0.3; its terminal output is recorded.

Generations (with the captures fitting needs) are shared with earlier runs' stores: copy e.g.
../seam-policy/runs/bench-guard/generations into runs/bench-calibrate/generations to skip the
built-in questions.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import time
from pathlib import Path

import numpy as np

import harness
from harness import ROOT, SHARED

RESULTS = harness.RESULTS_DIR / "calibrate.json"
RUNS = harness.RUNS_DIR / "bench-calibrate"
TRIVIAQA = SHARED / "triviaqa" / "triviaqa_1k.jsonl"
ALPHAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Levels checked (each certified in advance: the guard's levels plus 0.6–0.9)."""


def part_sizes(args) -> dict:
    from nescio.policy.recalibration import min_correct_answers, questions_needed

    rows = []
    for delta in (0.05, 0.1, 0.2):
        for alpha in (0.05, 0.1, 0.15, 0.2, 0.3):
            n_start, k_start, need = min_correct_answers(alpha, delta)
            rows.append({"alpha": alpha, "delta": delta, "n_start": n_start, "k_start": k_start, "min_correct": need,
                         "labelled_needed_at_accuracy": {str(a): questions_needed(alpha, delta, a)
                                                         for a in (0.06, 0.25, 0.5, 0.8)}})
    return {"questions_needed": {
        "rows": rows, "n_starts": 3,
        "meaning": "n_start: the fewest calibration questions a certified threshold answers; k_start: how many of "
                   "them may be hallucinated; min_correct: correct answers a certificate needs at least; "
                   "labelled_needed_at_accuracy[a]: ceil(min_correct / a), the fewest labelled questions when a share "
                   "a of them gets a correct answer the guard may keep (a lower bound: the detector must also rank "
                   "those answers first)"}}


def _triviaqa(n: int, seed: int = 0) -> list:
    from nescio.data import load_questions

    qs = load_questions(f"triviaqa:{TRIVIAQA}")
    keep = sorted(random.Random(seed).sample(range(len(qs)), n))
    return [qs[i] for i in keep]


def _oracle(scores, usable, outcomes, alpha: float) -> dict:
    """Best threshold chosen on these questions: most correct answers kept with realised risk ≤ α."""
    from nescio.evaluate.metrics import oracle_threshold
    from nescio.types import Outcome

    o = outcomes[usable]
    best = oracle_threshold(scores[usable], o == Outcome.CORRECT, o == Outcome.HALLUCINATED, alpha)
    raw_correct = int((outcomes == Outcome.CORRECT).sum())
    return {"kept": best["correct_n"] / raw_correct if raw_correct else None, "answered": best["answered_n"]}


def _at(guard, gens, outcomes, alpha: float | None, *, decisions=None) -> dict:
    from nescio.policy.scoring import tally

    if alpha is None or not np.isfinite(guard.policy_.thresholds(alpha)[0]):
        return {"certified": False, "answered": 0, "hallucinated": 0, "realised_risk": None, "exceeds": False,
                "kept": 0.0, "noise_exceed": 0.0}
    d = decisions if decisions is not None else guard.decide(gens, alpha=alpha)
    t = tally(d.action_array(), outcomes)
    answered, halluc = t.n_answered, t.n_hallucinated
    risk = halluc / answered if answered else None
    from scipy.stats import binom

    # how often a guard whose true risk were exactly α would exceed α on this many answered test questions:
    # the part of the exceed rate that test-set sampling alone explains
    noise = float(binom.sf(np.floor(alpha * answered + 1e-9), answered, alpha)) if answered else 0.0
    return {"certified": True, "answered": answered, "hallucinated": halluc, "realised_risk": risk,
            "exceeds": bool(risk is not None and risk > alpha), "kept": t.kept, "noise_exceed": noise}


def _aggregate(rows: list[dict], delta: float) -> dict:
    """Over splits: exceed rate (vacuous splits counted as not exceeding, and reported), kept, oracle."""
    n = len(rows)
    cert = [r for r in rows if r["certified"]]
    risks = [r["realised_risk"] for r in cert if r["realised_risk"] is not None]
    out = {
        "splits": n, "certified_share": len(cert) / n,
        "exceeds_share": sum(r["exceeds"] for r in rows) / n,
        "exceeds_share_target_le": delta, "met": sum(r["exceeds"] for r in rows) / n <= delta,
        "exceeds_share_if_true_risk_were_alpha": float(np.mean([r["noise_exceed"] for r in rows])),
        "nothing_answered_share": sum(r["answered"] == 0 for r in rows) / n,
        "kept_mean": float(np.mean([r["kept"] for r in rows])),
        "answered_mean": float(np.mean([r["answered"] for r in rows])),
        "realised_risk_mean_where_answered": float(np.mean(risks)) if risks else None,
    }
    if "oracle" in rows[0]:
        ok = [r["oracle"]["kept"] for r in rows if r["oracle"]["kept"] is not None]
        out["oracle_kept_mean"] = float(np.mean(ok)) if ok else None
        out["oracle_answered_mean"] = float(np.mean([r["oracle"]["answered"] for r in rows]))
    return out


def _fit_builtin(lm, gens_by_id, use_precheck: bool):
    """The guard `nescio eval --bench builtin` fits (built-in train + calibration), levels up to 0.9."""
    from nescio.data import builtin_questions
    from nescio.policy.answering import grade_outcomes
    from nescio.policy.guard import Guard
    from nescio.policy.risk import ALPHA_LEVELS

    levels = tuple(sorted(set(ALPHA_LEVELS) | set(ALPHAS)))
    guard = Guard(alpha=0.1, delta=0.1, use_precheck=use_precheck, levels=levels)
    tr, ca = ([gens_by_id[q.id] for q in builtin_questions(s)] for s in ("train", "calibration"))
    return guard.fit(tr, grade_outcomes(tr), ca, grade_outcomes(ca), model_id=lm.model_id, model_spec=lm.spec)


def part_splits(args) -> dict:
    from nescio.data import builtin_questions
    from nescio.evaluate.run import generate_stored
    from nescio.models import load_model
    from nescio.policy.guard import Guard

    lm = load_model(args.model)
    config = Guard().generation_config(model=lm)  # what fitting captures (a superset of what deciding reads)
    sets = {"builtin_test": builtin_questions("test")}
    if TRIVIAQA.is_file():
        sets = {"triviaqa": _triviaqa(args.questions)} | sets
    everything = builtin_questions("train") + builtin_questions("calibration")
    everything += [q for qs in sets.values() for q in qs]
    t = time.perf_counter()
    gens = generate_stored(lm, list({q.id: q for q in everything}.values()), config, RUNS / "generations" / lm.spec)
    gen_s = time.perf_counter() - t
    by_id = {g.question.id: g for g in gens}
    t = time.perf_counter()
    guards = {"with_precheck": _fit_builtin(lm, by_id, True), "without_precheck": _fit_builtin(lm, by_id, False)}
    fit_s = time.perf_counter() - t
    guards["with_precheck"].save(RUNS / "guard-builtin")
    out = {"model": lm.spec, "model_id": lm.model_id,
           "guard": {k: g.fit_summary_.to_json() | {"certified_levels": {f"{a:g}": (v if np.isfinite(v) else "inf")
                                                                        for a, v in g.certified_levels().items()}}
                     for k, g in guards.items()},
           "timing": {"generation_s": gen_s, "guard_fit_s": fit_s},
           "note": "builtin_test: the built-in test split as a 'user set' of the guard's own kind, where certification "
                   "is possible; triviaqa: real trivia, the issue's case"}
    for name, qs in sets.items():
        out[name] = _user_set(args, guards, [by_id[q.id] for q in qs], name)
    return {"splits": out}


def _user_set(args, guards, user, name) -> dict:
    from nescio.policy.answering import grade_outcomes, model_abstained
    from nescio.policy.recalibration import _add_level, min_correct_answers, questions_needed, recalibrate
    from nescio.types import NescioError, Outcome
    from tqdm.auto import tqdm

    delta = 0.1
    guard = guards["with_precheck"]
    oc = np.empty(len(user), dtype=object)
    oc[:] = grade_outcomes(user)
    fired = np.asarray(guard.precheck(user).fired)
    declined = np.array([model_abstained(g.text) for g in user])
    ok = (oc != Outcome.ABSTAINED) & ~declined
    usable = ~fired & ok
    raw = {"n": len(user), "correct": int((oc == Outcome.CORRECT).sum()),
           "hallucinated": int((oc == Outcome.HALLUCINATED).sum()), "abstained": int((oc == Outcome.ABSTAINED).sum()),
           "precheck_blocked": int(fired.sum()), "precheck_blocked_correct": int((fired & (oc == Outcome.CORRECT)).sum()),
           "usable": int(usable.sum()), "usable_correct": int((usable & (oc == Outcome.CORRECT)).sum())}
    # what `nescio calibrate` says on the whole set at α = 0.1
    try:
        recalibrate(guard, user, oc, alpha=0.1)
        message = None
    except NescioError as exc:
        message = str(exc)
    whole = recalibrate(guard, user, oc, alpha=0.1, require_certifiable=False).recalibration_.to_json()
    out = {"questions": len(user), "raw": raw, "raw_accuracy": raw["correct"] / len(user),
           "usable_correct_share": raw["usable_correct"] / len(user),
           "calibrate_whole_set": {"alpha": 0.1, "delta": delta, "cli_message": message, "summary": whole},
           "min_correct_alpha_0.1": min_correct_answers(0.1, delta)[2],
           "labelled_needed_alpha_0.1_at_this_accuracy": questions_needed(0.1, delta, max(raw["usable_correct"], 1) / len(user))}
    if name == "triviaqa":
        out["sample"] = f"random.Random(0).sample of {TRIVIAQA.name} ({args.questions} questions)"
    bases = {}
    for k, g in guards.items():
        b = copy.deepcopy(g)  # the built-in guard as is, with its tightest level certified too (for decide)
        _add_level(b, b.tightest_alpha_)
        bases[k] = b
    for share in args.cal_share:
        runs: dict[str, dict] = {}
        t = time.perf_counter()
        n_cal = int(round(share * len(user)))
        for seed in tqdm(range(args.splits), desc=f"{name}: splits (calibration share {share:g})"):
            perm = np.random.default_rng(1000 + seed).permutation(len(user))
            ci, ti = np.sort(perm[:n_cal]), np.sort(perm[n_cal:])
            cg, tg = [user[i] for i in ci], [user[i] for i in ti]
            variants = {"not_recalibrated": bases["with_precheck"]}
            for vname, kwargs in (("recalibrated", dict(guard=guard)),
                                  ("refit_detector", dict(guard=guard, refit_detector=True, random_state=seed)),
                                  ("recalibrated_no_precheck", dict(guard=guards["without_precheck"]))):
                try:
                    variants[vname] = recalibrate(generations=cg, outcomes=oc[ci], alpha=0.1, require_certifiable=False,
                                                  **kwargs)
                except NescioError as exc:  # e.g. a part without a correct answer
                    variants[vname] = str(exc)
            for vname, g in variants.items():
                if isinstance(g, str):
                    runs.setdefault(vname, {}).setdefault("failed", []).append({"seed": seed, "error": g})
                    continue
                scores = g.decide(tg).scores
                test_usable = (ok & ~(fired if g.precheck_ is not None else np.zeros(len(user), dtype=bool)))[ti]
                for a in ALPHAS + ("tightest",):
                    alpha = g.tightest_alpha_ if a == "tightest" else a
                    r = _at(g, tg, oc[ti], alpha)
                    r["oracle"] = _oracle(scores, test_usable, oc[ti], alpha) if alpha is not None else {"kept": None, "answered": 0}
                    r["alpha"] = alpha
                    runs.setdefault(vname, {}).setdefault(str(a), []).append(r)
        summary = {}
        for vname, by_a in runs.items():
            summary[vname] = {a: _aggregate(rows, delta) for a, rows in by_a.items() if a != "failed"}
            tight = [r["alpha"] for r in by_a.get("tightest", []) if r["alpha"] is not None]
            if tight:
                summary[vname]["tightest"] |= {
                    "alpha_median": float(np.median(tight)), "alpha_range": [float(min(tight)), float(max(tight))],
                    "exceeds_note": "compared with each split's own tightest α, chosen after seeing its calibration "
                                    "part: no guarantee applies; a diagnostic"}
            if "failed" in by_a:
                summary[vname]["failed_splits"] = by_a["failed"]
        out[f"cal_share_{share:g}"] = {"n_calibration": n_cal, "n_test": len(user) - n_cal, "summary": summary,
                                       "wall_s": time.perf_counter() - t}
    return out


def part_cli(args) -> dict:
    """`nescio calibrate` itself, end to end on the real model (the guard from part splits), on the
    built-in test split: at α = 0.1 (refused: too few correct answers) and at α = 0.3."""
    import sys

    guard_dir = RUNS / "guard-builtin"
    if not (guard_dir / "guard.json").is_file():
        return {"cli": {"skipped": "run --part splits first (it saves the built-in guard)"}}
    nescio = str(Path(sys.executable).parent / "nescio")
    runs = {}
    for alpha in ("0.1", "0.3"):
        out = RUNS / f"cli-alpha{alpha}"
        cmd = [nescio, "calibrate", "--guard", str(guard_dir), "--bench", "builtin:test", "--out", str(out),
               "--alpha", alpha, "--generations", str(RUNS / "cli-generations"), "--overwrite"]
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | {"COLUMNS": "200"})
        rec = out / "recalibration.json"
        runs[alpha] = {"command": " ".join(["nescio", *cmd[1:]]).replace(str(ROOT) + "/", ""),
                       "exit_code": r.returncode, "stdout": r.stdout.strip().splitlines(),
                       "stderr_last_line": (r.stderr.strip().splitlines() or [""])[-1],
                       "wall_s": time.perf_counter() - t,
                       "recalibration": json.loads(rec.read_text()) if r.returncode == 0 and rec.is_file() else None}
    return {"cli": runs}


def main() -> None:
    global RESULTS
    ap = harness.parser(__doc__)
    ap.add_argument("--part", action="append", choices=["sizes", "splits", "cli"])
    ap.add_argument("--model", default=harness.DEFAULT_MODEL)
    ap.add_argument("--questions", type=int, default=300, help="TriviaQA questions (the user's labelled set)")
    ap.add_argument("--splits", type=int, default=50)
    ap.add_argument("--cal-share", type=float, action="append", help="calibration share of each split (repeatable)")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    args.cal_share = args.cal_share or [0.5, 2 / 3]
    parts = args.part or ["sizes", "splits", "cli"]
    RESULTS = args.results
    results = harness.read_results(RESULTS)
    results["machine"] = harness.machine(note="2 shared CPU cores")
    commit = harness.git_commit() or ""
    results.pop("git_commit", None)
    for part in parts:
        t = time.perf_counter()
        results.update({"sizes": part_sizes, "splits": part_splits, "cli": part_cli}[part](args))
        results.setdefault("commands", {})[part] = (
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')} python benchmarks/calibrate.py --part {part}"
            + (f" --questions {args.questions} --splits {args.splits}"
               + "".join(f" --cal-share {s:g}" for s in args.cal_share) if part == "splits" else ""))
        results.setdefault("part_wall_s", {})[part] = time.perf_counter() - t
        results.setdefault("git_commit", {})[part] = commit
        harness.write_results(RESULTS, results)
        print(f"{part}: done in {time.perf_counter() - t:.0f} s → {RESULTS}")


if __name__ == "__main__":
    main()
