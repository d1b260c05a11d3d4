"""The eval pipeline: resumable generation, results.json schema, report.html; one real-model run (slow)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nescio.types import NescioError, Question

NESCIO = str(Path(sys.executable).parent / "nescio")
DATA = Path(__file__).parent / "data" / "eval_v1"  # written by the pre-typed evaluate(); see make_fixture.py
CHEAP = ["sequence_nll", "mean_token_nll", "max_token_entropy", "one_minus_first_token_margin"]


@pytest.fixture(scope="module")
def tiny():
    from nescio.models import tiny_model

    return tiny_model(seed=0)


def _questions(n: int = 40) -> list[Question]:
    return [Question(id=f"q{i:03d}", text=f"Question {i}: what is item {i * 7 % 11}?", answers=("x",)) for i in range(n)]


def test_interrupted_generation_resumes_without_lost_or_duplicated_rows(tiny, tmp_path, monkeypatch):
    from nescio.evaluate.run import generate_stored
    from nescio.models import generation
    from nescio.policy.guard import Guard

    config = Guard(signals=CHEAP, use_precheck=False).generation_config()
    config = type(config)(**{**config.__dict__, "batch_size": 8, "max_new_tokens": 6})
    qs = _questions(40)
    reference = generate_stored(tiny, qs, config, tmp_path / "ref", progress=False)

    real = generation.generate
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # the process "dies" during the third batch
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(generation, "generate", dying)
    with pytest.raises(KeyboardInterrupt):
        generate_stored(tiny, qs, config, tmp_path / "run", progress=False)
    monkeypatch.setattr(generation, "generate", real)
    # what was committed before the interruption survives; the rerun fills in the rest
    partial_dirs = list((tmp_path / "run").iterdir())
    assert len(partial_dirs) == 1
    resumed = generate_stored(tiny, qs, config, tmp_path / "run", progress=False)
    assert [g.question.id for g in resumed] == [q.id for q in qs]
    lines = (partial_dirs[0] / "generations.jsonl").read_text().splitlines()
    ids = [row["question"]["id"] if "question" in row else row.get("id") for line in lines for row in json.loads(line)["rows"]]
    assert len(ids) == len(set(ids)) == len(qs)
    for a, b in zip(reference, resumed):
        assert a.text == b.text and a.token_ids == b.token_ids
        np.testing.assert_allclose(a.token_logprobs, b.token_logprobs, rtol=1e-5, atol=1e-5)


def test_evaluate_on_tiny_model_writes_results_and_report(tiny, tmp_path, monkeypatch):
    """results.json agrees with decisions.jsonl and with a guard reloaded from the run's directory."""
    from nescio.evaluate import evaluate
    from nescio.evaluate import metrics
    from nescio.evaluate import run as run_mod
    from nescio.evaluate.result import EvalResult, read_decisions
    from nescio.types import Action, Outcome

    rng = np.random.default_rng(0)

    def fake_grades(gens):  # the tiny model knows nothing; give it synthetic outcomes
        # 85% correct: on these ~18 calibration questions the guard certifies α ≥ 0.35 but not the
        # requested 0.3, so the tightest-level report and the certified frontier both have rows to check
        return [Outcome.CORRECT if rng.uniform() < 0.85 else Outcome.HALLUCINATED for g in gens]

    monkeypatch.setattr(run_mod, "grade_outcomes", fake_grades)
    bench = tmp_path / "bench.jsonl"
    cats = ["fact/geography", "fact/science", "fabricated", "future"]
    with bench.open("w") as f:
        for i in range(90):
            c = cats[i % 4]
            f.write(json.dumps({"id": f"q{i}", "question": f"What is thing {i} in set {i % 7}?",
                                "answers": ["x"] if c.startswith("fact") else [], "category": c}) + "\n")
    out = tmp_path / "run"
    from nescio.models import tiny_model

    res = evaluate(tiny, f"jsonl:{bench}", out, alpha=0.3, delta=0.2, signals=CHEAP, max_new_tokens=6, progress=False,
                   compare=tiny_model("qwen2"))
    saved = json.loads((out / "results.json").read_text())
    assert saved["n"] == res.n > 0
    # the returned record is what was written, and reads back equal (enums inside, strings in the file)
    assert saved == res.to_json() and EvalResult.read(out / "results.json") == res
    assert read_decisions(out / "tiny-llama" / "decisions.jsonl") == res.records and len(res.records) == res.n
    assert {r.outcome for r in res.records} <= set(Outcome) and {r.action for r in res.records} <= set(Action)
    records = [json.loads(line) for line in (out / "tiny-llama" / "decisions.jsonl").read_text().splitlines()]
    assert len(records) == saved["n"] and saved["n"] + saved["n_train"] + saved["n_calibration"] == 90
    actions = np.array([r["action"] for r in records], dtype=object)
    outcomes = np.array([r["outcome"] for r in records], dtype=object)
    assert set(actions) <= {"answer", "hedge", "abstain"} and set(outcomes) <= {"correct", "hallucinated", "abstained"}
    # headline rates are the tallies of the written decisions
    g, raw = saved["guarded"], saved["raw"]
    answered = (actions == "answer") & (outcomes != "abstained")
    assert g["answered"] == pytest.approx(answered.mean(), abs=1e-6)
    assert g["correct"] == pytest.approx((answered & (outcomes == "correct")).mean(), abs=1e-6)
    assert g["hedged"] == pytest.approx(((actions == "hedge") & (outcomes != "abstained")).mean(), abs=1e-6)
    assert g["answered"] + g["abstained"] + g["hedged"] == pytest.approx(1.0, abs=1e-5)
    assert raw["correct"] == pytest.approx((outcomes == "correct").mean(), abs=1e-6)
    assert (g["alpha"], g["delta"]) == (0.3, 0.2)
    # uncertified at the requested α: the tightest level the guard did certify is reported beside it
    finite = [float(a) for a, t in saved["guard"]["certified_levels"].items() if t != "inf"]
    assert not saved["guard"]["certified"] and finite and min(finite) > 0.3, saved["guard"]["certified_levels"]
    assert saved["at_tightest_level"]["alpha"] == min(finite)
    assert 0.0 < saved["at_tightest_level"]["answered"] <= 1.0
    assert f"tightest level this guard certifies is α = {min(finite):g}" in (out / "report.html").read_text()
    # the certified frontier: every finite certified level, monotone, its test figures the decisions'
    frontier = saved["frontier"]
    assert len(frontier) >= 2 and [f["alpha"] for f in frontier] == sorted(finite)
    assert all(a["calibration_answered"] <= b["calibration_answered"] and a["threshold"] >= b["threshold"]
               for a, b in zip(frontier, frontier[1:]))
    declined = np.array([r["precheck_fired"] or r["model_abstained"] for r in records])
    sc = np.array([r["score"] for r in records])
    for f in frontier:
        ans = (sc >= f["threshold"]) & ~declined & (outcomes != "abstained")
        assert f["answered"] == pytest.approx(ans.mean(), abs=1e-6)
    assert ("What can be certified" in (out / "report.html").read_text())
    # the answer threshold is the one certified: every answered row clears it, no abstained-by-score row does
    thr = saved["guard"]["threshold"]
    scores = np.array([r["score"] for r in records])
    if isinstance(thr, str):
        assert not (actions == "answer").any()
    else:
        by_score = ~np.array([r["precheck_fired"] or r["model_abstained"] for r in records])
        assert np.all((scores[by_score] >= thr) == (actions[by_score] == "answer"))
    # per-signal AUROC recomputed from the records' signal values
    m = outcomes != "abstained"
    for name in CHEAP:
        vals = np.array([np.nan if r["signals"][name] is None else r["signals"][name] for r in records])
        expected = metrics.auroc(vals[m], (outcomes[m] == "hallucinated").astype(float))
        assert saved["signals"][name]["auroc"] == pytest.approx(expected, abs=1e-5, nan_ok=True)
    per_cat_n = {c: sum(r["category"] == c for r in records) for c in cats}
    assert {c: v["guarded"]["n"] for c, v in saved["per_category"].items()} == {c: n for c, n in per_cat_n.items() if n}
    # the saved guard reproduces the written decisions
    from nescio.policy.guard import Guard

    guard = Guard.load(out / "tiny-llama" / "guard", model_id=tiny.model_id)
    assert guard.alpha == 0.3 and guard.signal_names_ == tuple(CHEAP)
    html = (out / "report.html").read_text()
    assert "http://" not in html and "https://" not in html  # self-contained
    pngs = html.split('src="data:image/png;base64,')[1:]
    assert len(pngs) >= 4
    assert base64.b64decode(pngs[0].split('"')[0])[:4] == b"\x89PNG"
    # --compare: the second model's results ride along and the report shows both side by side
    assert list(saved["compare"]) == ["tiny-qwen2"] and saved["compare"]["tiny-qwen2"]["n"] == saved["n"]
    assert "tiny-qwen2" in html and "tiny-llama" in html
    assert (out / "tiny-qwen2" / "decisions.jsonl").is_file()


def test_evaluate_rejects_bad_options(tmp_path):
    from nescio.evaluate import evaluate

    with pytest.raises(NescioError, match="alpha"):
        evaluate("smollm2-135m-instruct", "builtin", tmp_path, alpha=1.5)
    with pytest.raises(NescioError, match="unknown signal"):
        evaluate("smollm2-135m-instruct", "builtin", tmp_path, signals=["nope"])


def test_cli_reports_bad_alpha_without_traceback(tmp_path):
    r = subprocess.run([NESCIO, "eval", "--alpha", "0", "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "alpha" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_nescio_eval_end_to_end_on_smollm2(tmp_path):
    """Real SmolLM2 on a small built-in subset: valid results.json + report.html."""
    out = tmp_path / "e2e"
    r = subprocess.run(
        [NESCIO, "eval", "--model", "smollm2-135m-instruct", "--bench", "builtin",
         "--limit", "16", "--alpha", "0.2", "--out", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((out / "results.json").read_text())
    assert res["n"] == 16 and res["model"] == "smollm2-135m-instruct"
    raw = res["raw"]
    assert raw["correct"] + raw["hallucinated"] + raw["abstained"] == pytest.approx(1.0, abs=1e-5)
    g = res["guarded"]
    rr = g["realised_risk"]
    if g["answered"] > 0:  # realised risk = hallucinated / answered among the 16 test questions
        assert rr == pytest.approx(g["hallucinated"] / g["answered"], abs=1e-5)
    else:
        assert rr is None
    assert "data:image/png;base64," in (out / "report.html").read_text()


def test_questions_the_guard_was_fitted_on_are_not_evaluated(tmp_path):
    """--train-bench and --bench may overlap; the overlap is left out of the evaluation, with a warning."""
    import json

    from nescio.evaluate.run import question_sets

    fit = [{"question": f"What is fact {i}?", "answers": ["x"]} for i in range(20)]
    other = [{"question": f"What is other fact {i}?", "answers": ["y"]} for i in range(5)]
    (tmp_path / "fit.jsonl").write_text("\n".join(json.dumps(r) for r in fit))
    (tmp_path / "bench.jsonl").write_text("\n".join(json.dumps(r) for r in fit[:3] + other))
    with pytest.warns(UserWarning, match="3 questions"):
        train, cal, test = question_sets(f"jsonl:{tmp_path / 'bench.jsonl'}", f"jsonl:{tmp_path / 'fit.jsonl'}")
    assert len(train) + len(cal) == 20
    assert sorted(q.text for q in test) == sorted(r["question"] for r in other)


def test_summary_names_the_tightest_certified_level_when_alpha_is_not_certified(capsys):
    from dataclasses import replace

    from nescio.cli.run import _summary
    from nescio.evaluate.result import EvalResult, TightestLevel

    base = EvalResult.read(DATA / "results_smollm2_builtin.json")  # nothing certified at α = 0.1 (a real run)
    assert not base.guard.summary.certified
    tally = {k: v for k, v in base.guarded.to_json().items() if k != "delta"}
    tl = TightestLevel(**(tally | {"answered": 0.3, "realised_risk": 0.18, "kept": 0.58, "alpha": 0.2}), tightest_alpha=0.2)
    _summary(replace(base, at_tightest_level=tl), "runs/x")
    out = " ".join(capsys.readouterr().out.split())
    assert "no answer threshold could be certified at α = 0.1 (δ = 0.1) on 301 calibration questions" in out
    assert "tightest level this guard certifies is α = 0.2" in out
    assert "30.0% of the questions plainly, with realised risk 18.0%, and keeps 58.0%" in out
    assert "none of the levels α = 0.05, 0.1" in out  # an old results.json: no frontier recorded

    from nescio.evaluate.result import FrontierPoint

    pts = tuple(FrontierPoint(alpha=a, threshold=t, calibration_answered=c, calibration_hallucinated=k,
                              calibration_risk_upper_bound=u, answered=an, realised_risk=rr, kept=kp)
                for a, t, c, k, u, an, rr, kp in ((0.2, 0.79, 40, 4, 0.19, 0.18, 0.204, 0.581),
                                                  (0.25, 0.63, 70, 10, 0.24, 0.25, 0.26, 0.7)))
    res = replace(base, at_tightest_level=tl, frontier=pts)
    _summary(res, "runs/x")
    out = " ".join(capsys.readouterr().out.split())
    assert "certified frontier (α: answered, realised risk, kept): 0.2: 18.0%, 20.4%, 58.1%; 0.25: 25.0%, 26.0%, 70.0%" in out
    assert EvalResult.from_json(json.loads(json.dumps(res.to_json()))).frontier == pts


def test_frontier_points_tally_what_each_certified_threshold_answers():
    from nescio.evaluate.run import frontier_points
    from nescio.policy.risk import RiskPolicy

    rng = np.random.default_rng(5)
    s = rng.uniform(size=1500)
    policy = RiskPolicy(0.1, 0.1, hedge_alpha=0.3).fit(s, rng.uniform(size=1500) > s**0.3)
    assert len(policy.frontier()) >= 2
    outcomes = np.array(["correct", "correct", "hallucinated", "correct", "hallucinated", "abstained"], dtype=object)
    thr = [p.threshold for p in policy.frontier()]
    hi, lo = thr[0], thr[-1]
    above, between = (hi + 1) / 2, (hi + lo) / 2
    assert lo < between < hi < above
    scores = np.array([above, above, between, above, between, above])
    declined = np.array([False, False, False, True, False, False])  # the 4th was blocked by the pre-check
    points = frontier_points(policy, scores, declined, outcomes)
    assert [(p.alpha, p.threshold, p.calibration_answered) for p in points] == [
        (c.alpha, c.threshold, c.calibration_answered) for c in policy.frontier()]
    tight, loose = points[0], points[-1]
    # the declined correct answer is not given, the model's own abstention is not an answer
    assert tight.answered == pytest.approx(2 / 6) and tight.realised_risk == 0.0 and tight.kept == pytest.approx(2 / 3)
    assert loose.answered == pytest.approx(4 / 6) and loose.realised_risk == pytest.approx(2 / 4)
    assert loose.kept == pytest.approx(2 / 3)