"""The knowability pre-check fitted apart from the detector: a chosen layer, its own question
set (prefill-only passes), and `nescio eval --precheck-bench` (tiny in-memory model)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nescio.types import NescioError, Outcome, Question

CHEAP = ("sequence_nll", "mean_token_nll", "max_token_entropy", "one_minus_first_token_margin")


@pytest.fixture(scope="module")
def tiny():
    from nescio.models import tiny_model

    return tiny_model(seed=0)


def _qs(prefix: str, n: int) -> list[Question]:
    """Every third question unanswerable (an invented-sounding subject), the rest answerable."""
    return [Question(id=f"{prefix}{i}", text=(f"Who founded the Zorblaxian guild number {i}?" if i % 3 == 0
                                              else f"What is the capital of country {i}?"),
                     answers=() if i % 3 == 0 else ("x",), answerable=i % 3 != 0,
                     category="fabricated" if i % 3 == 0 else "fact/geography") for i in range(n)]


@pytest.fixture(scope="module")
def prefills(tiny):
    """Prefill-only passes of 90 pre-check questions, made with the guard's own config."""
    from nescio.models import generate
    from nescio.policy.guard import Guard

    cfg = Guard(signals=CHEAP).precheck_fit_config(model=tiny)
    return generate(tiny, _qs("p", 90), cfg, progress=False)


def test_precheck_fit_config_is_a_one_token_prefill(tiny):
    from nescio.policy.guard import Guard

    cfg = Guard(signals=CHEAP).precheck_fit_config(model=tiny)
    assert cfg.max_new_tokens == 1 and cfg.n_samples == 0
    assert [(c.site, c.positions) for c in cfg.capture] == [("resid", ("last_prompt",))]
    assert Guard(signals=CHEAP, use_precheck=False).precheck_fit_config(model=tiny) is None


def test_precheck_layers_parameter_fixes_the_probe_layer(prefills, tmp_path):
    from nescio.policy.precheck import PreCheck

    train, cal = prefills[:60], prefills[60:]
    for layer in (0, 2):
        pre = PreCheck(alpha=0.3, delta=0.2, layers=(layer,)).fit(train, None, cal)
        assert pre.signals_.estimators_[pre.signal].layer_ == layer
        assert pre.capture_needs()["capture"][0].layers == (layer,)
        assert pre.capture_needs(n_layers=3, fitting=True)["capture"][0].layers == (layer,)
    # the default searches every captured layer of this 3-layer model
    assert PreCheck().capture_needs(n_layers=3, fitting=True)["capture"][0].layers == (0, 1, 2)
    # the parameter survives save / load with identical scores
    meta = pre.state(tmp_path / "pc")
    again = PreCheck.from_state(json.loads(json.dumps(meta)), tmp_path / "pc")
    assert again.layers == [2] and again.get_params() == pre.get_params()
    np.testing.assert_array_equal(again.check(cal).scores, pre.check(cal).scores)
    with pytest.raises(NescioError, match="layers is empty"):
        PreCheck(layers=()).fit(train, None, cal)


def test_guard_fits_its_precheck_on_its_own_questions(tiny, prefills):
    """With precheck_train / precheck_calibration the pre-check's probe and threshold come from
    those passes (sizes differ from the detector's splits), and decisions still run on full generations."""
    from nescio.models import generate
    from nescio.policy.guard import Guard

    guard = Guard(alpha=0.4, delta=0.2, signals=CHEAP, precheck_alpha=0.3)
    qs = [Question(id=f"d{i}", text=f"Question {i}: what is item {i * 7 % 11}?", answers=("x",)) for i in range(40)]
    gens = generate(tiny, qs, guard.generation_config(model=tiny), progress=False)
    outcomes = [Outcome.CORRECT if i % 2 else Outcome.HALLUCINATED for i in range(40)]
    pre_train, pre_cal = prefills[:54], prefills[54:]
    guard.fit(gens[:20], outcomes[:20], gens[20:], outcomes[20:], precheck_train=pre_train, precheck_calibration=pre_cal)
    probe = guard.precheck_.signals_.estimators_["knowability_last_prompt"]
    assert probe.n_train_ == len(pre_train)  # not the detector's 20 (all answerable: no label contrast)
    assert guard.precheck_.risk_.n_answered_.max() == len(pre_cal)  # certified on the 36 pre-check questions
    d = guard.decide(gens)
    np.testing.assert_array_equal(d.precheck_fired, guard.precheck(gens).fired)
    with pytest.raises(NescioError, match="both precheck_train"):
        guard.fit(gens[:20], outcomes[:20], gens[20:], outcomes[20:], precheck_train=pre_train)


def test_precheck_sets_leave_out_evaluation_questions(tmp_path):
    from nescio.evaluate.run import precheck_sets

    rows = [{"question": q.text, "answers": list(q.answers) or None, "answerable": q.answerable} for q in _qs("x", 60)]
    (tmp_path / "pc.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    evaluation = [Question(id="e", text=rows[5]["question"].upper() + " ", answers=("x",))]
    train, cal = precheck_sets(f"jsonl:{tmp_path / 'pc.jsonl'}", evaluation)
    texts = [q.text for q in train + cal]
    assert len(texts) == 59 and rows[5]["question"] not in texts
    two = precheck_sets(f"jsonl:{tmp_path / 'pc.jsonl'}, jsonl:{tmp_path / 'pc.jsonl'}", [])
    assert len(two[0]) + len(two[1]) == 120  # comma-separated sets are pooled
    (tmp_path / "one.jsonl").write_text("\n".join(json.dumps(r) for r in rows if r["answerable"]))
    with pytest.raises(NescioError, match="answerable and unanswerable"):
        precheck_sets(f"jsonl:{tmp_path / 'one.jsonl'}", [])


def test_evaluate_with_precheck_bench(tiny, tmp_path, monkeypatch):
    from nescio.evaluate import evaluate
    from nescio.evaluate import run as run_mod
    from nescio.evaluate.result import EvalResult
    from nescio.policy.guard import Guard

    monkeypatch.setattr(run_mod, "grade_outcomes", lambda gens: [
        Outcome.CORRECT if g.question.answerable and int(g.question.id[1:]) % 2 else Outcome.HALLUCINATED for g in gens])
    bench = tmp_path / "bench.jsonl"
    bench.write_text("\n".join(json.dumps({"id": f"b{i}", "question": f"What is thing {i} in set {i % 7}?",
                                           "answers": ["x"], "category": "fact/x"}) for i in range(60)))
    pc = tmp_path / "pc.jsonl"
    pc.write_text("\n".join(json.dumps({"id": q.id, "question": q.text, "answers": list(q.answers) or None,
                                        "answerable": q.answerable}) for q in _qs("p", 80)))
    out = tmp_path / "run"
    res = evaluate(tiny, f"jsonl:{bench}", out, alpha=0.4, delta=0.2, signals=list(CHEAP), max_new_tokens=4,
                   progress=False, precheck_bench=f"jsonl:{pc}")
    saved = json.loads((out / "results.json").read_text())
    assert saved["precheck_bench"] == f"jsonl:{pc}" and EvalResult.read(out / "results.json") == res
    guard = Guard.load(out / "tiny-llama" / "guard", model_id=tiny.model_id)
    train, cal = run_mod.precheck_sets(f"jsonl:{pc}", [])
    assert guard.precheck_.signals_.estimators_["knowability_last_prompt"].n_train_ == len(train)
    stores = list((out / "tiny-llama" / "generations").glob("precheck-*/*/run.json"))
    assert len(stores) == 1 and json.loads(stores[0].read_text())["run_info"]["config"]["max_new_tokens"] == 1
    # the saved threshold is the one certified on the pre-check set's calibration split
    from nescio.models.io import GenerationStore
    from nescio.policy.precheck import PreCheck

    by_id = {g.question.id: g for g in GenerationStore(stores[0].parent).load()}
    again = PreCheck(alpha=0.05, delta=0.2).fit([by_id[q.id] for q in train], None, [by_id[q.id] for q in cal])
    assert guard.precheck_.threshold_ == again.threshold_ == res.guard.summary.precheck_threshold
    cal_gens = [by_id[q.id] for q in cal]
    np.testing.assert_allclose(guard.precheck(cal_gens).scores, again.check(cal_gens).scores, rtol=1e-6)
    # with the pre-check off the option is moot and the field absent
    res2 = evaluate(tiny, f"jsonl:{bench}", tmp_path / "run2", alpha=0.4, delta=0.2, signals=list(CHEAP),
                    max_new_tokens=4, progress=False, precheck=False, precheck_bench=f"jsonl:{pc}")
    assert "precheck_bench" not in json.loads((tmp_path / "run2" / "results.json").read_text())
    assert res2.precheck_bench is None
