"""Refusal-aware fine-tuning, before and after: writes benchmarks/results/train_sft.json.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/train_sft.py                 # all stages
    python benchmarks/train_sft.py --stage data --stage train --stage sft      # one process
    python benchmarks/train_sft.py --stage raw --stage honest                  # another, in parallel
    python benchmarks/train_sft.py --stage report                              # tables from the caches

Stages (each cached under runs/train_sft/, each resumable after kill -9):
- data:   SmolLM2's greedy + K sampled answers on a hash-sampled subset of built-in train,
          graded into SFT targets (nescio.train.data.build_sft_data);
- train:  LoRA SFT (nescio.train.sft.train_sft), time and examples/s recorded;
- raw / sft: generations of the raw and the tuned model with the guard's captures, on the
          guard's fitting questions (built-in train + calibration subsets) and the evaluation
          sets (built-in test subset and the ../shared sets, limited samples);
- honest: the raw model with the honest prompt on the evaluation sets;
- report: guards fitted on the raw and on the tuned model (same questions, same α), the
          rows raw / raw + honest / raw + guard / SFT / SFT + refitted guard per set.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import harness

RESULTS = harness.RESULTS_DIR / "train_sft.json"
RUN = harness.RUNS_DIR / "train_sft"
SHARED_SETS = {  # name -> [(loader, path, share of the set's sample)]
    "selfaware": [("selfaware", "selfaware/SelfAware.json", 1.0)],
    "nec": [("nec", "nec/NEC_unanswerable.jsonl", 0.5), ("nec", "nec/NEC_answerable.jsonl", 0.5)],
    "falseqa": [("falseqa", "falseqa/test.csv", 1.0)],
    "forecastbench": [("forecastbench", "forecastbench/2026-08-16-llm.json", 1.0)],
    "triviaqa": [("triviaqa", "triviaqa/triviaqa_1k.jsonl", 1.0)],
    "nq_open": [("nq_open", "nq_open/NQ-open.dev.jsonl", 1.0)],
}
UNSEEN_UNANSWERABLE = ("nec", "selfaware", "falseqa", "forecastbench")


def _warn(msg: str) -> None:
    print(msg, file=sys.stderr)


def _limit(qs, n):
    from nescio.data.subsets import limit_questions as limit

    return limit(list(qs), n)


def question_sets(args) -> dict:
    """name -> questions: guard fitting subsets, the built-in test subset, the shared sets' samples."""
    from nescio.data import load_questions

    sets = {
        "sft_train": _limit(load_questions("builtin:train"), args.train_limit),
        "guard_train": _limit(load_questions("builtin:train"), args.guard_limit),
        "guard_calibration": _limit(load_questions("builtin:calibration"), args.guard_limit),
        "builtin_test": _limit(load_questions("builtin:test"), args.test_limit),
    }
    for name, parts in SHARED_SETS.items():
        qs = []
        for loader, rel, share in parts:
            pool = harness.shared_questions(loader, rel, warn=_warn)  # each set's loader is named as the set
            if pool is None:
                qs = None
                break
            qs += _limit(pool, int(round(args.set_limit * share)))
        if qs:
            sets[name] = qs
    if args.extra_train_per_set:
        sets["sft_train"] = sets["sft_train"] + extra_train_questions(sets, args.extra_train_per_set)
    return sets


def extra_train_questions(sets: dict, per_set: int) -> list:
    """Training portions of the unseen unanswerable sets: up to ``per_set`` questions of each,
    disjoint from (never in) that set's evaluation sample."""
    out = []
    for name in UNSEEN_UNANSWERABLE:
        held = {q.id for q in sets.get(name, [])} | {q.text for q in sets.get(name, [])}
        for loader, rel, share in SHARED_SETS[name]:
            pool = harness.shared_questions(loader, rel)
            if pool is not None:
                pool = [q for q in pool if q.id not in held and q.text not in held]
                out += _limit(pool, int(round(per_set * share)))
    return out


EVAL_SETS = ("builtin_test", *SHARED_SETS)


def _settings(args):
    from nescio.train.sft import SFTSettings

    return SFTSettings(epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size, lora_r=args.lora_r,
                       lora_alpha=2 * args.lora_r, seed=0, save_steps=10, logging_steps=5, max_steps=args.max_steps,
                       warmup_steps=5, known_repeat=args.known_repeat)


def _data_dir(args) -> Path:
    return RUN / args.model / ("data" if not args.extra_train_per_set else f"data+shared{args.extra_train_per_set}")


def _sft_dir(args) -> Path:
    return RUN / args.model / args.run_name


def _guard(alpha):
    from nescio.policy.guard import Guard

    return Guard(alpha=alpha, delta=0.1)


def _store(lm, questions, config, name, generate=True, label=None):
    """Generate what the store lacks (``generate``), or only read what it holds (the report stage,
    which may run while a generation stage still appends elsewhere)."""
    import hashlib

    from nescio.evaluate.run import _slug, generate_stored
    from nescio.models.io import GenerationStore, config_to_dict

    directory = RUN / "generations" / f"{label or _slug(lm.spec)}-{lm.prompt}-{name}"
    if generate:
        return generate_stored(lm, questions, config, directory)
    key = hashlib.sha256(json.dumps(config_to_dict(config), sort_keys=True, default=str).encode()).hexdigest()[:10]
    store = GenerationStore(directory / key)
    return store.load() if store.index_path.is_file() else []


def generations_for(lm, sets, *, captures: bool, parts=("builtin", "shared"), generate=True, label=None):
    """Generations of every set for ``lm`` (guard captures when ``captures``): cached, resumable."""
    from nescio.types import GenerationConfig

    config = _guard(0.1).generation_config(model=lm) if captures else GenerationConfig()
    order = (["guard_train", "guard_calibration"] if captures else []) + [s for s in EVAL_SETS if s in sets]
    groups = {  # store name -> questions; "builtin" = "guard" + "test" (one store, or two for parallel processes)
        "builtin": [q for s in order if s.startswith(("guard", "builtin")) for q in sets[s]],
        "guard": [q for s in order if s.startswith("guard") for q in sets[s]],
        "test": [q for s in order if s.startswith("builtin") for q in sets[s]],
        "shared": [q for s in order if not s.startswith(("guard", "builtin")) for q in sets[s]],
    }
    by_id = {}
    for part, qs in groups.items():
        if not generate:  # the report reads every store there is
            by_id.update({g.question.id: g for g in _store(lm, qs, config, part, False, label)})
        elif qs and part in parts:
            by_id.update({g.question.id: g for g in _store(lm, list({q.id: q for q in qs}.values()), config, part,
                                                           generate, label)})
    return {s: [by_id[q.id] for q in sets[s]] for s in order if all(q.id in by_id for q in sets[s])}


# ------------------------------------------------------------------ stages
def stage_data(args, sets, res):
    from nescio.data import load_questions
    from nescio.train.data import build_sft_data

    t = time.perf_counter()
    _, meta = build_sft_data(args.model, sets["sft_train"], _data_dir(args), n_samples=args.samples,
                             known_min_share=args.known_min_share)
    res["data"] = {k: meta[k] for k in ("n_questions", "n_examples", "counts", "n_skipped_no_gold", "params", "model_id")}
    n_extra = len(sets["sft_train"]) - len(_limit(load_questions("builtin:train"), args.train_limit))
    res["data"]["train_questions"] = (f"built-in train, hash-sampled subset of {len(sets['sft_train']) - n_extra}"
                                      + (f" + {n_extra} questions from the training portions of {', '.join(UNSEEN_UNANSWERABLE)}"
                                         " (disjoint from their evaluation samples)" if n_extra else ""))
    res["timing"]["data_s"] = round(time.perf_counter() - t, 1)


def stage_train(args, sets, res):
    from nescio.train.output import TrainOutput
    from nescio.train.sft import train_sft

    out = TrainOutput(_sft_dir(args))
    if out.is_finished():
        summary = out.read_summary()
    else:
        summary = train_sft(args.model, _data_dir(args), out.directory, settings=_settings(args))
    losses = [c["loss"] for c in summary.curve if "loss" in c]
    res["train"] = {
        "model_id": summary.model_id, "n_examples": summary.data["n_examples"], "counts": summary.data["counts"],
        "hyperparameters": summary.hyperparameters, "timing": summary.timing, "resumed_from_step": summary.resumed_from_step,
        "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
        "loss_curve": [{"step": c["step"], "loss": c["loss"]} for c in summary.curve if "loss" in c],
        "device": summary.device, "versions": summary.versions,
        "target_train_s_le_1200": {"value": summary.timing["train_s"], "met": summary.timing["train_s"] <= 1200,
                                   "note": "wall time of trainer.train() in this process; a resumed run counts only "
                                           "its own part (see resumed_from_step)"},
    }


def stage_generate(args, sets, res, which):
    from nescio.models import load_model

    t = time.perf_counter()
    if which == "raw":
        generations_for(load_model(args.model), sets, captures=True, parts=args.parts)
    elif which == "honest":
        generations_for(load_model(args.model, prompt="honest"), sets, captures=False, parts=args.parts)
    else:
        generations_for(load_model(str(_sft_dir(args) / "merged")), sets, captures=True, parts=args.parts,
                        label=args.run_name)
    res["timing"][f"generate_{which}_s"] = round(time.perf_counter() - t, 1)


# ------------------------------------------------------------------ report
def _fit_guard(lm, gens, alpha):
    """A guard fitted on the guard_train / guard_calibration generations (API of the policy area)."""
    g = _guard(alpha)
    tr, ca = gens["guard_train"], gens["guard_calibration"]
    o = lambda gs: np.array([_grade(x)[0] for x in gs], dtype=object)  # noqa: E731
    if hasattr(g, "fit_generations"):
        g.fit_generations(lm, tr, o(tr), ca, o(ca))
    else:
        g.fit(tr, o(tr), ca, o(ca), model_id=lm.model_id, model_spec=lm.spec)
    return g


def _actions(guard, gens) -> list[str]:
    if hasattr(guard, "decide_generations"):
        acts = guard.decide_generations(gens)["action"]
    else:
        acts = guard.decide(gens).action_array()
    return [str(getattr(a, "value", a)) for a in acts]


def _grade(g):
    from nescio.grading import grade

    gr = grade(g.question, g.text)
    return gr.outcome.value, gr.hedged


def finals(gens, actions=None) -> list[tuple[str, bool]]:
    """(final outcome, hedged) per question: what the user is finally shown."""
    out = []
    for i, g in enumerate(gens):
        outcome, hedged = _grade(g)
        act = actions[i] if actions is not None else "answer"
        if act == "abstain":
            out.append(("abstained", False))
        else:
            out.append((outcome, outcome != "abstained" and (hedged or act == "hedge")))
    return out


def row_metrics(final, raw_final, questions) -> dict:
    n = len(final)
    oc = np.array([f[0] for f in final], dtype=object)
    hed = np.array([f[1] for f in final])
    raw_ok = np.array([f[0] == "correct" for f in raw_final])
    ans = np.array([q.answerable for q in questions])
    gold = np.array([bool(q.answers) for q in questions])
    answered = oc != "abstained"
    c, h = int((oc == "correct").sum()), int((oc == "hallucinated").sum())
    plain = answered & ~hed
    rate = lambda m: None if m.size == 0 else round(float(m.mean()), 4)  # noqa: E731  (None only for an empty group)
    frac = lambda a, b: None if b == 0 else round(a / b, 4)  # noqa: E731
    return {
        "n": n,
        "correct": frac(c, n), "hallucinated": frac(h, n), "abstained": frac(int((~answered).sum()), n),
        "hedged": frac(int((answered & hed).sum()), n),
        "hallucination_rate_among_answered": frac(h, c + h),
        "hallucination_rate_among_plain_answers": frac(int((plain & (oc == "hallucinated")).sum()), int(plain.sum())),
        "kept": frac(int((raw_ok & (oc == "correct") & ~hed).sum()), int(raw_ok.sum())),
        "kept_incl_hedged": frac(int((raw_ok & (oc == "correct")).sum()), int(raw_ok.sum())),
        "over_refusal": frac(int((raw_ok & (oc == "abstained")).sum()), int(raw_ok.sum())),
        "n_raw_correct": int(raw_ok.sum()),
        "unanswerable_abstained": rate(~answered[~ans]) if (~ans).any() else None,
        "n_unanswerable": int((~ans).sum()),
        "answerable_abstained": rate(~answered[ans]) if ans.any() else None,
        "answerable_without_gold_abstained": rate(~answered[ans & ~gold]) if (ans & ~gold).any() else None,
    }


def stage_report(args, sets, res):
    from nescio.models import load_model

    t = time.perf_counter()
    raw_lm, sft_lm = load_model(args.model), load_model(str(_sft_dir(args) / "merged"))
    raw = generations_for(raw_lm, sets, captures=True, generate=False)
    sft = generations_for(sft_lm, sets, captures=True, generate=False, label=args.run_name)
    honest = generations_for(load_model(args.model, prompt="honest"), sets, captures=False, generate=False)
    missing = sorted({s for s in EVAL_SETS if s in sets and not all(s in g for g in (raw, sft, honest))})
    res["sets_missing"] = missing  # sets whose generations did not finish in time (reported as missing)
    guards = {}
    for alpha in args.alphas:
        for name, lm, gens in (("raw", raw_lm, raw), ("sft", sft_lm, sft)):
            if "guard_train" in gens and "guard_calibration" in gens:  # else: generations not finished
                guards[(name, alpha)] = _fit_guard(lm, gens, alpha)
    def summary(g):
        fs = getattr(g, "fit_summary_", None)
        fs = fs.to_json() if hasattr(fs, "to_json") else (fs or {})
        return {k: fs.get(k) for k in ("certified", "threshold", "n_train", "n_calibration", "tightest_alpha")}

    res["guards"] = {f"{k}@{a}": summary(g) for (k, a), g in guards.items()}
    res["sets"] = {}
    for s in EVAL_SETS:
        if s not in sets or s in missing:
            continue
        qs = sets[s]
        raw_final = finals(raw[s])
        rows = {"raw": raw_final, "raw+honest": finals(honest[s])}
        for alpha in args.alphas:
            if ("raw", alpha) in guards:
                rows[f"raw+guard@{alpha}"] = finals(raw[s], _actions(guards[("raw", alpha)], raw[s]))
        rows["sft"] = finals(sft[s])
        for alpha in args.alphas:
            if ("sft", alpha) in guards:
                rows[f"sft+guard@{alpha}"] = finals(sft[s], _actions(guards[("sft", alpha)], sft[s]))
        res["sets"][s] = {"n": len(qs), "n_unanswerable": sum(not q.answerable for q in qs),
                          "rows": {k: row_metrics(v, raw_final, qs) for k, v in rows.items()}}
        res["sets"][s]["examples"] = [
            {"question": q.text, "answerable": q.answerable, "raw": r.text, "honest": h.text, "sft": f.text}
            for q, r, h, f in list(zip(qs, raw[s], honest[s], sft[s]))[:6]]
    res["timing"]["report_s"] = round(time.perf_counter() - t, 1)
    res["targets"] = targets(res, args)


def targets(res, args) -> dict:
    sets = res["sets"]
    out = {}
    b = sets.get("builtin_test", {}).get("rows", {})
    if b:
        s = b["sft"]
        out["builtin_sft_unanswerable_abstained_ge_0.95"] = {"value": s["unanswerable_abstained"],
                                                              "met": (s["unanswerable_abstained"] or 0) >= 0.95}
        out["builtin_sft_kept_ge_0.90"] = {"value": s["kept"], "met": (s["kept"] or 0) >= 0.90,
                                           "incl_hedged": s["kept_incl_hedged"]}
        out["builtin_sft_hallucination_rate_among_answered_le_0.25"] = {
            "value": s["hallucination_rate_among_answered"], "raw": b["raw"]["hallucination_rate_among_answered"],
            "met": s["hallucination_rate_among_answered"] is not None and s["hallucination_rate_among_answered"] <= 0.25}
    unseen = {k: sets[k]["rows"]["sft"]["unanswerable_abstained"] for k in UNSEEN_UNANSWERABLE
              if k in sets and sets[k]["rows"]["sft"]["unanswerable_abstained"] is not None}
    if unseen:
        out["unseen_unanswerable_sft_abstained_ge_0.80"] = {"value": unseen, "met": all(v >= 0.8 for v in unseen.values())}
    kept = {k: (v["rows"]["sft"]["kept"], v["rows"]["sft"]["n_raw_correct"]) for k, v in sets.items()
            if k != "builtin_test" and v["rows"]["sft"]["kept"] is not None}
    if kept:
        tot = sum(n for _, n in kept.values())
        pooled = sum(k * n for k, n in kept.values()) / tot if tot else None
        out["unseen_answerable_sft_kept_ge_0.90"] = {"value": {k: v[0] for k, v in kept.items()},
                                                     "pooled": None if pooled is None else round(pooled, 4),
                                                     "n_raw_correct": tot, "met": pooled is not None and pooled >= 0.9}
    for alpha in args.alphas:
        if b and f"raw+guard@{alpha}" in b and f"sft+guard@{alpha}" in b:
            r, s = b[f"raw+guard@{alpha}"]["kept"], b[f"sft+guard@{alpha}"]["kept"]
            out[f"builtin_sft_guard_beats_raw_guard_on_kept@{alpha}"] = {
                "raw_guard": r, "sft_guard": s, "difference": None if r is None or s is None else round(s - r, 4),
                "met": r is not None and s is not None and s > r}
    return out


def main() -> None:
    ap = harness.parser(__doc__.split("\n")[0])
    ap.add_argument("--stage", action="append", choices=["data", "train", "raw", "honest", "sft", "report"])
    ap.add_argument("--model", default=harness.DEFAULT_MODEL)
    ap.add_argument("--train-limit", type=int, default=604, help="built-in train questions for the SFT data")
    ap.add_argument("--known-min-share", type=float, default=0.0,
                    help="share of correct samples for 'known' (0: greedy correct alone, R-Tuning's rule)")
    ap.add_argument("--known-repeat", type=int, default=2, help="each 'known' example this many times per epoch")
    ap.add_argument("--extra-train-per-set", type=int, default=0,
                    help="also train on N questions of each unseen unanswerable set's training portion")
    ap.add_argument("--run-name", default="sft", help="the SFT run's directory under runs/train_sft/MODEL/")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--guard-limit", type=int, default=300, help="questions per guard split (train, calibration)")
    ap.add_argument("--test-limit", type=int, default=100, help="built-in test questions")
    ap.add_argument("--set-limit", type=int, default=30, help="questions per ../shared set")
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-steps", type=int, default=-1, help="stop after N steps (-1: all epochs)")
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--parts", nargs="+", default=["builtin", "shared"], choices=["builtin", "guard", "test", "shared"],
                    help="generation stages: which question groups (to run them in parallel processes)")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args()
    stages = args.stage or ["data", "train", "raw", "honest", "sft", "report"]
    sets = question_sets(args)
    path = Path(args.results)
    res = harness.read_results(path)
    res.setdefault("timing", {})
    res["settings"] = {k: v for k, v in vars(args).items() if k not in ("stage", "results")} | {
        "set_sizes": {k: len(v) for k, v in sets.items()}}
    res["machine"] = harness.machine(torch_threads=os.environ.get("OMP_NUM_THREADS"),
                                     load_average_at_start=[round(x, 2) for x in os.getloadavg()],
                                     note="wall times depend on what else shares the cores; cpu_s in train.timing does not")
    res["command"] = harness.command(__file__, "OMP_NUM_THREADS=1 nice -n 5 python")
    res["commands"] = [c for c in res.get("commands", []) if c != res["command"]] + [res["command"]]  # every stage run
    fns = {"data": stage_data, "train": stage_train, "report": stage_report}
    for st in stages:
        print(f"== stage {st}", file=sys.stderr, flush=True)
        if st in fns:
            fns[st](args, sets, res)
        else:
            stage_generate(args, sets, res, st)
        res["status"] = "complete" if "sets" in res and "train" in res else "partial"
        if path.is_file():  # merge with what a parallel process wrote meanwhile
            on_disk = harness.read_results(path)
            res = on_disk | {k: v for k, v in res.items() if k != "timing"} | {"timing": on_disk.get("timing", {}) | res["timing"]}
        harness.write_results(path, res)


if __name__ == "__main__":
    main()
