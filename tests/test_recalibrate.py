"""Recalibration on a user's own questions (``nescio calibrate``), on the tiny in-memory model:
only the calibrator, the thresholds (and on request the combiner) change; the probes stay
bit-identical; bad inputs are one-line errors; the output loads with the normal loader."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from nescio.policy.guard import Guard
from nescio.policy.recalibration import RECALIBRATION_FILE, min_correct_answers, questions_needed, recalibrate
from nescio.policy.risk import RiskController
from nescio.types import NescioError, Outcome, Question

CHEAP = ("sequence_nll", "mean_token_nll", "max_token_entropy", "one_minus_first_token_margin")


def _questions(prefix: str, n: int, offset: int = 0) -> list[Question]:
    return [Question(id=f"{prefix}{i}", text=f"Question {i + offset}: what is item {(i + offset) * 7 % 11} of list "
                     f"{(i + offset) % 5}?", answers=("x",), answerable=i % 4 != 0,
                     category="fact/x" if i % 4 else "fabricated") for i in range(n)]


def _outcomes(gens, quantile: float, seed: int) -> list[Outcome]:
    """Synthetic labels that follow a cheap signal (the tiny model knows nothing)."""
    nll = np.array([-np.mean(g.token_logprobs) for g in gens])
    flip = np.random.default_rng(seed).uniform(size=len(nll)) < 0.1
    correct = (nll < np.quantile(nll, quantile)) ^ flip
    return [Outcome.CORRECT if g.question.answerable and c else Outcome.HALLUCINATED for g, c in zip(gens, correct)]


@pytest.fixture(scope="module")
def setup(tiny):
    """A guard fitted on 72 questions, and 120 other 'user' questions with a higher accuracy."""
    from nescio.models import generate

    guard = Guard(alpha=0.35, delta=0.2, signals=CHEAP + ("probe_last_prompt",), use_precheck=True)
    config = guard.generation_config(model=tiny)
    gens = generate(tiny, _questions("q", 72), config, progress=False)
    outcomes = _outcomes(gens, 0.5, 0)
    guard.fit(gens[:36], outcomes[:36], gens[36:], outcomes[36:], model_id=tiny.model_id, model_spec=tiny.spec)
    user = generate(tiny, _questions("u", 120, offset=500), guard.generation_config_, progress=False)
    return guard, user, _outcomes(user, 0.8, 1)


def _tensors(directory):
    from safetensors.numpy import load_file

    return {p.relative_to(directory): load_file(str(p)) for p in sorted(directory.rglob("*.safetensors"))}


def test_only_the_calibrator_and_thresholds_change(setup, tmp_path):
    guard, user, outcomes = setup
    before = guard.certified_levels(), guard.detector_.calibrator_.state(), guard.fit_summary_
    new = recalibrate(guard, user, outcomes, require_certifiable=False)
    assert (guard.certified_levels(), guard.detector_.calibrator_.state(), guard.fit_summary_) == before  # original untouched
    s = new.recalibration_
    assert s.refitted == ("calibrator", "risk_policy") and s.kept == ("signals", "combiner", "pre-check")
    assert s.probes == ("probe_last_prompt",) and s.n_questions == s.n_calibration == 120 and s.n_combiner == 0
    # the thresholds were certified on the user's questions: the loosest grid point counts exactly the usable ones
    assert new.policy_.risk_.n_answered_[-1] == s.n_usable
    assert guard.policy_.risk_.n_answered_[-1] != s.n_usable
    fired = guard.precheck(user).fired
    assert s.n_precheck_blocked == int(fired.sum())
    assert s.n_usable == int(sum(o is not Outcome.ABSTAINED and not f for o, f in zip(outcomes, fired)))
    assert new.fit_summary_.n_calibration == 120 and new.fit_summary_.n_train == guard.fit_summary_.n_train
    # the frontier is the new guard's, on the user's questions: certified levels only, monotone
    assert list(s.frontier) == new.certified_frontier()
    assert [f.alpha for f in s.frontier] == sorted(a for a, t in new.certified_levels().items() if np.isfinite(t))
    assert all(f.calibration_answered <= s.n_usable for f in s.frontier)
    # the calibrator was refitted (another base rate), the combiner and the pre-check were not
    assert not np.array_equal(new.detector_.calibrator_.y_, guard.detector_.calibrator_.y_)
    for name in ("coef_", "means_", "scales_", "medians_", "intercept_"):
        assert np.array_equal(getattr(new.detector_, name), getattr(guard.detector_, name))
    assert new.precheck_.threshold_ == guard.precheck_.threshold_
    # probes and pre-check bit-identical, saved and in memory
    guard.save(tmp_path / "a")
    new.save(tmp_path / "b")
    ta, tb = _tensors(tmp_path / "a"), _tensors(tmp_path / "b")
    probe_files = [p for p in ta if p.parts[0] in ("probes", "precheck")]
    assert probe_files and all(p in tb for p in probe_files)
    for p in probe_files:
        assert ta[p].keys() == tb[p].keys()
        for k in ta[p]:
            assert ta[p][k].dtype == tb[p][k].dtype and ta[p][k].tobytes() == tb[p][k].tobytes()
    for p in (tmp_path / "a").rglob("probe.json"):
        assert p.read_text() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_text()
    np.testing.assert_array_equal(new.signal_set_.transform(user), guard.signal_set_.transform(user))


def test_refit_detector_refits_the_combiner_on_its_own_part(setup):
    guard, user, outcomes = setup
    new = recalibrate(guard, user, outcomes, refit_detector=True, require_certifiable=False)
    s = new.recalibration_
    assert s.refitted == ("calibrator", "risk_policy", "combiner") and s.kept == ("signals", "pre-check")
    assert s.n_combiner == 60 and s.n_calibration == 60 and new.fit_summary_.n_train == 60
    assert not np.array_equal(new.detector_.coef_, guard.detector_.coef_)
    # the thresholds saw only the calibration part
    assert new.policy_.risk_.n_answered_[-1] == s.n_usable <= 60
    np.testing.assert_array_equal(new.signal_set_.transform(user), guard.signal_set_.transform(user))


def test_output_loads_with_the_normal_loader_and_decides_the_same(setup, tmp_path):
    guard, user, outcomes = setup
    new = recalibrate(guard, user, outcomes, require_certifiable=False)
    new.save(tmp_path / "g")
    again = Guard.load(tmp_path / "g", model_id=guard.model_id_)
    assert again.decide(user) == new.decide(user)
    assert again.certified_levels() == new.certified_levels()
    if new.tightest_alpha_ is not None:  # the tightest level is certified too, so decide() accepts it
        assert again.decide(user, alpha=new.tightest_alpha_) == new.decide(user, alpha=new.tightest_alpha_)
        p = new.recalibration_.at_tightest
        assert p.alpha == new.tightest_alpha_ and p.answered > 0


def test_too_few_correct_answers_is_a_one_line_error_with_the_number_needed(setup):
    guard, user, outcomes = setup
    need = min_correct_answers(0.05, 0.2)[2]
    with pytest.raises(NescioError, match=rf"needs at least {need} correct answers.*labelled questions") as e:
        recalibrate(guard, user, outcomes, alpha=0.05)
    assert "\n" not in str(e.value)
    none_right = [Outcome.HALLUCINATED] * len(user)
    with pytest.raises(NescioError, match="none of these correctly"):
        recalibrate(guard, user, none_right)


@pytest.mark.parametrize("kwargs, match", [
    (dict(alpha=1.5), "alpha must be strictly between 0 and 1"),
    (dict(refit_detector=True, detector_share=1.0), "detector_share"),
])
def test_bad_arguments(setup, kwargs, match):
    guard, user, outcomes = setup
    with pytest.raises(NescioError, match=match):
        recalibrate(guard, user, outcomes, require_certifiable=False, **kwargs)


def test_bad_outcomes_and_unfitted_guard(setup):
    guard, user, outcomes = setup
    with pytest.raises(NescioError, match="outcomes for"):
        recalibrate(guard, user, outcomes[:-1])
    with pytest.raises(NescioError, match="correct"):
        recalibrate(guard, user, ["corect"] * len(user))
    with pytest.raises(NescioError, match="not fitted"):
        recalibrate(Guard(), user, outcomes)
    with pytest.raises(NescioError, match="no questions"):
        recalibrate(guard, [], [])


@pytest.mark.parametrize("alpha, delta", [(0.1, 0.1), (0.2, 0.1), (0.3, 0.2), (0.15, 0.05)])
def test_min_correct_is_exactly_what_the_risk_controller_needs(alpha, delta):
    """Perfectly ranked answers: m correct on top of many hallucinations is certifiable iff m ≥ min_correct."""
    need = min_correct_answers(alpha, delta)[2]

    def certified(m: int) -> bool:
        n = 395
        scores = 1.0 - 0.0025 * np.arange(n) - 0.001  # one question per grid step
        return RiskController(alpha, delta).fit(scores, np.arange(n) >= m).certified_

    assert certified(need) and not certified(need - 1)


def test_questions_needed():
    need = min_correct_answers(0.1, 0.1)[2]
    assert questions_needed(0.1, 0.1, 1.0) == need
    assert questions_needed(0.1, 0.1, 0.25) == 4 * need
    assert questions_needed(0.1, 0.1, 0.0) is None
    assert questions_needed(0.3, 0.1, 0.5) < questions_needed(0.1, 0.1, 0.5) < questions_needed(0.05, 0.1, 0.5)
    with pytest.raises(NescioError, match="accuracy"):
        questions_needed(0.1, 0.1, 1.5)


# ------------------------------------------------------------------ the workflow and the command
def _bench(tmp_path, qs, name="mine.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps({"id": q.id, "question": q.text, "answers": list(q.answers),
                                          "answerable": q.answerable}) for q in qs))
    return f"jsonl:{path}"


@pytest.fixture
def workflow(setup, tiny, tmp_path, monkeypatch):
    """A saved guard, a user JSONL, the tiny model for --model, synthetic grades for its answers."""
    import nescio.models
    import nescio.grading as answering

    guard, user, outcomes = setup
    guard.save(tmp_path / "guard")
    by_text = {g.question.text: o for g, o in zip(user, outcomes)}
    monkeypatch.setattr(answering, "grade_outcomes", lambda gens: [by_text[g.question.text] for g in gens])
    monkeypatch.setattr(nescio.models, "load_model", lambda spec, **kw: tiny)
    return tmp_path, _bench(tmp_path, [g.question for g in user])


def _run(argv, monkeypatch, capsys):
    from nescio.cli import main

    monkeypatch.setattr(sys, "argv", ["nescio", *argv])
    with pytest.raises(SystemExit) as e:
        main()
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def test_nescio_calibrate_writes_a_loadable_guard_and_refuses_to_overwrite(workflow, tiny, monkeypatch, capsys):
    tmp, bench = workflow
    argv = ["calibrate", "--guard", str(tmp / "guard"), "--bench", bench, "--out", str(tmp / "mine"), "--alpha", "0.35"]
    code, out, err = _run(argv, monkeypatch, capsys)
    assert code in (0, None), err
    assert "refitted" in out and "calibrator, risk_policy" in out and "probe_last_prompt" in out
    assert "tightest certifiable α" in out
    new = Guard.load(tmp / "mine", model_id=tiny.model_id)
    rec = json.loads((tmp / "mine" / RECALIBRATION_FILE).read_text())
    assert rec["n_questions"] == 120 and rec["bench"] == bench and rec["refitted"] == ["calibrator", "risk_policy"]
    assert [f["alpha"] for f in rec["frontier"]] == sorted(a for a, t in new.certified_levels().items() if np.isfinite(t))
    assert rec["frontier"] == [f.to_json() for f in new.certified_frontier()]  # typed points, the same JSON keys
    assert ("certified frontier on your questions" in out) == bool(rec["frontier"])
    assert new.fit_summary_.n_calibration == 120
    assert not list((tmp / "mine").glob(".calibrate-*"))  # no temporary directory left behind
    code, out, err = _run(argv, monkeypatch, capsys)  # a second run: refused
    assert code == 2 and "already holds a guard" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    # with --overwrite and --refit-detector: replaced; generations were reused from the store
    import nescio.models.generation as generation

    monkeypatch.setattr(generation, "generate", lambda *a, **k: pytest.fail("generated again"))
    code, out, err = _run(argv + ["--overwrite", "--refit-detector"], monkeypatch, capsys)
    assert code in (0, None), err
    rec = json.loads((tmp / "mine" / RECALIBRATION_FILE).read_text())
    assert rec["refitted"] == ["calibrator", "risk_policy", "combiner"]
    assert Guard.load(tmp / "mine").fit_summary_.n_train == 60


@pytest.mark.parametrize("case, match", [
    ("no_guard", "is not a saved guard"),
    ("unlabelled", "have no gold answers"),
    ("few", "needs at least 10 labelled"),
    ("bad_bench", "unknown question set"),
    ("too_few_correct", "labelled questions"),
    ("alpha", "alpha must be strictly between 0 and 1"),
])
def test_wrong_inputs_are_one_line_errors(workflow, monkeypatch, capsys, case, match):
    tmp, bench = workflow
    guard_dir = str(tmp / "guard")
    extra = []
    if case == "no_guard":
        guard_dir = str(tmp / "nowhere")
    elif case == "unlabelled":
        bench = _bench(tmp, [Question(id=f"n{i}", text=f"Q{i}?", answers=(), answerable=True, category="x")
                             for i in range(12)], "unlabelled.jsonl")
        (tmp / "unlabelled.jsonl").write_text("\n".join(json.dumps({"question": f"Q{i}?", "answerable": True})
                                                        for i in range(12)))
    elif case == "few":
        bench = _bench(tmp, _questions("f", 5), "few.jsonl")
    elif case == "bad_bench":
        bench = "nosuchformat"
    elif case == "too_few_correct":
        extra = ["--alpha", "0.05"]
    elif case == "alpha":
        extra = ["--alpha", "2"]
    code, out, err = _run(["calibrate", "--guard", guard_dir, "--bench", bench, "--out", str(tmp / "o"), *extra],
                          monkeypatch, capsys)
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith("generating")]  # the progress bar aside
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error:") and match in lines[0]
    assert not (tmp / "o" / "guard.json").exists()


def test_public_names():
    import nescio.policy
    from nescio.policy import RecalibrationSummary as S, recalibrate as r

    assert r is recalibrate and callable(r) and S.__name__ == "RecalibrationSummary"
    assert nescio.policy.recalibrate is recalibrate  # the function, not a module of the same name
