"""The one answering pipeline: its steps against the guard they wrap (tiny model)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nescio.models.backend import HFBackend
from nescio.pipeline import AnswerPipeline, answer
from nescio.policy.precheck import PRECHECK_REASON
from nescio.types import Action, NescioError, Question, Retrieval

from test_guard import fitted  # noqa: F401  (the module-scoped fitted guard)

TEXTS = [f"Question {i}: what is item {i * 3 % 11} of list {i % 5}?" for i in range(9)]


def test_decisions_are_the_guards_on_the_pipelines_generations(fitted, tiny):  # noqa: F811
    guard = fitted[0]
    done = AnswerPipeline(tiny, guard).run(TEXTS)
    assert len(done.decisions) == len(TEXTS) == len(done.generations)
    kept = [g for g in done.generations if g is not None]
    again = guard.decide(kept)
    rows = [i for i, g in enumerate(done.generations) if g is not None]
    assert [done.decisions.actions[i] for i in rows] == list(again.actions)
    np.testing.assert_allclose(done.decisions.p_correct[rows], again.p_correct)
    assert all(done.prompt_tokens[i] > 0 for i in range(len(TEXTS)))


def test_the_precheck_runs_once_on_the_prefill_and_decide_reuses_it(fitted, tiny, monkeypatch):  # noqa: F811
    guard = copy.copy(fitted[0])
    guard.precheck_ = copy.copy(guard.precheck_)
    scores_seen = []
    real = type(guard.precheck_).check

    def counting(self, gens):
        scores_seen.append(len(gens))
        return real(self, gens)

    monkeypatch.setattr(type(guard.precheck_), "check", counting)
    scores = real(guard.precheck_, HFBackend(tiny).generate([Question(id=f"ask-{i}", text=t) for i, t in
                                                             enumerate(TEXTS)], guard.precheck_config_))
    guard.precheck_.threshold_ = float(np.median(scores.scores))  # fires on about half
    scores_seen.clear()
    done = AnswerPipeline(tiny, guard).run(TEXTS)
    assert scores_seen == [len(TEXTS)]  # once, on the prefills; not again inside decide
    fired = done.decisions.precheck_fired
    assert 0 < fired.sum() < len(TEXTS)
    for i, f in enumerate(fired):
        assert (done.generations[i] is None) == bool(f)
        if f:
            assert done.decisions.actions[i] is Action.ABSTAIN and done.decisions.reasons[i] == PRECHECK_REASON
    np.testing.assert_allclose(done.decisions.precheck_scores, scores.scores, atol=1e-6)


def test_one_batch_may_mix_risk_levels(fitted, tiny):  # noqa: F811
    guard = fitted[0]
    levels = sorted(a for a, t in guard.certified_levels().items())
    assert len(levels) >= 2
    a, b = levels[0], levels[-1]
    alphas = [a, b, a, b, a, b, a, b, a]
    mixed = AnswerPipeline(tiny, guard, precheck_first=False).run(TEXTS, alphas=alphas).decisions
    alone = {x: AnswerPipeline(tiny, guard, precheck_first=False).run(TEXTS, alpha=x).decisions for x in (a, b)}
    for i, x in enumerate(alphas):
        assert mixed.actions[i] is alone[x].actions[i] and mixed.texts[i] == alone[x].texts[i]
        assert mixed.question_ids[i] == f"ask-{i}"
    with pytest.raises(NescioError):
        AnswerPipeline(tiny, guard).run(TEXTS[:1], alpha=0.123)


def test_no_evidence_abstains_without_generating(fitted, tiny):  # noqa: F811
    guard = fitted[0]
    empty = Retrieval(passages=(), no_evidence="abstain")
    qs = [Question(id="a", text=TEXTS[0]), Question(id="b", text=TEXTS[1], retrieval=empty)]
    done = AnswerPipeline(tiny, guard, precheck_first=False).run(qs)
    assert done.generations[1] is None and done.decisions.actions[1] is Action.ABSTAIN
    assert "no retrieved passage" in done.decisions.reasons[1] and not done.decisions.precheck_fired[1]
    assert done.generations[0] is not None
    assert answer(tiny, guard, [TEXTS[0]]).question_ids == ("ask-0",)
