"""The calibrators beyond isotonic and Platt: isotonic-smooth (blocks of at least min_bin
examples, linear between block centres) and inductive Venn–Abers. Monotone, continuous where
claimed, checked against sklearn refits, saved as plain arrays that reload bit-identically;
the old methods save exactly what they did; bad settings are one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from nescio.policy.calibrate import CALIBRATION_METHODS, Calibrator, default_min_bin
from nescio.types import NescioError, Outcome, Question

NEW = ("isotonic-smooth", "venn-abers")
CHEAP = ("sequence_nll", "mean_token_nll", "max_token_entropy", "one_minus_first_token_margin")


def _data(n: int = 301, seed: int = 0, ties: bool = False):
    """Scores in [0, 1] with P(correct | s) = s ** 0.5 (the demo's calibration split has ~301)."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(size=n)
    if ties:
        s = np.round(s, 1)  # many exact ties, as a coarse signal gives
    return s, rng.uniform(size=n) < s**0.5


GRID = np.linspace(-0.2, 1.2, 20001)


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
@pytest.mark.parametrize("ties", [False, True])
def test_every_method_is_monotone_and_a_probability(method, ties):
    s, y = _data(ties=ties)
    cal = Calibrator(method).fit(s, y)
    p = cal.predict(np.concatenate([GRID, s]))
    assert np.all((p >= 0) & (p <= 1)) and np.isfinite(p).all()
    q = cal.predict(GRID)
    assert np.all(np.diff(q) >= -1e-12), "the map must be non-decreasing"
    assert cal.predict(np.array([0.9]))[0] > cal.predict(np.array([0.1]))[0]  # it follows the signal


@pytest.mark.parametrize("min_bin", [1, 5, 18, 40, 100])
def test_smooth_blocks_hold_at_least_min_bin_examples(min_bin):
    s, y = _data()
    cal = Calibrator("isotonic-smooth", min_bin=min_bin).fit(s, y)
    assert cal.counts_.sum() == len(s) and cal.counts_.min() >= min_bin
    assert np.all(np.diff(cal.x_) > 0) and np.all(np.diff(cal.y_) > 0)
    # blocks are consecutive runs of the sorted examples: centre = their mean score, value = share correct
    order = np.argsort(s, kind="stable")
    edges = np.concatenate([[0], np.cumsum(cal.counts_)])
    for k in range(len(cal.counts_)):
        rows = order[edges[k]:edges[k + 1]]
        assert cal.x_[k] == pytest.approx(s[rows].mean()) and cal.y_[k] == pytest.approx(y[rows].mean())


def test_smooth_with_min_bin_one_is_isotonic_regression_at_the_block_centres():
    from sklearn.isotonic import IsotonicRegression

    s, y = _data(seed=3)
    cal = Calibrator("isotonic-smooth", min_bin=1).fit(s, y)
    iso = IsotonicRegression(out_of_bounds="clip").fit(s, y)
    order = np.argsort(s)
    edges = np.concatenate([[0], np.cumsum(cal.counts_)])
    for k in range(len(cal.counts_)):  # each block is one pooled level of sklearn's fit
        np.testing.assert_allclose(iso.predict(s[order[edges[k]:edges[k + 1]]]), cal.y_[k], atol=1e-12)


def test_smooth_is_continuous_and_isotonic_is_not():
    s, y = _data()
    smooth = Calibrator("isotonic-smooth").fit(s, y)
    h = GRID[1] - GRID[0]
    slope = np.max(np.diff(smooth.y_) / np.diff(smooth.x_))
    jumps = np.abs(np.diff(smooth.predict(GRID)))
    assert jumps.max() <= slope * h + 1e-12  # Lipschitz: no jump between close scores
    # over any score window of width 0.01 it rises by little; sklearn's isotonic map (linear
    # between the two scores where a step happens) rises by a whole step
    w = round(0.01 / h)

    def rise(cal):
        return np.max(cal.predict(GRID[w:]) - cal.predict(GRID[:-w]))

    assert rise(smooth) < 0.05 and rise(Calibrator("isotonic").fit(s, y)) > 0.15
    # a reliability diagram of its outputs on the fitting scores has no empty bin inside its range
    from nescio.evaluate.metrics import reliability_bins

    counts = [b["count"] for b in reliability_bins(smooth.predict(s), y)]
    inside = counts[next(i for i, c in enumerate(counts) if c):len(counts) - next(i for i, c in enumerate(counts[::-1]) if c)]
    assert min(inside) > 0


def test_smooth_default_min_bin_and_too_few_examples():
    s, y = _data()
    cal = Calibrator("isotonic-smooth").fit(s, y)
    assert cal.min_bin is None and cal.counts_.min() >= default_min_bin(len(s)) == 18
    assert default_min_bin(20) == 10
    one = Calibrator("isotonic-smooth", min_bin=1000).fit(s, y)  # one block: the base rate everywhere
    assert one.counts_.tolist() == [len(s)]
    np.testing.assert_allclose(one.predict(GRID), y.mean())


def _va_brute(s, y, t):
    from sklearn.isotonic import IsotonicRegression

    out = []
    for label in (0, 1):
        iso = IsotonicRegression(out_of_bounds="clip").fit(np.append(s, t), np.append(y, label).astype(float))
        out.append(iso.predict([t])[0])
    return out


@pytest.mark.parametrize("ties", [False, True])
def test_venn_abers_matches_refitting_isotonic_with_the_test_point(ties):
    s, y = _data(n=120, seed=4, ties=ties)
    cal = Calibrator("venn-abers").fit(s, y)
    # below, above, between and exactly on calibration scores (ties included)
    tests = np.concatenate([[-1.0, s.min(), s.max(), 2.0], s[:15], (np.sort(s)[:-1] + np.sort(s)[1:])[::9] / 2])
    p0, p1 = cal.predict_interval(tests)
    for t, a, b in zip(tests, p0, p1):
        np.testing.assert_allclose([a, b], _va_brute(s, y, t), atol=1e-12)
    p = cal.predict(tests)
    assert np.all((p0 <= p + 1e-12) & (p <= p1 + 1e-12)) and np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p, p1 / (1 - p0 + p1))
    with pytest.raises(NescioError, match="venn-abers"):
        Calibrator("isotonic").fit(s, y).predict_interval(tests)


def _roundtrip(cal, tmp_path):
    from nescio.artifacts import read_artifact, write_artifact

    meta, arrays = cal.state()
    write_artifact(tmp_path, "cal", artifact="calibrator-test", version=1, meta=meta, arrays=arrays)
    meta2, arrays2 = read_artifact(tmp_path, "cal", artifact="calibrator-test", version=1)
    return Calibrator.from_state(meta2, arrays2)


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
def test_save_load_is_bit_identical_through_the_artifact_protocol(method, tmp_path):
    s, y = _data(seed=5)
    cal = Calibrator(method, min_bin=12 if method == "isotonic-smooth" else None).fit(s, y)
    back = _roundtrip(cal, tmp_path)
    assert back.get_params() == cal.get_params()
    x = np.concatenate([GRID, s])
    np.testing.assert_array_equal(back.predict(x), cal.predict(x))
    meta, arrays = cal.state()
    meta2, arrays2 = back.state()
    assert meta2 == meta and arrays2.keys() == arrays.keys()
    for k in arrays:
        np.testing.assert_array_equal(arrays2[k], arrays[k])
        assert arrays2[k].dtype == arrays[k].dtype


def test_old_methods_save_what_they_always_saved():
    s, y = _data()
    assert Calibrator("isotonic").fit(s, y).state()[0] == {"method": "isotonic"}
    assert set(Calibrator("isotonic").fit(s, y).state()[1]) == {"x", "y"}
    meta, arrays = Calibrator("platt").fit(s, y).state()
    assert set(meta) == {"method", "coef", "intercept"} and arrays == {}
    # a state written before min_bin existed still loads
    old = Calibrator.from_state({"method": "isotonic"}, {"x": np.array([0.0, 1.0]), "y": np.array([0.2, 0.8])})
    assert old.min_bin is None and old.predict(np.array([0.5]))[0] == pytest.approx(0.5)


def test_params_round_trip():
    from nescio.params import from_params

    for method in CALIBRATION_METHODS:
        cal = Calibrator(method, min_bin=7)
        params = cal.get_params()
        assert params == {"method": method, "min_bin": 7} and from_params(Calibrator, params).get_params() == params
    with pytest.raises(NescioError, match="no parameter"):
        Calibrator().set_params(bins=3)


@pytest.mark.parametrize("method", ["nope", "Isotonic", "", None, 3])
def test_unknown_method_is_a_one_line_error(method):
    s, y = _data(n=40)
    with pytest.raises(NescioError, match="unknown calibration method") as exc:
        Calibrator(method).fit(s, y)
    msg = str(exc.value)
    assert "\n" not in msg and all(m in msg for m in CALIBRATION_METHODS)


@pytest.mark.parametrize("min_bin", [0, -3, 2.5, True, "10"])
def test_bad_min_bin_is_a_one_line_error(min_bin):
    s, y = _data(n=40)
    with pytest.raises(NescioError, match="min_bin must be a positive integer") as exc:
        Calibrator("isotonic-smooth", min_bin=min_bin).fit(s, y)
    assert "\n" not in str(exc.value)


def test_non_finite_scores_are_refused():
    s, y = _data(n=40)
    s[3] = np.nan
    for method in NEW:
        with pytest.raises(NescioError, match="finite"):
            Calibrator(method).fit(s, y)


def test_the_guard_and_eval_refuse_an_unknown_method_up_front(tmp_path):
    from nescio.evaluate import evaluate
    from nescio.policy.guard import Guard

    with pytest.raises(NescioError, match="unknown calibration method 'nope'"):
        Guard(calibrator="nope")._check_params()
    with pytest.raises(NescioError, match="unknown calibration method"):
        evaluate("smollm2-135m-instruct", "builtin", tmp_path, calibrator="nope")
    assert not any(tmp_path.iterdir())


def test_cli_eval_refuses_an_unknown_calibrator_in_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    nescio = str(Path(sys.executable).parent / "nescio")
    r = subprocess.run([nescio, "eval", "--calibrator", "smooth", "--out", str(tmp_path / "o")], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "unknown calibration method 'smooth'" in r.stderr and "isotonic-smooth" in r.stderr


# ------------------------------------------------------------------ through the guard
def _outcomes(gens, seed: int = 0):
    nll = np.array([-np.mean(g.token_logprobs) for g in gens])
    flip = np.random.default_rng(seed).uniform(size=len(nll)) < 0.15
    correct = (nll < np.median(nll)) ^ flip
    return [Outcome.CORRECT if c else Outcome.HALLUCINATED for c in correct]


@pytest.fixture(scope="module")
def gens(tiny):
    from nescio.models import generate
    from nescio.policy.guard import Guard

    qs = [Question(id=f"q{i}", text=f"Question {i}: what is item {i * 7 % 11} of list {i % 5}?", answers=("x",))
          for i in range(90)]
    config = Guard(signals=CHEAP, use_precheck=False, max_new_tokens=4).generation_config()
    return generate(tiny, qs, config, progress=False)


@pytest.mark.parametrize("method", NEW)
def test_guard_fits_saves_and_reloads_with_the_new_methods(method, gens, tmp_path):
    from nescio.policy.guard import Guard

    oc = _outcomes(gens)
    guard = Guard(alpha=0.4, delta=0.2, signals=CHEAP, use_precheck=False, calibrator=method, max_new_tokens=4)
    guard.fit(gens[:40], oc[:40], gens[40:80], oc[40:80])
    assert guard.detector_.calibrator_.method == method == guard.detector_.calibration
    d = guard.decide(gens[80:])
    back = Guard.load(guard.save(tmp_path / "g"))
    assert back.calibrator == method
    np.testing.assert_array_equal(back.decide(gens[80:]).p_correct, d.p_correct)
    assert np.all(np.diff(d.p_correct[np.argsort(d.scores)]) >= -1e-12)


def test_recalibrate_can_switch_the_method(gens):
    from nescio.policy.guard import Guard
    from nescio.policy.recalibration import recalibrate

    oc = _outcomes(gens)
    guard = Guard(alpha=0.4, delta=0.2, signals=CHEAP, use_precheck=False, calibrator="isotonic", max_new_tokens=4)
    guard.fit(gens[:40], oc[:40], gens[40:80], oc[40:80])
    new = recalibrate(guard, gens[40:], oc[40:], calibrator="isotonic-smooth", require_certifiable=False)
    assert new.calibrator == new.detector_.calibration == new.detector_.calibrator_.method == "isotonic-smooth"
    assert guard.calibrator == guard.detector_.calibrator_.method == "isotonic"  # the original is untouched
    with pytest.raises(NescioError, match="unknown calibration method"):
        recalibrate(guard, gens[40:], oc[40:], calibrator="smooth", require_certifiable=False)


# ------------------------------------------------------------------ benchmarks/calibrators.py
def _bench_module():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "calibrators.py"
    if str(path.parent) not in sys.path:  # its sibling benchmarks/harness.py, as running the script finds it
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("bench_calibrators", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _grade_by_nll(gens):
    """Deterministic synthetic grades that follow a cheap signal (the tiny model knows nothing)."""
    import hashlib

    out = []
    for g in gens:
        nll = -np.mean(g.token_logprobs) if g.token_logprobs else 9.0
        flip = int(hashlib.sha256(g.question.id.encode()).hexdigest()[:4], 16) % 5 == 0
        if g.question.id.endswith("7"):
            out.append(Outcome.ABSTAINED)
        else:
            out.append(Outcome.CORRECT if (nll < 5.55) != flip else Outcome.HALLUCINATED)
    return out


def test_benchmark_rebuilds_the_calibration_split_of_an_eval_directory(tiny, tmp_path, monkeypatch):
    import json

    from nescio.evaluate import evaluate
    from nescio.evaluate import run as run_mod

    monkeypatch.setattr(run_mod, "grade_outcomes", _grade_by_nll)
    bench = tmp_path / "bench.jsonl"
    with bench.open("w") as f:
        for i in range(120):
            f.write(json.dumps({"id": f"q{i}", "question": f"What is thing {i} in set {i % 7}?", "answers": ["x"]}) + "\n")
    out = tmp_path / "run"
    res = evaluate(tiny, f"jsonl:{bench}", out, alpha=0.4, delta=0.2, signals=list(CHEAP), max_new_tokens=6,
                   progress=False, precheck=False, calibrator="isotonic-smooth")
    mod = _bench_module()
    data = mod.load_eval_scores(out, grade=_grade_by_nll)
    c = data["checks"]
    assert c["n_calibration_rebuilt"] == c["n_calibration_results"] == res.n_calibration
    assert c["reproduces_guard_calibrator"] and data["source"]["guard_calibrator"] == "isotonic-smooth"
    assert c["test_regrading_agrees"] == c["n_test"] == res.n
    (cs, cy), (ts, ty) = data["calibration"], data["test"]
    assert 0 < len(cs) < res.n_calibration and 0 < cy.sum() < len(cy)  # the model's abstentions left out
    assert len(ts) == sum(r.outcome is not Outcome.ABSTAINED for r in res.records)
    np.testing.assert_allclose(ts, [r.score for r in res.records if r.outcome is not Outcome.ABSTAINED], atol=1e-6)
    r = mod.compare(cs, cy, ts, ty, repeats=2)
    assert set(r["methods"]) == {mod.method_key(m, k) for m, k in mod.METHODS} and r["folds"] == 4
    for e in r["methods"].values():
        assert set(e["cv"]) == set(e["test"]) and len(e["test_reliability"]) == mod.N_BINS
    assert r["selection"]["chosen"] in r["methods"]


def test_benchmark_synthetic_run_and_selection(tmp_path):
    import json

    mod = _bench_module()
    out = tmp_path / "calibrators.json"
    r = mod.main(["--synthetic", "120", "--repeats", "3", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert list(saved["runs"]) == ["synthetic:120"] and saved["runs"]["synthetic:120"]["selection"] == r["selection"]
    assert r["methods"]["isotonic-smooth"]["cv"]["holes"]["mean"] == 0  # continuous: no holes on held-out halves
    # the choice: lowest Brier, ties (within one standard error) to fewer holes, then the default
    fake = {k: {"cv": {"brier": {"mean": b, "sd": 0.0}, "holes": {"mean": h}}}
            for k, b, h in (("isotonic", 0.20, 1.0), ("platt", 0.21, 0.0), ("isotonic-smooth", 0.20, 0.0))}
    assert mod.choose(fake, 10)["chosen"] == "isotonic-smooth"
    assert mod.choose(fake, 10)["at_least_as_good_as_default"] == ["isotonic-smooth"]
    fake["isotonic"]["cv"]["holes"]["mean"] = 0.0
    assert mod.choose(fake, 10)["chosen"] == "isotonic" and mod.choose(fake, 10)["default_at_least_as_good"]


def test_the_guard_default_is_the_smooth_calibrator_and_decisions_do_not_depend_on_it(gens):
    """The default calibrator (chosen by benchmarks/calibrators.py) only changes P(correct):
    thresholds are certified on the raw score, so the actions are those of plain isotonic."""
    from nescio.policy.calibrate import DEFAULT_CALIBRATOR
    from nescio.policy.guard import Guard

    oc = _outcomes(gens)
    assert Guard().calibrator == DEFAULT_CALIBRATOR == "isotonic-smooth"
    fitted = {m: Guard(alpha=0.4, delta=0.2, signals=CHEAP, use_precheck=False, calibrator=m, max_new_tokens=4)
              .fit(gens[:40], oc[:40], gens[40:80], oc[40:80]) for m in ("isotonic", DEFAULT_CALIBRATOR)}
    a, b = (fitted[m].decide(gens[80:]) for m in ("isotonic", DEFAULT_CALIBRATOR))
    assert a.actions == b.actions and np.array_equal(a.scores, b.scores)
    assert fitted[DEFAULT_CALIBRATOR].detector_.calibrator_.method == "isotonic-smooth"
