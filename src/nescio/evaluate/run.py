"""``evaluate(...)``: the resumable eval pipeline behind ``nescio eval``.

generate (resumable, via the models area's store) → grade → fit the guard (probes and
combiner on train, calibrator + risk threshold + hedge floor + pre-check on calibration)
→ apply the guard to the evaluation set → ``results.json``, ``decisions.jsonl``,
``report.html`` under ``out``. Generations are kept under ``out/<model>/generations`` so
a rerun (after ``kill -9`` or with other policy settings) reuses them.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.data.subsets import hash01, limit_questions
from nescio.evaluate.result import (
    RESULTS_SCHEMA, CategoryTally, Cost, DecisionRecord, DetectorScore, EvalResult, FrontierPoint, GuardedTally, GuardInfo,
    OperatingPoint, PrecheckRates, RawTally, SignalScore, Tally, Targets, TightestLevel, Timing, write_decisions,
)
from nescio.models.embedded import DEFAULT_MODEL
from nescio.grading import grade_outcomes
from nescio.models.io import generate_stored  # re-exported: callers of nescio.evaluate.run keep working
from nescio.policy.calibrate import DEFAULT_CALIBRATOR
from nescio.policy.guard import DEFAULT_SIGNALS, Guard
from nescio.policy.risk import check_level
from nescio.policy.scoring import ABSTAIN, ANSWER, HEDGE, confidence_target_score, raw_tally, tally, tally_at_level
from nescio.types import NescioError, Outcome, Question

__all__ = ["RESULTS_SCHEMA", "evaluate", "generate_stored", "question_sets", "signal_metrics"]


# ------------------------------------------------------------------ question sets
BENCH_SHARES = {"train": 0.5, "calibration": 0.2, "test": 0.3}
"""Split shares of one benchmark's questions without split fields (no ``--train-bench``)."""
TRAIN_BENCH_SHARES = {"train": 0.6, "calibration": 0.4}
"""Split shares of a ``--train-bench`` (or ``--precheck-bench``) set's questions without split fields."""


def _text_key(q: Question) -> str:
    """What makes two questions the same for leaving evaluated questions out of fitting."""
    return q.text.strip().lower()


def _split(questions: list[Question], shares: dict[str, float]) -> dict[str, list[Question]]:
    """Use the questions' split fields; questions without one are split by a hash of their id."""
    out: dict[str, list[Question]] = {k: [] for k in shares}
    edges = np.cumsum(list(shares.values()))
    for q in questions:
        if q.split in out:
            out[q.split].append(q)
        elif q.split is None:
            out[list(shares)[int(np.searchsorted(edges, hash01("split:" + q.id), side="right").clip(0, len(edges) - 1))]].append(q)
    return out


def question_sets(
    bench: str, train_bench: str | None, limit: int | None = None, eval_limit: int | None = None
) -> tuple[list, list, list]:
    """(train, calibration, evaluation) questions for ``bench`` / ``train_bench``.

    ``limit`` caps every split; ``eval_limit`` only the evaluation set."""
    from nescio.data import load_questions

    bench_q = list(load_questions(bench))
    if not bench_q:
        raise NescioError(f"benchmark {bench!r} has no questions")
    if train_bench is None:
        parts = _split(bench_q, BENCH_SHARES)
        train, cal, test = parts["train"], parts["calibration"], parts["test"]
    else:
        parts = _split(list(load_questions(train_bench)), TRAIN_BENCH_SHARES)
        train, cal = parts["train"], parts["calibration"]
        # never evaluate on a question the guard was fitted on (e.g. --train-bench builtin --bench builtin)
        seen = {_text_key(q) for q in train + cal}
        test = [q for q in bench_q if _text_key(q) not in seen]
        if len(test) < len(bench_q):
            warnings.warn(f"{len(bench_q) - len(test)} questions of {bench!r} are also in the training/calibration "
                          f"questions of {train_bench!r}; they are left out of the evaluation", stacklevel=2)
    if not train or not cal or not test:
        raise NescioError(f"could not form train/calibration/evaluation sets from {bench!r} (train bench {train_bench!r})")
    return limit_questions(train, limit), limit_questions(cal, limit), limit_questions(limit_questions(test, limit), eval_limit)


def precheck_sets(specs: str, evaluation: list[Question], limit: int | None = None) -> tuple[list, list]:
    """(train, calibration) questions for fitting the pre-check alone: the comma-separated
    sets ``specs`` (their split fields, else a 60/40 hash split), without any question of
    ``evaluation`` (matched on the text)."""
    from nescio.data import load_questions

    seen = {_text_key(q) for q in evaluation}
    train, cal = [], []
    for spec in (s.strip() for s in specs.split(",") if s.strip()):
        parts = _split(list(load_questions(spec)), TRAIN_BENCH_SHARES)
        train += [q for q in parts["train"] if _text_key(q) not in seen]
        cal += [q for q in parts["calibration"] if _text_key(q) not in seen]
    if len(train) < 10 or len(cal) < 10:
        raise NescioError(f"--precheck-bench {specs!r} gives too few questions (train {len(train)}, "
                          f"calibration {len(cal)}); need ≥ 10 each")
    if len({q.answerable for q in train}) < 2:
        raise NescioError(f"--precheck-bench {specs!r}: its training questions need answerable and unanswerable ones")
    return limit_questions(train, limit), limit_questions(cal, limit)


# ------------------------------------------------------------------ generation
def _slug(spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(spec).name if ("/" in spec or spec.endswith(".gguf")) else spec)[:80]


# ------------------------------------------------------------------ metrics
def _tally_by(records: list[DecisionRecord], key: str) -> dict[str, CategoryTally]:
    groups: dict[str, list[DecisionRecord]] = {}
    for r in records:
        groups.setdefault(getattr(r, key), []).append(r)
    out = {}
    for k, rs in sorted(groups.items()):
        outcomes = np.array([r.outcome for r in rs], dtype=object)
        out[k] = CategoryTally(raw=RawTally(**raw_tally(outcomes).to_json()),
                               guarded=Tally(**tally(np.array([r.action for r in rs], dtype=object), outcomes).to_json()))
    return out


def signal_metrics(X: np.ndarray, names: Sequence[str], outcomes: np.ndarray, gens) -> dict[str, SignalScore]:
    from nescio.evaluate import metrics
    from nescio.signals import signal_info

    m = outcomes != Outcome.ABSTAINED
    bad = (outcomes[m] == Outcome.HALLUCINATED).astype(float)
    out = {}
    for j, name in enumerate(names):
        risk = X[m, j]
        out[name] = SignalScore(
            auroc=metrics.auroc(risk, bad),
            prr=metrics.prr(risk, 1.0 - bad),
            aurc=metrics.aurc(risk, bad),
            cost=signal_info(name).cost_per_question(gens) if len(gens) else 0.0,
        )
    return out


def _share(mask: np.ndarray, of: np.ndarray) -> float | None:
    """Share of ``of``'s rows where ``mask`` holds (None when ``of`` selects nothing)."""
    return mask[of].mean() if of.any() else None


def _evaluate_one(
    spec, train: list, cal: list, test: list, out: Path, guard_params: dict, *, bench: str, train_bench: str,
    progress: bool, console, generations_dir: Path | None = None, precheck: tuple[list, list] | None = None,
    precheck_bench: str | None = None,
) -> EvalResult:
    from nescio.evaluate import metrics
    from nescio.models import load_model

    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    lm = load_model(spec) if isinstance(spec, str) else spec
    spec = lm.spec
    timing["load_s"] = time.perf_counter() - t0
    model_dir = out / _run_dir_name(spec, lm.prompt)
    guard = Guard(**guard_params)
    config = guard.generation_config(model=lm)
    everything = list({q.id: q for q in [*train, *cal, *test]}.values())
    t = time.perf_counter()
    gen_dir = (Path(generations_dir) / model_dir.name) if generations_dir else model_dir / "generations"
    gens = generate_stored(lm, everything, config, gen_dir, progress=progress)
    timing["generation_s"] = time.perf_counter() - t
    timing["generation_s_per_question"] = timing["generation_s"] / max(len(everything), 1)
    by_id = {g.question.id: g for g in gens}
    pre_fit = {}
    if precheck is not None and guard.use_precheck:  # prefill-only passes: the pre-check needs no answers
        pre_gens = generate_stored(lm, list({q.id: q for q in [*precheck[0], *precheck[1]]}.values()),
                                   guard.precheck_fit_config(model=lm), gen_dir / f"precheck-{_slug(precheck_bench)}",
                                   progress=progress)
        pre_by_id = {g.question.id: g for g in pre_gens}
        pre_fit = {"precheck_train": [pre_by_id[q.id] for q in precheck[0]],
                   "precheck_calibration": [pre_by_id[q.id] for q in precheck[1]]}
        timing["generation_s"] = time.perf_counter() - t
    t = time.perf_counter()
    outcome_of = dict(zip(by_id, grade_outcomes(list(by_id.values()))))
    timing["grading_s"] = time.perf_counter() - t
    tr_g, ca_g, te_g = ([by_id[q.id] for q in qs] for qs in (train, cal, test))
    def arr(gs):
        out = np.empty(len(gs), dtype=object)
        out[:] = [outcome_of[g.question.id] for g in gs]
        return out

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        guard.fit(tr_g, arr(tr_g), ca_g, arr(ca_g), model_id=lm.model_id, model_spec=lm.spec, dtype=lm.dtype,
                  device=lm.device, **pre_fit)
    guard.save(model_dir / "guard")
    timing["fit_s"] = time.perf_counter() - t
    t = time.perf_counter()
    d = guard.decide(te_g)
    timing["decide_s"] = time.perf_counter() - t
    return assess(guard, te_g, arr(te_g), d, spec=spec, model_id=lm.model_id, n_train=len(tr_g), n_calibration=len(ca_g),
                  timing=timing, bench=bench, train_bench=train_bench, prompt=None if lm.prompt == "default" else lm.prompt,
                  precheck_bench=precheck_bench if pre_fit else None)


def assess(guard, te_g, outcomes, d, *, spec: str, model_id: str, n_train: int, n_calibration: int, timing: dict,
           bench: str, train_bench: str, prompt: str | None = None, precheck_bench: str | None = None) -> EvalResult:
    """The figures of one guard on graded test generations ``te_g`` (``outcomes``) and its
    decisions ``d`` on them: tallies, signal and detector scores, operating points, the
    certified frontier, per-category counts, decision rows. ``nescio eval`` and ``nescio score``
    both end here."""
    from nescio.evaluate import metrics

    actions = d.action_array()
    records = tuple(
        DecisionRecord(
            id=g.question.id, question=g.question.text, category=g.question.category, answerable=g.question.answerable,
            gold=" | ".join(g.question.answers[:3]), answer=g.text.strip(), outcome=outcomes[i], action=actions[i],
            p_correct=d.p_correct[i], score=d.scores[i], precheck_fired=d.precheck_fired[i],
            model_abstained=d.model_abstained[i], reason=d.reasons[i], shown=d.texts[i],
            msp_prob=np.exp(np.mean(g.token_logprobs)) if g.token_logprobs else None,
            signals={n: d.signals[i, j] for j, n in enumerate(d.signal_names)},
        )
        for i, g in enumerate(te_g)
    )
    m = outcomes != Outcome.ABSTAINED
    correct = (outcomes == Outcome.CORRECT).astype(float)
    fired = d.precheck_fired
    answerable = np.array([g.question.answerable for g in te_g])
    facts = np.array([g.question.category.startswith("fact/") or g.question.answerable for g in te_g])
    shown_answer = (actions != ABSTAIN) & (outcomes != Outcome.ABSTAINED)
    raw_correct_fact = facts & (outcomes == Outcome.CORRECT)

    def operating_point(acts) -> OperatingPoint:
        shown_ = (acts != ABSTAIN) & (outcomes != Outcome.ABSTAINED)
        return OperatingPoint(**tally(acts, outcomes).to_json(), unanswerable_abstained=_share(~shown_, ~answerable),
                              known_fact_correct_kept=((acts == ANSWER) & raw_correct_fact).sum() / max(raw_correct_fact.sum(), 1))

    # other operating points of the same fitted guard, for the trade-off table
    declined = fired | d.model_abstained
    points = {
        "precheck_only": operating_point(np.where(declined, ABSTAIN, ANSWER).astype(object)),
        "hedges_as_answers": operating_point(np.where(actions == HEDGE, ANSWER, actions).astype(object)),
    }
    # nothing certified at the requested α: what the same guard gives at the tightest level it did
    # certify (a diagnostic; choosing α after seeing this voids the guarantee at the requested α)
    at_tightest = None
    if not guard.fit_summary_.certified:
        levels = sorted(a for a, t in guard.certified_levels().items() if np.isfinite(t))
        if levels:
            at_tightest = TightestLevel(**tally(guard.decide(te_g, alpha=levels[0]).action_array(), outcomes).to_json(),
                                        alpha=levels[0], tightest_alpha=guard.tightest_alpha_)
    frontier = frontier_points(guard.policy_, d.scores, declined, outcomes)
    from nescio.train.report import training_for

    return EvalResult(
        model=spec, model_id=model_id, n=len(te_g), n_train=n_train, n_calibration=n_calibration,
        raw=RawTally(**raw_tally(outcomes).to_json()),
        guarded=GuardedTally(**tally(actions, outcomes).to_json(), alpha=guard.alpha, delta=guard.delta),
        guard=GuardInfo(summary=guard.fit_summary_, signals=guard.signal_names_, hedge_alpha=guard.hedge_alpha,
                        certified_levels={f"{k:g}": v for k, v in guard.certified_levels().items()}),
        signals=signal_metrics(d.signals, guard.signal_names_, outcomes, te_g),
        detector=DetectorScore(
            auroc=metrics.auroc(-d.scores[m], outcomes[m] == Outcome.HALLUCINATED),
            prr=metrics.prr(-d.scores[m], correct[m]),
            aurc=metrics.aurc(-d.scores[m], outcomes[m] == Outcome.HALLUCINATED),
            ece=metrics.ece(d.p_correct[m], correct[m]),
        ),
        confidence_target={
            str(t): confidence_target_score(np.where(declined, 0.0, d.p_correct), outcomes == Outcome.CORRECT, t)
            for t in (0.5, 0.75, 0.9)
        },
        precheck=PrecheckRates(
            fire_rate=fired.mean() if len(fired) else 0.0,
            fire_rate_unanswerable=_share(fired, ~answerable),
            wrongful_block_rate=_share(fired, answerable),
            blocked_correct_rate=(fired & (outcomes == Outcome.CORRECT)).sum() / max((outcomes == Outcome.CORRECT).sum(), 1),
        ),
        targets=Targets(
            unanswerable_abstained=_share(~shown_answer, ~answerable),
            unanswerable_not_answered_hedges_count_as_abstained=_share(
                (actions != ANSWER) | (outcomes == Outcome.ABSTAINED), ~answerable),
            known_fact_correct_kept=((actions == ANSWER) & raw_correct_fact).sum() / max(raw_correct_fact.sum(), 1),
            known_fact_correct_kept_incl_hedged=((actions != ABSTAIN) & raw_correct_fact).sum() / max(raw_correct_fact.sum(), 1),
        ),
        per_category=_tally_by(list(records), "category"),
        cost=Cost(forward_passes_per_question_vs_greedy=1.0 + sum(guard.signal_set_.costs(te_g).values()), sampled_share=0.0),
        timing=Timing(**timing),
        training=training_for(spec),
        prompt=prompt,
        operating_points=points,
        at_tightest_level=at_tightest,
        frontier=frontier,
        bench=bench,
        train_bench=train_bench,
        precheck_bench=precheck_bench,
        records=records,
    )


def _run_dir_name(spec: str, prompt: str) -> str:
    """The per-model folder under ``out`` (guard, decisions.jsonl, default generations)."""
    return _slug(spec) + ("" if prompt == "default" else f"-{prompt}")


def frontier_points(policy, scores, declined, outcomes) -> tuple[FrontierPoint, ...]:
    """The certified risk–coverage frontier on the evaluated questions: for each point of the fitted
    risk ``policy``'s :meth:`~nescio.policy.risk.RiskPolicy.frontier` (calibration side), what its
    level answers here (:func:`~nescio.policy.scoring.tally_at_level`: plain answers, the score
    clearing the level's threshold, not blocked by the pre-check nor declined by the model)."""
    out = []
    for p in policy.frontier():
        t = tally_at_level(policy, p.alpha, scores, declined, outcomes)
        out.append(FrontierPoint(**p.to_json(), answered=t.answered, realised_risk=t.realised_risk, kept=t.kept))
    return tuple(out)


def evaluate(
    model=DEFAULT_MODEL,
    bench: str = "builtin",
    out: str | Path = "runs/eval",
    *,
    train_bench: str | None = None,
    alpha: float = 0.1,
    delta: float = 0.1,
    signals: Sequence[str] | None = None,
    compare=None,
    limit: int | None = None,
    eval_limit: int | None = None,
    hedge_alpha: float | None = 0.3,
    precheck: bool = True,
    detector: str = "logistic",
    calibrator: str = DEFAULT_CALIBRATOR,
    max_new_tokens: int = 24,
    progress: bool = True,
    console=None,
    generations_dir: str | Path | None = None,
    rag=None,
    prompt: str = "default",
    precheck_bench: str | None = None,
) -> EvalResult:
    """Run the whole evaluation; returns the :class:`~nescio.evaluate.result.EvalResult` also
    written to ``out/results.json`` (its decision rows to ``out/<model>/decisions.jsonl``).

    ``rag`` (a :class:`nescio.rag.answer.RagSettings`) answers every question from the
    index's filtered passages (closed-book when none passes) and, unless ``signals`` are
    given, adds the cheap retrieval-aware signals to the guard's.

    ``--compare`` runs a second model on the same questions; its result is ``result.compare[MODEL]``
    (``results.json``: ``"compare": {MODEL: ...}``) and drawn side by side in the report. ``generations_dir``
    shares resumable generation stores between runs (default: inside ``out``). ``prompt``
    names the prompt both models get (``default`` or ``honest``, the prompting baseline).
    ``precheck_bench`` (comma-separated question sets) fits and certifies the knowability
    pre-check on those sets' train / calibration splits (prefill-only passes) instead of
    ``train_bench``'s; the detector still fits on ``train_bench``.
    ``calibrator`` is the guard's calibration method (:data:`nescio.policy.calibrate.CALIBRATION_METHODS`).
    """
    from nescio.evaluate.report import write_report

    alpha = check_level("alpha", alpha)
    delta = check_level("delta", delta)
    if limit is not None and limit < 10:
        raise NescioError(f"--limit must be at least 10 questions per split, got {limit}")
    guard_params = dict(alpha=alpha, delta=delta, signals=tuple(signals) if signals else None, hedge_alpha=hedge_alpha,
                        use_precheck=precheck, detector=detector, calibrator=calibrator, max_new_tokens=max_new_tokens)
    Guard(**guard_params)._check_params()  # fail fast on unknown signals
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train, cal, test = question_sets(bench, train_bench, limit, eval_limit)
    pre_sets = precheck_sets(precheck_bench, test, limit) if precheck_bench and precheck else None
    if rag is not None:
        from nescio.rag.signals import CHEAP_RAG_SIGNALS

        if rag.no_evidence != "closed_book":
            raise NescioError("eval --rag needs --no-evidence closed_book (every question is answered, the guard decides)")
        train, cal, test = (rag.attach(qs) for qs in (train, cal, test))
        if signals is None:
            guard_params["signals"] = tuple(DEFAULT_SIGNALS) + tuple(CHEAP_RAG_SIGNALS)
        generations_dir = Path(generations_dir or out / "generations") / f"rag-{rag.key()}"
    runs: list[EvalResult] = []
    if prompt != "default":
        from nescio.models import load_model

        model, compare = (load_model(m, prompt=prompt) if isinstance(m, str) else m for m in (model, compare))
    for spec in [model] + ([compare] if compare else []):
        if console is not None:
            console.print(f"[bold]{getattr(spec, 'spec', spec)}[/]: train {len(train)}, calibration {len(cal)}, evaluation {len(test)} questions")
        res = _evaluate_one(spec, train, cal, test, out, guard_params, bench=bench,
                            train_bench=train_bench or f"{bench} (train/calibration splits)", progress=progress,
                            console=console, generations_dir=generations_dir, precheck=pre_sets,
                            precheck_bench=precheck_bench)
        runs.append(res)
        write_decisions(res.records, out / _run_dir_name(res.model, res.prompt or "default") / "decisions.jsonl")
    first = runs[0]
    if compare:
        first = replace(first, compare={r.model: r for r in runs[1:]})
    first = replace(first, timing=replace(first.timing, total_s=round(time.perf_counter() - t0, 3)))
    t = time.perf_counter()
    write_report(first.runs, out / "report.html")
    first = replace(first, timing=replace(first.timing, report_s=round(time.perf_counter() - t, 3),
                                          total_s=round(time.perf_counter() - t0, 3)))
    first.write(out / "results.json")
    return first
