"""Answering through a guard: ``answer(model, guard, texts) -> DecisionBatch``, plus the
helpers that connect the guard to the models and grading areas.

The guard holds no model; this is where a model and a guard meet:

1. the pre-check runs on the prompt alone (``guard.precheck_config_``: one prefill, no
   answer); questions it blocks are never generated for;
2. the rest are generated with ``guard.generation_config_`` and decided by ``guard.decide``.

The result keeps the input order; blocked questions have no answer (``answers[i] == ""``,
``p_correct[i]`` NaN).
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from nescio.policy.scoring import ABSTAIN_TEXT
from nescio.types import Action, DecisionBatch, Generation, NescioError, Outcome, Question

PRECHECK_REASON = "pre-check: the question looks unknowable to the model (last-prompt probe); abstained before generating"


def ensure_model(model):
    """A LoadedModel from a LoadedModel or a spec string."""
    if isinstance(model, str):
        from nescio.models import load_model

        return load_model(model)
    if not hasattr(model, "model_id"):
        raise NescioError(f"model must be a LoadedModel or a model spec string, got {type(model).__name__}")
    return model


def grade_outcomes(generations: Sequence[Generation]) -> list[Outcome]:
    """The graded :class:`Outcome` of each generation (``nescio.grading.grade``)."""
    from nescio.grading import grade

    return [grade(g.question, g.text).outcome for g in generations]


@functools.lru_cache(maxsize=65536)
def model_abstained(text: str) -> bool:
    """Did the model decline by itself? (the grader's abstention detector, no gold needed; cached per text)."""
    from nescio.grading import grade

    if not text.strip():
        return True
    q = Question(id="abstention-check", text="?", answers=(), answerable=False, category="user")
    return grade(q, text).outcome is Outcome.ABSTAINED


def answer(model, guard, texts: Sequence[str], *, alpha: float | None = None, progress: bool = False) -> DecisionBatch:
    """Answer each question through ``guard`` with ``model``, or abstain; input order kept.

    ``model``: a LoadedModel (or spec string) — it must be the one the guard was fitted for.
    ``texts``: questions (each checked by :func:`~nescio.policy.guard.check_question`).
    ``alpha``: as in :meth:`Guard.decide` (one of ``guard.certified_levels()``)."""
    from nescio.models import generate
    from nescio.policy.guard import check_question

    guard._check_fitted()
    guard.policy_.thresholds(alpha)  # fail on an uncertified α before any generation
    questions = [Question(id=f"ask-{i}", text=check_question(t)) for i, t in enumerate(texts)]
    lm = ensure_model(model)
    guard.check_model(str(lm.model_id))
    blocked = np.zeros(len(questions), dtype=bool)
    pre_scores = np.full(len(questions), np.nan)
    if guard.precheck_config_ is not None and questions:
        prefills = generate(lm, questions, guard.precheck_config_, progress=False)
        pc = guard.precheck(prefills)
        blocked, pre_scores = pc.fired, pc.scores
    todo = [q for q, b in zip(questions, blocked) if not b]
    gens = generate(lm, todo, guard.generation_config_, progress=progress) if todo else []
    decided = guard.decide(gens, alpha=alpha)
    return _merge(questions, blocked, pre_scores, decided)


def ask(model, guard, text: str, *, alpha: float | None = None):
    """One question: ``answer(model, guard, [text])[0]`` (a :class:`~nescio.types.Decision`)."""
    return answer(model, guard, [text], alpha=alpha)[0]


def _merge(questions: list[Question], blocked: np.ndarray, pre_scores: np.ndarray, d: DecisionBatch) -> DecisionBatch:
    n, k = len(questions), len(d.signal_names)
    pos = np.where(~blocked)[0]

    def spread(values, fill, dtype=object):
        out = np.empty(n, dtype=dtype) if dtype is object else np.full(n, fill, dtype=dtype)
        if dtype is object:
            out[:] = [fill] * n
        out[pos] = list(values) if dtype is object else values
        return out

    signals = np.full((n, k), np.nan)
    signals[pos] = d.signals
    pre = np.array(pre_scores, dtype=float)
    pre[pos] = d.precheck_scores
    return DecisionBatch(
        question_ids=tuple(q.id for q in questions),
        actions=tuple(spread(d.actions, Action.ABSTAIN)),
        texts=tuple(spread(d.texts, ABSTAIN_TEXT)),
        answers=tuple(spread(d.answers, "")),
        p_correct=spread(d.p_correct, np.nan, float),
        scores=spread(d.scores, np.nan, float),
        precheck_fired=spread(d.precheck_fired, True, bool),
        model_abstained=spread(d.model_abstained, False, bool),
        reasons=tuple(spread(d.reasons, PRECHECK_REASON)),
        signal_names=d.signal_names, signals=signals, alpha=d.alpha, delta=d.delta, certified=d.certified,
        precheck_scores=pre, precheck_signal=d.precheck_signal,
    )
