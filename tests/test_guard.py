"""Guard mechanics on the tiny in-memory model: fit, decide, save/load, pre-check, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from nescio.pipeline import answer, ask
from nescio.policy.precheck import PRECHECK_REASON
from nescio.policy.guard import MAX_QUESTION_CHARS, Guard, check_question
from nescio.policy.scoring import ABSTAIN_TEXT, HEDGE_TEMPLATE
from nescio.types import Action, Decision, DecisionBatch, NescioError, Outcome, Question

CHEAP = ("sequence_nll", "mean_token_nll", "max_token_entropy", "one_minus_first_token_margin")


@pytest.fixture(scope="module")
def tiny():
    from nescio.models import tiny_model

    return tiny_model(seed=0)


@pytest.fixture(scope="module")
def fitted(tiny):
    """A guard with a probe + pre-check fitted on tiny-model generations and synthetic outcomes
    that follow a cheap signal (so the detector has something to learn)."""
    from nescio.models import generate

    qs = [
        Question(id=f"q{i}", text=f"Question {i}: what is item {i * 7 % 11} of list {i % 5}?", answers=("x",),
                 answerable=i % 4 != 0, category="fact/x" if i % 4 else "fabricated")
        for i in range(72)
    ]
    guard = Guard(alpha=0.35, delta=0.2, signals=CHEAP + ("probe_last_prompt",), use_precheck=True)
    gens = generate(tiny, qs, guard.generation_config(model=tiny), progress=False)
    nll = np.array([-np.mean(g.token_logprobs) for g in gens])
    rng = np.random.default_rng(0)
    correct = (nll < np.median(nll)) ^ (rng.uniform(size=len(nll)) < 0.15)
    outcomes = [Outcome.CORRECT if q.answerable and c else Outcome.HALLUCINATED for q, c in zip(qs, correct)]
    guard.fit(gens[:36], outcomes[:36], gens[36:], outcomes[36:], model_id=tiny.model_id, model_spec=tiny.spec)
    return guard, gens, outcomes


def test_decide_follows_the_thresholds(fitted):
    """Every action is the one the certified threshold, the hedge floor, the pre-check and the
    model's own refusal imply; texts are rendered from the action."""
    guard, gens, _ = fitted
    d = guard.decide(gens)
    assert isinstance(d, DecisionBatch) and len(d) == len(gens)
    assert d.question_ids == tuple(g.question.id for g in gens)
    thr, floor = guard.threshold_, guard.hedge_floor_
    for i, g in enumerate(gens):
        if d.precheck_fired[i] or d.model_abstained[i]:
            expected = Action.ABSTAIN
        elif d.scores[i] >= thr:
            expected = Action.ANSWER
        elif floor is not None and d.scores[i] >= floor:
            expected = Action.HEDGE
        else:
            expected = Action.ABSTAIN
        assert d.actions[i] is expected
        answer_text = g.text.strip()
        if expected is Action.ANSWER:
            assert d.texts[i] == answer_text
        elif expected is Action.HEDGE:
            assert d.texts[i] == HEDGE_TEMPLATE.format(answer=answer_text)
        elif not d.model_abstained[i] or d.precheck_fired[i]:
            assert d.texts[i] == ABSTAIN_TEXT
        assert d.answers[i] == answer_text
    np.testing.assert_allclose(d.p_correct, guard.detector_.predict_proba(d.signals))
    one = d[3]
    assert isinstance(one, Decision) and one.action is d.actions[3] and one.question_id == gens[3].question.id
    assert one.abstained == (one.action is Action.ABSTAIN) and (one.answer is None) == one.abstained


def test_decision_batch_json_has_strings_not_enums(fitted):
    import json

    guard, gens, _ = fitted
    js = guard.decide(gens[:5]).to_json()
    text = json.dumps(js)  # must serialise as is
    assert {r["action"] for r in js["decisions"]} <= {"answer", "hedge", "abstain"}
    assert json.loads(text)["alpha"] == guard.alpha


def test_certified_levels_and_other_alpha(fitted):
    guard, gens, _ = fitted
    levels = guard.certified_levels()
    assert 0.35 in levels and 0.05 in levels and 0.5 in levels
    assert levels[0.35] == guard.threshold_
    # looser α → lower (or equal) threshold → at least as many answers
    d_tight, d_loose = guard.decide(gens, alpha=0.05), guard.decide(gens, alpha=0.5)
    assert levels[0.5] <= levels[0.05]
    assert sum(a is Action.ANSWER for a in d_loose.actions) >= sum(a is Action.ANSWER for a in d_tight.actions)
    assert d_loose.alpha == 0.5 and d_loose.certified == bool(np.isfinite(levels[0.5]))
    with pytest.raises(NescioError, match="certifiable levels: 0.05"):
        guard.decide(gens, alpha=0.123)
    ta = guard.tightest_alpha_
    assert ta is None or (0 < ta < 1 and np.isfinite(guard.policy_._at(ta)))
    if ta is not None and ta > 0.01:
        assert not np.isfinite(guard.policy_._at(round(ta - 0.01, 2)))
    assert guard.fit_summary_.tightest_alpha == ta


def test_save_load_roundtrip_identical_decisions(fitted, tmp_path):
    guard, gens, _ = fitted
    guard.save(tmp_path / "g")
    again = Guard.load(tmp_path / "g", model_id=guard.model_id_)
    assert again.decide(gens) == guard.decide(gens)
    assert again.decide(gens, alpha=0.5) == guard.decide(gens, alpha=0.5)
    assert again.certified_levels() == guard.certified_levels()
    assert again.generation_config_ == guard.generation_config_ and again.get_params() == guard.get_params()
    assert again.fit_summary_ == guard.fit_summary_
    files = {p.suffix for p in (tmp_path / "g").rglob("*") if p.is_file()}
    assert files <= {".json", ".safetensors"}
    # the saved spec records each probe's registry name and arguments
    import json

    probe_meta = json.loads((tmp_path / "g" / "probes" / "probe_last_prompt" / "probe.json").read_text())
    assert probe_meta["signal"] == "probe_last_prompt" and probe_meta["signal_args"]["cv"] == 3


def test_loading_for_another_model_is_refused(fitted, tmp_path):
    guard, _, _ = fitted
    guard.save(tmp_path / "g")
    with pytest.raises(NescioError, match="fitted for model"):
        Guard.load(tmp_path / "g", model_id="some-other-model")


def test_answer_through_the_model(fitted, tiny):
    guard, _, _ = fitted
    batch = answer(tiny, guard, ["What is the capital of France?", "Question 3: what is item 10 of list 3?"])
    assert len(batch) == 2 and all(r for r in batch.reasons)
    d = ask(tiny, guard, "What is the capital of France?")
    assert isinstance(d, Decision) and d.text == batch.texts[0]


def test_precheck_abstains_before_generating(fitted, tiny, monkeypatch):
    """A question the pre-check blocks gets only the one-token prefill pass, never a full answer."""
    import copy

    from nescio.models.backend import HFBackend

    guard = copy.copy(fitted[0])
    guard.precheck_ = copy.copy(guard.precheck_)
    calls = []
    real_generate = HFBackend.generate

    def counting_generate(self, questions, config, **kw):  # every model pass goes through the backend
        calls.append((len(questions), config.max_new_tokens))
        return real_generate(self, questions, config, **kw)

    monkeypatch.setattr(HFBackend, "generate", counting_generate)
    guard.precheck_.threshold_ = 0.0  # probabilities are ≥ 0: fires on everything
    d = ask(tiny, guard, "How old is the famous trapeze artist Nina Panickssery?")
    assert d.abstained and d.answer is None and d.p_correct is None and d.reason == PRECHECK_REASON
    assert calls == [(1, 1)]

    calls.clear()
    guard.precheck_.threshold_ = 1.5  # finite but unreachable for a probability: never fires
    d = ask(tiny, guard, "What is the capital of France?")
    assert "pre-check" not in d.reason
    assert calls == [(1, 1), (1, guard.generation_config_.max_new_tokens)]


def test_precheck_threshold_uses_the_probability_scale(fitted):
    """The threshold is on the probe's probability itself: every grid point is reachable, and
    the pre-check fires exactly where P(unanswerable) ≥ threshold."""
    guard, gens, _ = fitted
    pc = guard.precheck(gens)
    assert np.all((pc.scores >= 0) & (pc.scores <= 1))
    np.testing.assert_array_equal(pc.fired, pc.scores >= guard.precheck_.threshold_)
    assert guard.precheck_.risk_.grid_.min() == 0.0  # a score of 0.3 can clear a grid point below 0.5


@pytest.mark.parametrize("text, match", [("", "empty"), ("   ", "empty"), ("x" * 100_000, "characters long"), (None, "string")])
def test_bad_questions(fitted, tiny, text, match):
    guard, _, _ = fitted
    with pytest.raises(NescioError, match=match):
        ask(tiny, guard, text)
    assert len(check_question("a" * MAX_QUESTION_CHARS)) == MAX_QUESTION_CHARS


@pytest.mark.parametrize("params, match", [
    ({"alpha": 0.0}, "alpha"), ({"alpha": 1.2}, "alpha"), ({"delta": -1}, "delta"),
    ({"signals": ["no_such_signal"]}, "unknown signal"), ({"signals": []}, "empty"),
])
def test_bad_parameters(tiny, params, match):
    qs = [Question(id=f"q{i}", text=f"q {i}?", split="train" if i < 20 else "calibration") for i in range(40)]
    with pytest.raises(NescioError, match=match):
        Guard.from_model(tiny, qs, progress=False, **params)


def test_bad_outcomes_are_an_error(fitted):
    guard, gens, outcomes = fitted
    bad = ["corect"] + list(outcomes[1:36])
    with pytest.raises(NescioError, match="unknown outcome 'corect'"):
        Guard(signals=CHEAP, use_precheck=False).fit(gens[:36], bad, gens[36:], outcomes[36:])


def test_questions_need_splits(tiny):
    with pytest.raises(NescioError, match="split"):
        Guard.from_model(tiny, [Question(id="a", text="q?")], progress=False)


def test_unfitted_guard_and_bad_guard_dir(tmp_path):
    with pytest.raises(NescioError, match="not fitted"):
        Guard().decide([])
    with pytest.raises(NescioError, match="guard.json missing"):
        Guard.load(tmp_path)


@pytest.fixture
def random_outcomes(monkeypatch):
    """Grade generations as correct/hallucinated at random (the tiny model's answers are noise)."""
    from nescio import grading as answer_mod

    rng = np.random.default_rng(1)
    monkeypatch.setattr(answer_mod, "grade_outcomes", lambda gens: [
        Outcome.CORRECT if rng.uniform() < 0.5 else Outcome.HALLUCINATED for _ in gens])


def test_from_model_keeps_the_parameters_it_was_given(tiny, random_outcomes):
    """from_model fits at the α it is given (the old classmethod fit silently used 0.1)."""
    qs = [Question(id=f"q{i}", text=f"What is item {i}?", answers=("x",), split="train" if i < 30 else "calibration")
          for i in range(60)]
    guard = Guard.from_model(tiny, qs, alpha=0.4, delta=0.2, signals=CHEAP, use_precheck=False, hedge_alpha=None,
                             calibrator="platt", max_new_tokens=4, progress=False)
    assert (guard.alpha, guard.delta, guard.calibrator, guard.detector_.calibration) == (0.4, 0.2, "platt", "platt")
    assert guard.policy_.risk_.alpha == 0.4 and guard.certified_levels()[0.4] == guard.threshold_
    assert guard.fit_summary_.n_train == 30 and guard.fit_summary_.n_calibration == 30
    assert guard.hedge_floor_ is None and guard.precheck_ is None and guard.precheck_config_ is None
    assert guard.model_id_ == tiny.model_id
    assert Action.HEDGE not in answer(tiny, guard, ["What is item 3?"]).actions


def test_any_registered_signal_can_be_named(tiny):
    """Fitted registry signals beyond the probes (here the entity direction) work in the guard."""
    from nescio.models import generate

    qs = [Question(id=f"q{i}", text=f"Who is Person{i} of town {i % 3}?", answers=("x",), entity=f"Person{i}",
                   category="fact/x" if i % 3 else "fabricated", answerable=i % 3 != 0) for i in range(48)]
    guard = Guard(alpha=0.4, delta=0.2, signals=("sequence_nll", "entity_direction"), use_precheck=False)
    config = guard.generation_config(model=tiny)
    assert any("entity_last" in c.positions for c in config.capture)
    gens = generate(tiny, qs, config, progress=False)
    outcomes = [Outcome.HALLUCINATED if i % 3 == 0 or i % 2 else Outcome.CORRECT for i in range(48)]
    guard.fit(gens[:24], outcomes[:24], gens[24:], outcomes[24:])
    d = guard.decide(gens)
    assert d.signal_names == ("sequence_nll", "entity_direction") and np.isfinite(d.signals[:, 1]).all()


def _damage(path, how: str) -> None:
    import json

    if how == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif how == "bad_json":
        path.write_text("{not json", encoding="utf-8")
    elif how == "wrong_schema":
        meta = json.loads(path.read_text())
        path.write_text(json.dumps(meta | {"schema_version": 99}), encoding="utf-8")
    elif how == "missing_field":
        meta = json.loads(path.read_text())
        del meta["detector" if "detector" in meta else "state"]
        path.write_text(json.dumps(meta), encoding="utf-8")
    elif how == "not_an_object":
        path.write_text("[1, 2]", encoding="utf-8")


@pytest.mark.parametrize("target, how, match", [
    ("guard.safetensors", "truncate", "guard.safetensors: damaged"),
    ("guard.json", "bad_json", "guard.json: damaged, not valid JSON"),
    ("guard.json", "not_an_object", "guard.json: damaged, expected a JSON object"),
    ("guard.json", "wrong_schema", "schema version 99"),
    ("guard.json", "missing_field", "guard.json: damaged, missing field 'detector'"),
    ("probes/probe_last_prompt/probe.safetensors", "truncate", "probe_last_prompt/probe.safetensors: damaged"),
    ("probes/probe_last_prompt/probe.json", "missing_field", "probe.json: damaged, missing field 'state'"),
    ("precheck/knowability_last_prompt/probe.json", "bad_json", "knowability_last_prompt/probe.json: damaged"),
])
def test_damaged_guard_is_a_one_line_error_naming_the_file(fitted, tmp_path, target, how, match):
    guard, _, _ = fitted
    guard.save(tmp_path / "g")
    _damage(tmp_path / "g" / target, how)
    with pytest.raises(NescioError, match=match):
        Guard.load(tmp_path / "g")


def test_nescio_ask_with_a_truncated_guard_prints_one_line(fitted, tmp_path):
    """The reported case: guard.safetensors cut to 100 bytes → one line naming the file, exit 2."""
    import subprocess
    import sys
    from pathlib import Path

    guard, _, _ = fitted
    guard.save(tmp_path / "g")
    _damage(tmp_path / "g" / "guard.safetensors", "truncate")
    nescio = str(Path(sys.executable).parent / "nescio")
    r = subprocess.run([nescio, "ask", "What is the capital of France?", "--guard", str(tmp_path / "g")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and str(tmp_path / "g" / "guard.safetensors") in lines[0] and "damaged" in lines[0]
