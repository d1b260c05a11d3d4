"""RAG benchmark: closed-book vs naive RAG vs nescio RAG vs nescio RAG + guard, on the built-in corpus.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/rag.py          # → benchmarks/results/rag.json

Questions: the built-in test split (all questions whose fact is in the built-in corpus or
left out of it as a gap, plus ``--unanswerable`` of the unanswerable ones); the guard is
fitted on the train and calibration splits (same recipe). Conditions, each on the clean
corpus and with ``--distractors`` (5) extra distractor passages per test question added:

- closed_book: the question alone;
- naive_rag: the top-k passages in the prompt, no filter;
- nescio_rag: top-k, then only the best evidence sentence the relevance filter keeps enters the
  prompt; none kept → abstain without generating;
- nescio_rag_supported: nescio RAG, abstaining also when the answer is not in the kept evidence
  (:func:`nescio.signals.retrieval.answer_in_evidence`; no extra generation);
- nescio_rag_guard: nescio RAG answers through a guard fitted on the cheap logit signals, the
  residual probes and the retrieval-aware signals (α = 0.1 and 0.2, δ = 0.1); an ablation
  without the retrieval signals is reported beside it.

Generations are stored under runs/bench-rag/ and reused on a rerun (resumable after kill -9);
``--generate-only STAGE`` fills one store and exits (to run the benchmark in short pieces).
A store is keyed by its stage name only: after a change to what enters the prompts, delete
the stores it affects (the nescio_rag and fit_* ones for a filter change).
Latency: per-question wall time at batch size 1 on ``--latency-n`` in-corpus questions,
closed-book generation vs retrieval + filter + generation.
"""

from __future__ import annotations

import hashlib
import json
import platform
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import harness

RESULTS = harness.RESULTS_DIR / "rag.json"
RUNS_DEFAULT = harness.RUNS_DIR / "bench-rag"
GROUPS = ("in_corpus", "gap", "unanswerable")
STAGES = ("closed_book", "fit_train", "fit_calibration", "nescio_rag_clean", "nescio_rag_distractors",
          "naive_rag_clean", "naive_rag_distractors")


def _rates(outcomes: np.ndarray, answered: np.ndarray) -> dict:
    """Shares of n: correct / hallucinated among answered, abstained; risk = hallucinated / answered."""
    n = len(outcomes)
    ans = answered & (outcomes != "abstained")
    c, h = int((ans & (outcomes == "correct")).sum()), int((ans & (outcomes == "hallucinated")).sum())
    d = max(n, 1)
    return {"n": n, "correct": c / d, "hallucinated": h / d, "abstained": 1 - (c + h) / d,
            "hallucination_rate_among_answered": h / (c + h) if c + h else None}


def _by_group(groups: np.ndarray, outcomes: np.ndarray, answered: np.ndarray) -> dict:
    out = {"all": _rates(outcomes, answered)}
    for g in GROUPS:
        m = groups == g
        out[g] = _rates(outcomes[m], answered[m])
    m = groups != "in_corpus"
    out["not_in_corpus"] = _rates(outcomes[m], answered[m])
    return out


def _questions(args):
    from nescio.data import builtin_questions
    from nescio.rag.builtin import corpus_group

    def pick(split: str, n_unans: int, n_known: int | None = None) -> list:
        qs = builtin_questions(split)
        known = [q for q in qs if corpus_group(q) != "unanswerable"]
        if n_known is not None:
            random.Random(f"rag-bench-known:{split}").shuffle(known)
            known = known[:n_known]
        unans = [q for q in qs if corpus_group(q) == "unanswerable"]
        random.Random(f"rag-bench:{split}").shuffle(unans)
        return known + unans[:n_unans]

    sets = pick("train", args.unanswerable_fit, args.train_known), pick("calibration", args.unanswerable_fit // 2), pick("test", args.unanswerable)
    if args.limit:
        sets = tuple(sorted(s, key=lambda q: hashlib.sha256(q.id.encode()).hexdigest())[: args.limit] for s in sets)
    return sets


def main() -> None:
    ap = harness.parser(__doc__.splitlines()[0])
    ap.add_argument("--model", default=harness.DEFAULT_MODEL)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--distractors", type=int, default=5)
    ap.add_argument("--unanswerable", type=int, default=50, help="unanswerable test questions (of 145)")
    ap.add_argument("--unanswerable-fit", type=int, default=60, help="unanswerable train questions (half for calibration)")
    ap.add_argument("--train-known", type=int, default=150, help="known-fact train questions (of 314)")
    ap.add_argument("--latency-n", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--limit", type=int, default=None, help="at most N questions per split (a quick dry run)")
    ap.add_argument("--runs", default=str(RUNS_DEFAULT), help="where generations are stored")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--table", action="store_true", help="print the markdown tables of --out and exit")
    ap.add_argument("--generate-only", choices=STAGES, default=None, help="fill this generation store and exit")
    args = ap.parse_args()
    if args.table:
        print(table(harness.read_results(args.out)))
        return

    from nescio.models import generate, generate_resumable, load_model
    from nescio.policy.answering import grade_outcomes
    from nescio.policy.guard import DEFAULT_SIGNALS, Guard
    from nescio.rag.builtin import builtin_corpus, corpus_group, extra_distractors
    from nescio.rag.filter import RelevanceFilter, fit_builtin_filter
    from nescio.rag.index import Index
    from nescio.rag.retrieve import attach_retrieval, split_no_evidence
    from nescio.rag.signals import RAG_SIGNALS, score_context_reliance
    from nescio.signals.retrieval import answer_in_evidence
    from nescio.types import Action, GenerationConfig

    def outcomes_of(gens):
        return np.array([o.value for o in grade_outcomes(gens)], dtype=object)

    t_start = time.perf_counter()
    RUNS = Path(args.runs)
    RUNS.mkdir(parents=True, exist_ok=True)
    train, cal, test = _questions(args)
    print(f"questions: train {len(train)}, calibration {len(cal)}, test {len(test)}", flush=True)

    def index_of(name, passages):  # built once, then loaded from the run directory (same passages only)
        d = RUNS / f"index-{name}"
        if (d / "index.json").is_file():
            index = Index.load(d)
            if [(p.id, p.title, p.text) for p in index.passages] == [(p.id, p.title, p.text) for p in passages]:
                return index
        index = Index.build(passages, progress=False)
        index.save(d)
        return index

    clean = index_of("clean", list(builtin_corpus()))
    noisy = index_of("distractors", list(builtin_corpus()) + extra_distractors(test, args.distractors))
    if (RUNS / "filter" / "relevance_filter.json").is_file():
        filt = RelevanceFilter.load(RUNS / "filter")
    else:
        filt = fit_builtin_filter()
        filt.save(RUNS / "filter")
    lm = load_model(args.model)
    plain = GenerationConfig(max_new_tokens=24, batch_size=args.batch_size)
    signals = list(DEFAULT_SIGNALS) + list(RAG_SIGNALS)
    guard_proto = Guard(signals=signals, use_precheck=False)
    captured = replace(guard_proto.generation_config(model=lm), batch_size=args.batch_size)
    timings = {}
    if args.generate_only:
        stage = args.generate_only
        if stage == "closed_book":
            generate_resumable(lm, test, plain, RUNS / stage)
        elif stage.startswith("fit_"):
            qs = train if stage == "fit_train" else cal
            todo, _ = split_no_evidence(attach_retrieval(clean, qs, k=args.k, relevance_filter=filt, no_evidence="abstain"))
            generate_resumable(lm, todo, captured, RUNS / stage)
        else:
            index = clean if stage.endswith("_clean") else noisy
            if stage.startswith("naive"):
                generate_resumable(lm, attach_retrieval(index, test, k=args.k, relevance_filter=None), plain, RUNS / stage)
            else:
                todo, _ = split_no_evidence(attach_retrieval(index, test, k=args.k, relevance_filter=filt,
                                                             no_evidence="abstain"))
                generate_resumable(lm, todo, captured, RUNS / stage)
        print(f"{stage}: done in {time.perf_counter() - t_start:.0f} s", flush=True)
        return

    def run(name, questions, config):
        t = time.perf_counter()
        gens = generate_resumable(lm, questions, config, RUNS / name)
        timings[name] = time.perf_counter() - t
        print(f"{name}: {len(gens)} generations, {timings[name]:.0f} s", flush=True)
        return gens

    def nescio(name, index, questions, config):
        rq = attach_retrieval(index, questions, k=args.k, relevance_filter=filt, no_evidence="abstain")
        todo, skip = split_no_evidence(rq)
        gens = run(name, todo, config) if todo else []
        gens = score_context_reliance(lm, gens)
        return gens, {q.id for q in skip}

    groups = np.array([corpus_group(q) for q in test], dtype=object)
    results: dict = {"conditions": {}}
    ids = [q.id for q in test]

    def record(cond, outcome_by_id, answered_by_id):
        o = np.array([outcome_by_id.get(i, "abstained") for i in ids], dtype=object)
        a = np.array([answered_by_id.get(i, False) for i in ids], dtype=bool)
        results["conditions"][cond] = _by_group(groups, o, a)

    # closed book (the same for both corpora)
    cb = run("closed_book", test, plain)
    cb_out = dict(zip(ids, outcomes_of(cb)))
    for corpus in ("clean", "distractors"):
        record(f"closed_book/{corpus}", cb_out, {i: True for i in ids})

    # the guard: fitted on nescio RAG answers to the train + calibration questions (clean corpus)
    fit_t, _ = nescio("fit_train", clean, train, captured)
    fit_c, _ = nescio("fit_calibration", clean, cal, captured)
    ot, oc = grade_outcomes(fit_t), grade_outcomes(fit_c)
    guards = {}
    for alpha in (0.1, 0.2):
        for suffix, names in (("", signals), ("_no_rag_signals", list(DEFAULT_SIGNALS))):
            guards[f"alpha{alpha}{suffix}"] = Guard(alpha=alpha, signals=names, use_precheck=False).fit(
                fit_t, ot, fit_c, oc, model_id=lm.model_id, model_spec=lm.spec)
    results["guards"] = {k: g.fit_summary_.to_json() for k, g in guards.items()}

    from nescio.evaluate.metrics import auroc
    from nescio.signals.registry import compute_signals

    def save():
        results["targets"] = _targets(results)
        results["setup"]["wall_s"] = time.perf_counter() - t_start
        results["latency_batched_wall_s"] = timings
        harness.write_results(args.out, results)

    results["setup"] = {"model": args.model, "k": args.k, "distractors_per_question": args.distractors,
                        "n_test": len(test), "n_train": len(train), "n_calibration": len(cal),
                        "test_groups": {g: int((groups == g).sum()) for g in GROUPS},
                        "generated_for_guard": {"train": len(fit_t), "calibration": len(fit_c)},
                        "corpus_passages": len(clean), "corpus_passages_with_distractors": len(noisy),
                        "filter": {"threshold": filt.threshold_, "calibration": filt.calibration_,
                                   "precision": filt.precision, "max_kept": filt.max_kept,
                                   "unit": "sentence", "fit_distractors_per_question": 5},
                        "guard_signals": signals, "platform": platform.platform(),
                        "complete": False, "command": "OMP_NUM_THREADS=1 nice -n 5 python benchmarks/rag.py"}
    save()

    for corpus, index in (("clean", clean), ("distractors", noisy)):
        ng, skipped = nescio(f"nescio_rag_{corpus}", index, test, captured)
        outs = dict(zip([g.question.id for g in ng], outcomes_of(ng)))
        record(f"nescio_rag/{corpus}", outs, {i: True for i in outs})
        results["conditions"][f"nescio_rag/{corpus}"]["abstained_without_generating"] = len(skipped)
        supported = {g.question.id: answer_in_evidence(g) for g in ng}
        record(f"nescio_rag_supported/{corpus}", outs, supported)
        for gname, guard in guards.items():
            d = guard.decide(ng)
            answered = {g.question.id: a != Action.ABSTAIN for g, a in zip(ng, d.actions)}
            record(f"nescio_rag_guard_{gname}/{corpus}", outs, answered)
            record(f"nescio_rag_supported_guard_{gname}/{corpus}", outs,
                   {i: a and supported[i] for i, a in answered.items()})
        # how well each retrieval signal separates hallucinated from correct nescio RAG answers
        o = np.array([outs[g.question.id] for g in ng], dtype=object)
        m = o != "abstained"
        sig = compute_signals(ng, list(RAG_SIGNALS))
        results.setdefault("signal_auroc_nescio_rag", {})[corpus] = {
            n: (float(auroc(np.asarray(sig.values[n])[m], (o[m] == "hallucinated"))) if m.sum() > 1 else None)
            for n in RAG_SIGNALS}
        save()

    # latency: batch size 1, closed-book generation vs retrieval + filter + generation
    one = GenerationConfig(max_new_tokens=24, batch_size=1)
    sample = [q for q in test if corpus_group(q) == "in_corpus"][: args.latency_n]
    generate(lm, sample[:2], one, progress=False)  # warm-up
    t = time.perf_counter()
    for q in sample:
        generate(lm, [q], one, progress=False)
    closed_s = (time.perf_counter() - t) / len(sample)
    t = time.perf_counter()
    retrieval_s = 0.0
    for q in sample:
        t0 = time.perf_counter()
        rq = attach_retrieval(clean, [q], k=args.k, relevance_filter=filt, no_evidence="abstain")
        retrieval_s += time.perf_counter() - t0
        todo, _ = split_no_evidence(rq)
        if todo:
            generate(lm, todo, one, progress=False)
    rag_s = (time.perf_counter() - t) / len(sample)
    results["latency"] = {"n": len(sample), "closed_book_s_per_question": closed_s, "nescio_rag_s_per_question": rag_s,
                          "retrieval_and_filter_s_per_question": retrieval_s / len(sample),
                          "overhead": rag_s / closed_s - 1}
    save()

    for corpus, index in (("clean", clean), ("distractors", noisy)):
        nv = run(f"naive_rag_{corpus}", attach_retrieval(index, test, k=args.k, relevance_filter=None), plain)
        record(f"naive_rag/{corpus}", dict(zip(ids, outcomes_of(nv))), {i: True for i in ids})
        save()
    results["setup"]["complete"] = True
    save()
    print(json.dumps(results["targets"], indent=1, default=float))


def table(results: dict) -> str:
    """Markdown tables of the results (what docs/rag.md quotes): ``python benchmarks/rag.py --table``."""
    c = results["conditions"]

    def pct(x):
        return "–" if x is None else f"{100 * x:.1f}%"

    names = ("closed_book", "naive_rag", "nescio_rag", "nescio_rag_guard_alpha0.1", "nescio_rag_guard_alpha0.2",
             "nescio_rag_guard_alpha0.2_no_rag_signals", "nescio_rag_supported", "nescio_rag_supported_guard_alpha0.1",
             "nescio_rag_supported_guard_alpha0.2")
    lines = []
    for corpus in ("clean", "distractors"):
        lines += [f"**{corpus} corpus**", "",
                  "| condition | in corpus: correct | in corpus: halluc. among answered | not in corpus: abstained "
                  "| all: halluc. among answered | all: hallucinated |", "|---|---|---|---|---|---|"]
        for n in names:
            r = c.get(f"{n}/{corpus}")
            if r is None:
                lines.append(f"| {n} | not run | | | | |")
                continue
            lines.append(f"| {n} | {pct(r['in_corpus']['correct'])} | {pct(r['in_corpus']['hallucination_rate_among_answered'])} "
                         f"| {pct(r['not_in_corpus']['abstained'])} | {pct(r['all']['hallucination_rate_among_answered'])} "
                         f"| {pct(r['all']['hallucinated'])} |")
        lines.append("")
    return "\n".join(lines)


def _targets(results: dict) -> dict:
    """The issue's targets from whatever conditions have run so far (None = not run yet)."""
    c = results["conditions"]

    def get(cond, group, key):
        return c.get(cond, {}).get(group, {}).get(key)

    guards = ("nescio_rag_guard_alpha0.1", "nescio_rag_guard_alpha0.2", "nescio_rag_supported",
              "nescio_rag_supported_guard_alpha0.1", "nescio_rag_supported_guard_alpha0.2")
    return {
        "in_corpus_hallucination_rate_among_answered_le_half_closed_book": {
            k: get(f"{k}/clean", "in_corpus", "hallucination_rate_among_answered")
            for k in ("closed_book", "naive_rag", "nescio_rag", *guards)},
        "in_corpus_correct_ge_2x_closed_book": {
            k: get(f"{k}/clean", "in_corpus", "correct") for k in ("closed_book", "naive_rag", "nescio_rag", *guards)},
        "not_in_corpus_abstained_ge_0.9_rag_guard": {
            k: get(f"{k}/clean", "not_in_corpus", "abstained") for k in ("naive_rag", "nescio_rag", *guards)},
        "distractors_raise_hallucination_rate_among_answered_le_5_points": {
            k: {corpus: get(f"{k}/{corpus}", "all", "hallucination_rate_among_answered")
                for corpus in ("clean", "distractors")} for k in ("naive_rag", "nescio_rag", *guards)},
        "distractors_raise_hallucinated_share_le_5_points": {
            k: {corpus: get(f"{k}/{corpus}", "all", "hallucinated") for corpus in ("clean", "distractors")}
            for k in ("naive_rag", "nescio_rag", *guards)},
        "latency_overhead_le_0.2": results.get("latency", {}).get("overhead"),
    }


if __name__ == "__main__":
    main()
