"""Guard mechanics on the tiny in-memory model: fit, decide, save/load, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from nescio.policy.guard import MAX_QUESTION_CHARS, Guard, check_question
from nescio.types import Decision, NescioError, Question

CHEAP = ("sequence_nll", "mean_token_nll", "max_token_entropy", "one_minus_first_token_margin")


@pytest.fixture(scope="module")
def tiny():
    from nescio.models import tiny_model

    return tiny_model(seed=0)


@pytest.fixture(scope="module")
def fitted(tiny):
    """A guard with probes + pre-check fitted on tiny-model generations and synthetic outcomes."""
    from nescio.models import generate

    qs = [
        Question(id=f"q{i}", text=f"Question {i}: what is item {i * 7 % 11} of list {i % 5}?", answers=("x",),
                 answerable=i % 4 != 0, category="fact/x" if i % 4 else "fabricated")
        for i in range(72)
    ]
    guard = Guard(alpha=0.35, delta=0.2, signals=CHEAP + ("probe_last_prompt",), precheck=True)
    gens = generate(tiny, qs, guard.generation_config(), progress=False)
    # outcomes correlated with a cheap signal so the detector has something to learn
    nll = np.array([-np.mean(g.token_logprobs) for g in gens])
    rng = np.random.default_rng(0)
    correct = (nll < np.median(nll)) ^ (rng.uniform(size=len(nll)) < 0.15)
    outcomes = np.where([q.answerable for q in qs] & correct, "correct", "hallucinated").astype(object)
    guard.fit_generations(tiny, gens[:36], outcomes[:36], gens[36:], outcomes[36:])
    return guard, gens


def test_decisions_are_consistent(fitted):
    guard, gens = fitted
    decisions = guard.decisions(gens)
    assert all(isinstance(d, Decision) for d in decisions)
    for d in decisions:
        assert 0.0 <= d.p_correct <= 1.0
        assert d.abstained == (d.answer is None)
        assert not (d.abstained and d.hedged)
        if d.hedged:
            assert d.text.startswith("I'm not sure, but it may be")
        assert set(d.signals) == set(guard.signal_names_)


def test_save_load_roundtrip_identical_decisions(fitted, tiny, tmp_path):
    guard, gens = fitted
    guard.save(tmp_path / "g")
    again = Guard.load(tmp_path / "g", tiny)
    assert again.decisions(gens) == guard.decisions(gens)
    assert again.generation_config_ == guard.generation_config_
    # saved as safetensors + JSON only
    files = {p.suffix for p in (tmp_path / "g").rglob("*") if p.is_file()}
    assert files <= {".json", ".safetensors"}


def test_loading_for_another_model_is_refused(fitted, tmp_path):
    from nescio.models import tiny_model

    guard, _ = fitted
    guard.save(tmp_path / "g")
    with pytest.raises(NescioError, match="fitted for model"):
        Guard.load(tmp_path / "g", tiny_model(seed=1))


def test_ask_answers_through_the_model(fitted, tiny):
    guard, _ = fitted
    guard.model = tiny
    d = guard.ask("What is the capital of France?")
    assert isinstance(d, Decision) and d.reason


def test_precheck_abstains_before_generating(fitted, tiny, monkeypatch):
    """A question the pre-check blocks gets only the one-token prefill pass, never a full answer."""
    import copy

    from nescio.policy import adapters

    guard = copy.copy(fitted[0])
    guard.model = tiny
    calls = []
    real_generate = adapters.generate

    def counting_generate(model, questions, config, **kw):
        calls.append((len(questions), config.max_new_tokens))
        return real_generate(model, questions, config, **kw)

    monkeypatch.setattr(adapters, "generate", counting_generate)
    guard.precheck_threshold_ = 0.0  # squashed scores are in (0, 1): fires on everything
    d = guard.ask("How old is the famous trapeze artist Nina Panickssery?")
    assert d.abstained and d.answer is None and "before generating" in d.reason
    assert calls == [(1, 1)]

    calls.clear()
    guard.precheck_threshold_ = 2.0  # finite but unreachable: never fires
    d = guard.ask("What is the capital of France?")
    assert "pre-check" not in d.reason
    assert calls == [(1, 1), (1, guard.generation_config_.max_new_tokens)]


@pytest.mark.parametrize("text, match", [("", "empty"), ("   ", "empty"), ("x" * 100_000, "characters long"), (None, "string")])
def test_bad_questions(fitted, text, match):
    guard, _ = fitted
    with pytest.raises(NescioError, match=match):
        guard.ask(text)
    assert len(check_question("a" * MAX_QUESTION_CHARS)) == MAX_QUESTION_CHARS


@pytest.mark.parametrize("params, match", [
    ({"alpha": 0.0}, "alpha"), ({"alpha": 1.2}, "alpha"), ({"delta": -1}, "delta"),
    ({"signals": ["no_such_signal"]}, "unknown signal"), ({"signals": []}, "empty"),
])
def test_bad_parameters(tiny, params, match):
    qs = [Question(id=f"q{i}", text=f"q {i}?", split="train" if i < 20 else "calibration") for i in range(40)]
    with pytest.raises(NescioError, match=match):
        Guard.fit(tiny, qs, progress=False, **params)


def test_questions_need_splits(tiny):
    with pytest.raises(NescioError, match="split"):
        Guard.fit(tiny, [Question(id="a", text="q?")], progress=False)


def test_unfitted_guard_and_bad_guard_dir(tmp_path):
    with pytest.raises(NescioError, match="not fitted"):
        Guard().decisions([])
    with pytest.raises(NescioError, match="guard.json missing"):
        Guard.load(tmp_path)


@pytest.fixture
def random_outcomes(monkeypatch):
    """Grade generations as correct/hallucinated at random (the tiny model's answers are noise)."""
    from nescio.policy import adapters

    rng = np.random.default_rng(1)
    monkeypatch.setattr(adapters, "grade_outcomes", lambda gens: np.array(
        ["correct" if rng.uniform() < 0.5 else "hallucinated" for _ in gens], dtype=object))


def test_fit_from_questions_with_splits(tiny, random_outcomes):
    qs = [Question(id=f"q{i}", text=f"What is item {i}?", answers=("x",), split="train" if i < 30 else "calibration")
          for i in range(60)]
    guard = Guard.fit(tiny, qs, alpha=0.4, delta=0.2, signals=CHEAP, precheck=False, hedge_alpha=None,
                      max_new_tokens=4, progress=False)
    assert guard.fit_summary_["n_train"] == 30 and guard.fit_summary_["n_calibration"] == 30
    assert guard.hedge_floor_ is None
    d = guard.ask("What is item 3?")
    assert not d.hedged


def test_fit_accepts_the_calibration_method(tiny, random_outcomes):
    """The calibration *method* is `calibrator=`; `calibration=` stays the question list."""
    qs = [Question(id=f"q{i}", text=f"What is item {i}?", answers=("x",), split="train" if i < 30 else "calibration")
          for i in range(48)]
    guard = Guard.fit(tiny, qs, alpha=0.4, delta=0.2, signals=CHEAP, precheck=False, hedge_alpha=None,
                      calibrator="platt", max_new_tokens=4, progress=False)
    assert guard.calibrator == "platt" and guard.detector_.calibration == "platt"
