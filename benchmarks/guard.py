"""Guard benchmark: the issue's targets on the embedded SmolLM2, written to benchmarks/results/guard.json.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/guard.py            # everything
    .venv/bin/python benchmarks/guard.py --part builtin --part cost             # a subset

Parts (each merges its figures into the results file, so they can run separately):
- builtin: `nescio eval` equivalent on the built-in benchmark (guard fitted on its train and
  calibration splits, evaluated on its test split), α = δ = 0.1; wall time = the demo's.
- shift:  TriviaQA 1k and NQ-open (../shared/data) evaluated with --train-bench builtin;
  skipped cleanly when the files are absent.
- table:  the same guard table for any model (``--model``): the built-in benchmark, the
  template-family-disjoint ``wide`` benchmark (``--table-sets``), and TriviaQA (guard fitted on
  builtin train/calibration); per set the raw accuracy, the guard at α = 0.1 and at the tightest
  certified level, and the oracle (the best threshold on the guard's own score chosen on the test
  split itself) beside each; merged into ``table[<model>]``. The pre-check transfer and the
  TriviaQA recalibration figures are quoted from their own results files.
- cost:   per-question wall time of the guard (greedy with captures + cheap signals + probes
  + detector + policy) relative to plain greedy generation on the same test questions.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

import harness
from harness import SHARED

RESULTS = harness.RESULTS_DIR / "guard.json"
RUNS = harness.RUNS_DIR / "bench-guard"
SHIFT_SETS = {
    "triviaqa": ("triviaqa", SHARED / "triviaqa" / "triviaqa_1k.jsonl"),
    "nq_open": ("nq_open", SHARED / "nq_open" / "NQ-open.dev.jsonl"),
}


def _summary(res) -> dict:
    """The parts of an EvalResult this benchmark keeps, as JSON."""
    keep = ("model", "bench", "train_bench", "n", "n_train", "n_calibration", "raw", "guarded", "guard", "detector",
            "precheck", "targets", "operating_points", "confidence_target", "per_category", "signals", "timing", "cost")
    j = res.to_json()
    return {k: j[k] for k in keep if k in j}


def part_builtin(args) -> dict:
    from nescio.evaluate import evaluate

    t = time.perf_counter()
    res = evaluate(args.model, "builtin", RUNS / "builtin", alpha=0.1, delta=0.1, limit=args.limit,
                   generations_dir=RUNS / "generations")
    wall = time.perf_counter() - t
    g, tg = res.guarded, res.targets
    demo_wall, demo_note = wall, "this run, generation included"
    if res.timing.generation_s < 0.5 * wall or res.timing.generation_s < 60:
        prev = args.previous.get("targets_builtin", {}).get("demo_equivalent_wall_s_le_900", {})
        demo_wall, demo_note = prev.get("value"), prev.get("note", "earlier run with generation (generations reused now)")
    sweep = {}
    for a in (0.05, 0.1, 0.15, 0.2, 0.3):  # the trade-off: same generations, same splits, other α
        r = res if a == 0.1 else evaluate(args.model, "builtin", RUNS / f"builtin-alpha{a}", alpha=a, delta=0.1,
                                          limit=args.limit, generations_dir=RUNS / "generations", progress=False)
        sweep[str(a)] = {k: getattr(r.guarded, k) for k in ("answered", "hedged", "realised_risk", "kept", "kept_incl_hedged")} | {
            "certified": r.guard.summary.certified, "threshold": r.guard.to_json()["threshold"],
            "unanswerable_abstained": r.targets.unanswerable_abstained}
    return {
        "builtin": _summary(res) | {"wall_s": wall},
        "alpha_sweep_builtin": sweep,
        "targets_builtin": {
            "realised_risk_le_alpha": {"value": g.realised_risk, "target": 0.1,
                                       "met": "vacuous: nothing answered" if g.realised_risk is None else g.realised_risk <= 0.1},
            "kept_ge_0.70": {"value": g.kept, "target": 0.7, "met": (g.kept or 0) >= 0.7},
            "unanswerable_abstained_ge_0.95": {"value": tg.unanswerable_abstained, "target": 0.95,
                                               "met": (tg.unanswerable_abstained or 0) >= 0.95},
            "known_fact_correct_kept_ge_0.90": {"value": tg.known_fact_correct_kept, "target": 0.9,
                                                "met": (tg.known_fact_correct_kept or 0) >= 0.9},
            "demo_equivalent_wall_s_le_900": {"value": demo_wall, "target": 900, "note": demo_note,
                                              "met": demo_wall is not None and demo_wall <= 900},
        },
    }


def part_shift(args) -> dict:
    from nescio.evaluate import evaluate

    out = {}
    for name, (fmt, path) in SHIFT_SETS.items():
        if not path.is_file():
            out[name] = {"skipped": f"{path} not found"}
            continue
        res = evaluate(args.model, f"{fmt}:{path}", RUNS / name, train_bench="builtin", alpha=0.1, delta=0.1,
                       eval_limit=args.shift_limit, generations_dir=RUNS / "generations")
        rr = res.guarded.realised_risk
        out[name] = _summary(res) | {"guarantee_held": "vacuous: nothing answered" if rr is None else rr <= 0.1}
    return {"shift": out}


def oracle(records, alpha: float) -> dict:
    """The best answer threshold on the guard's own score chosen on the evaluated questions
    themselves (what no calibration can beat with this detector and pre-check): the most
    correct answers kept with realised risk ≤ ``alpha``, among the questions the model did not
    abstain on and the pre-check let through (:func:`nescio.evaluate.metrics.oracle_threshold`).
    Also without the pre-check."""
    from nescio.evaluate.metrics import oracle_threshold

    outcome = np.array([str(r.outcome) for r in records])
    score = np.array([-np.inf if r.score is None else r.score for r in records], dtype=float)
    fired = np.array([r.precheck_fired or r.model_abstained for r in records], dtype=bool)
    n_correct = int((outcome == "correct").sum())
    out = {}
    for name, use_pre in (("with_precheck", True), ("without_precheck", False)):
        pool = (outcome != "abstained") & ~(fired if use_pre else np.zeros(len(records), dtype=bool))
        b = oracle_threshold(score[pool], outcome[pool] == "correct", outcome[pool] == "hallucinated", alpha)
        k = b["answered_n"]
        out[name] = {"alpha": alpha, "answered": k / len(records) if len(records) else None, **b,
                     "realised_risk": b["hallucinated_n"] / k if k else None,
                     "kept": b["correct_n"] / n_correct if n_correct else None}
    return out


def _table_row(res, records) -> dict:
    """One set's row of the table: raw, guarded at α, at the tightest level, oracle beside both."""
    g, tl = res.guarded, res.at_tightest_level
    row = {"n": res.n, "n_train": res.n_train, "n_calibration": res.n_calibration, "train_bench": res.train_bench,
           "raw_accuracy": res.raw.correct, "raw": res.raw.to_json(),
           "detector_auroc": res.detector.auroc if res.detector else None,
           "precheck": res.precheck.to_json() if res.precheck else None,
           "tightest_alpha": res.guard.summary.tightest_alpha, "certified": res.guard.summary.certified,
           "at_alpha": {k: getattr(g, k) for k in ("alpha", "answered", "realised_risk", "kept", "hedged", "kept_incl_hedged")},
           "oracle_at_alpha": oracle(records, g.alpha)}
    if tl is not None:
        row["at_tightest_level"] = {k: getattr(tl, k) for k in ("alpha", "answered", "realised_risk", "kept")}
        row["oracle_at_tightest_level"] = oracle(records, tl.alpha)
    rr = g.realised_risk
    row["targets"] = {
        "realised_risk_le_0.1": {"value": rr, "met": "vacuous: nothing answered" if rr is None else rr <= 0.1},
        "kept_ge_0.60": {"value": g.kept, "met": (g.kept or 0) >= 0.6,
                         "oracle": row["oracle_at_alpha"]["with_precheck"]["kept"]},
    }
    return row


def part_table(args) -> dict:
    from nescio.evaluate import evaluate
    from nescio.evaluate.result import read_decisions

    table = dict(args.previous.get("table", {}))
    rows = dict(table.get(args.model, {}))
    default = args.model == "smollm2-135m-instruct"
    for name in args.table_sets:
        out = RUNS / (name if default else f"{name}-{args.model}")
        if name in ("builtin", "wide"):
            limit = args.wide_limit if name == "wide" and args.wide_limit else args.limit
            res = evaluate(args.model, name, out, alpha=0.1, delta=0.1, limit=limit,
                           generations_dir=RUNS / "generations")
        else:
            fmt, path = SHIFT_SETS[name]
            if not path.is_file():
                rows[name] = {"skipped": f"{path} not found"}
                continue
            res = evaluate(args.model, f"{fmt}:{path}", out, train_bench="builtin", alpha=0.1, delta=0.1,
                           eval_limit=args.shift_limit, generations_dir=RUNS / "generations")
        recs = read_decisions(next(out.glob("*/decisions.jsonl")))
        rows[name] = _table_row(res, recs) | {"wall_s": res.timing.total_s, "model_id": res.model_id,
                                              "frontier": [f.to_json() for f in res.frontier or ()]}
    table[args.model] = rows
    return {"table": table, "table_quoted": _quoted()}


def table_markdown(table: dict) -> str:
    """The ``table`` part as the markdown table docs/guard.md shows (``--print-table``)."""
    def pct(x):
        return "–" if x is None else f"{100 * x:.1f}%"

    lines = ["| model | set (test n; train / calibration) | raw accuracy | detector AUROC | α = 0.1: answered, "
             "realised risk, kept | oracle at 0.1: kept (risk) | tightest α: answered, risk, kept |",
             "|---|---|---|---|---|---|---|"]
    for model, rows in table.items():
        for name, r in rows.items():
            if "skipped" in r:
                continue
            a, o = r["at_alpha"], r["oracle_at_alpha"]["with_precheck"]
            tl = r.get("at_tightest_level")
            at = ("certified: " if r["certified"] else "nothing certified: ") + \
                f"{pct(a['answered'])}, {pct(a['realised_risk'])}, {pct(a['kept'])}"
            tight = "–" if tl is None else f"{tl['alpha']:g}: {pct(tl['answered'])}, {pct(tl['realised_risk'])}, {pct(tl['kept'])}"
            fitted = "builtin's" if r["train_bench"] == "builtin" else "own"
            lines.append(f"| {model} | {name} ({r['n']}; {r['n_train']} / {r['n_calibration']}, {fitted}) | "
                         f"{pct(r['raw_accuracy'])} | {r['detector_auroc']:.3f} | {at} | {pct(o['kept'])} "
                         f"({pct(o['realised_risk'])}) | {tight} |")
    return "\n".join(lines)


def _quoted() -> dict:
    """The issue's pre-check and recalibration targets, copied from their own results files."""
    out = {}
    f = RESULTS.parent / "precheck_transfer.json"
    if f.is_file():
        d = json.loads(f.read_text())
        out["precheck_transfer"] = {"source": "benchmarks/results/precheck_transfer.json", "model": d.get("model"),
                                    "targets": {v: d["variants"][v]["targets"] for v in d["variants"]},
                                    "oracle_targets": {v: d["variants"][v]["oracle"]["targets"] for v in d["variants"]
                                                       if "oracle" in d["variants"][v]}}
    f = RESULTS.parent / "calibrate.json"
    if f.is_file():
        t = json.loads(f.read_text()).get("splits", {}).get("triviaqa", {})
        out["recalibration_triviaqa"] = {
            "source": "benchmarks/results/calibrate.json", "questions": t.get("questions"), "raw": t.get("raw"),
            "whole_set_at_0.1": (t.get("calibrate_whole_set") or {}).get("cli_message"),
            "over_50_splits_at_0.1": {share: {k: t[share]["summary"][k].get("0.1") for k in t[share]["summary"]}
                                      for share in t if share.startswith("cal_share_")}}
    return out


def part_cost(args) -> dict:
    """Guard vs plain greedy wall time per question on the same built-in test questions."""
    from nescio.data import builtin_questions
    from nescio.models import generate, load_model
    from nescio.policy.guard import Guard
    from nescio.types import GenerationConfig

    guard_dir = RUNS / "builtin" / "smollm2-135m-instruct" / "guard"
    if not (guard_dir / "guard.json").is_file():
        return {"cost": {"skipped": "run --part builtin first (needs its fitted guard)"}}
    lm = load_model(args.model)
    guard = Guard.load(guard_dir, model_id=lm.model_id)
    qs = builtin_questions("test")[: args.cost_questions]
    plain = GenerationConfig(max_new_tokens=guard.generation_config_.max_new_tokens,
                             batch_size=guard.generation_config_.batch_size)
    generate(lm, qs[:16], plain, progress=False)  # warm-up
    times = {"plain": [], "guard": []}
    for _ in range(args.repeats):  # alternate to spread machine noise over both
        t = time.perf_counter()
        generate(lm, qs, plain, progress=False)
        times["plain"].append(time.perf_counter() - t)
        t = time.perf_counter()
        gens = generate(lm, qs, guard.generation_config_, progress=False)
        guard.decide(gens)
        times["guard"].append(time.perf_counter() - t)
    plain_s, guard_s = float(np.median(times["plain"])), float(np.median(times["guard"]))
    ratio = guard_s / plain_s
    return {"cost": {
        "questions": len(qs), "repeats": args.repeats, "plain_greedy_s": plain_s, "guard_s": guard_s,
        "plain_s_per_question": plain_s / len(qs), "guard_s_per_question": guard_s / len(qs),
        "ratio": ratio, "target_ratio_le": 1.10, "met": ratio <= 1.10,
        "capture": [c.__dict__ for c in guard.generation_config_.capture],
        "all_times": times,
    }}


def part_cascade(args) -> dict:
    """Cheap guard first; sample (K answers) only the uncertain band of train/calibration/test."""
    from nescio.evaluate.run import generate_stored
    from nescio.models import load_model
    from nescio.policy.answering import grade_outcomes
    from nescio.policy.cascade import DEFAULT_SAMPLING_SIGNALS, Cascade
    from nescio.signals import compute_signals
    from nescio.policy.guard import Guard
    from nescio.types import GenerationConfig

    a = args.cascade_alpha
    guard_dir = RUNS / ("builtin" if a == 0.1 else f"builtin-alpha{a}") / "smollm2-135m-instruct" / "guard"
    if not (guard_dir / "guard.json").is_file():
        return {"cascade": {"skipped": "run --part builtin first (needs its fitted guard)"}}
    lm = load_model(args.model)
    guard = Guard.load(guard_dir, model_id=lm.model_id)
    qs = harness.builtin_splits()
    first_pass = Guard(signals=guard.signals, use_precheck=guard.use_precheck,
                       max_new_tokens=guard.max_new_tokens).generation_config(model=lm)  # what the builtin part generated
    greedy = {s: generate_stored(lm, q, first_pass, RUNS / "generations" / "smollm2-135m-instruct", progress=False)
              for s, q in qs.items()}
    parts = {}
    k = args.samples
    sample_cfg = GenerationConfig(max_new_tokens=guard.generation_config_.max_new_tokens, n_samples=k)
    cas = Cascade(band_floor=args.band_floor, alpha=a, delta=0.1)
    sampled_passes, greedy_tokens = [], []
    for split, gens in greedy.items():
        d = guard.decide(gens)
        outcomes = np.array(grade_outcomes(gens), dtype=object)
        band = cas.band(d.scores, d.p_correct, guard.threshold_)
        band_gens = [g for g, b in zip(gens, band) if b]
        x = np.full((len(gens), len(DEFAULT_SAMPLING_SIGNALS)), np.nan)
        if band_gens:
            sampled = generate_stored(lm, [g.question for g in band_gens], sample_cfg, RUNS / "generations-sampled",
                                      progress=True)
            x[band] = compute_signals(sampled, list(DEFAULT_SAMPLING_SIGNALS)).matrix(list(DEFAULT_SAMPLING_SIGNALS))
            sampled_passes += [sum(max(len(s.token_ids), 1) for s in g.samples) for g in sampled]
        greedy_tokens += [len(g.token_ids) + 1 for g in gens]
        parts[split] = (d.scores, d.p_correct, x, outcomes, d.precheck_fired | d.model_abstained, d, band)
    cas.fit(guard.threshold_, parts["train"][:5], parts["calibration"][:5])
    s, p, x, o, skip, d, band = parts["test"]
    from nescio.policy.scoring import ABSTAIN, ANSWER, tally

    cascade_t = tally(cas.actions(s, p, x, skip), o).to_json()
    cheap_t = tally(np.where(d.action_array() == ANSWER, ANSWER, ABSTAIN).astype(object), o).to_json()
    mean_sample_passes = float(np.mean(sampled_passes)) if sampled_passes else 0.0
    greedy_passes = float(np.mean(greedy_tokens))
    share = float(band.mean())
    return {f"cascade_alpha{a}": {
        "alpha": a, "k_samples": k, "band_floor": args.band_floor, "sampling_signals": list(DEFAULT_SAMPLING_SIGNALS),
        "share_sampled_test": share,
        "share_sampled_all_splits": float(np.mean(np.concatenate([parts[s][6] for s in parts]))),
        "cheap_only_guard_test": cheap_t, "cascade_guard_test": cascade_t,
        "threshold": cas.threshold_,
        "passes_per_question": {"greedy": greedy_passes, "always_sampling": greedy_passes + mean_sample_passes,
                                "cascade": greedy_passes + share * mean_sample_passes},
        "cost_saved_vs_always_sampling": 1 - (greedy_passes + share * mean_sample_passes) / (greedy_passes + mean_sample_passes),
        "note": "always-sampling quality was not measured (it needs K samples for every question); "
                "the comparison here is cascade vs the cheap guard alone",
    }}


def main() -> None:
    global RESULTS
    ap = harness.parser(__doc__)
    ap.add_argument("--part", action="append", choices=["builtin", "shift", "cost", "cascade", "table"])
    ap.add_argument("--table-sets", type=lambda v: v.split(","), default=["builtin", "wide", "triviaqa"],
                    help="comma-separated sets of the table part: builtin, wide, triviaqa, nq_open")
    ap.add_argument("--wide-limit", type=int, default=None,
                    help="questions per split of the wide set in the table part (a seeded subset; default: all)")
    ap.add_argument("--model", default=harness.DEFAULT_MODEL)
    ap.add_argument("--limit", type=int, default=None, help="questions per split for the built-in part")
    ap.add_argument("--shift-limit", type=int, default=400, help="questions evaluated per shifted set (the guard is fitted on all of builtin train/calibration)")
    ap.add_argument("--cost-questions", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--samples", type=int, default=5, help="K sampled answers in the cascade band")
    ap.add_argument("--band-floor", type=float, default=0.15)
    ap.add_argument("--cascade-alpha", type=float, default=0.1, help="α of the builtin guard the cascade extends")
    ap.add_argument("--results", type=Path, default=RESULTS, help="results file (parts merge into it)")
    ap.add_argument("--print-table", action="store_true", help="print the table part as markdown and exit")
    args = ap.parse_args()
    if args.print_table:
        print(table_markdown(json.loads(args.results.read_text())["table"]))
        return
    parts = args.part or ["builtin", "cost", "shift"]
    RESULTS = args.results
    results = harness.read_results(RESULTS)
    args.previous = json.loads(json.dumps(results))
    results["machine"] = harness.machine(torch_threads=_torch_threads(),
                                         note="2 shared CPU cores; timings inflated by other jobs")
    for part in parts:
        t = time.perf_counter()
        results.update({"builtin": part_builtin, "shift": part_shift, "cost": part_cost, "cascade": part_cascade,
                        "table": part_table}[part](args))
        results.setdefault("commands", {})[part if part != "table" else f"table:{args.model}"] = (
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')} python benchmarks/guard.py --part {part}"
            + (f" --model {args.model} --table-sets {','.join(args.table_sets)}" if part == "table" else "")
            + (f" --wide-limit {args.wide_limit}" if part == "table" and args.wide_limit else "")
            + (f" --limit {args.limit}" if args.limit and part == "builtin" else "")
            + (f" --shift-limit {args.shift_limit}" if part in ("shift", "table") else ""))
        results.setdefault("part_wall_s", {})[part] = time.perf_counter() - t
        harness.write_results(RESULTS, results)
        print(f"{part}: done in {time.perf_counter() - t:.0f} s → {RESULTS}")


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
