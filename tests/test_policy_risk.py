"""Risk control, calibration, detector and scoring on synthetic scores with known correctness."""

from __future__ import annotations

import numpy as np
import pytest

from nescio.policy.calibrate import Calibrator
from nescio.policy.detector import Detector
from nescio.policy.risk import RiskController, binomial_p_value, clopper_pearson_upper, counts_by_threshold
from nescio.policy.scoring import ABSTAIN, ANSWER, HEDGE, BandPolicy, confidence_target_score, tally
from nescio.types import NescioError


def synthetic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scores in [0, 1]; P(correct | s) = s**0.3, so risk falls as the threshold rises."""
    s = rng.uniform(size=n)
    correct = rng.uniform(size=n) < s**0.3
    return s, ~correct


def population_risk(lam: float) -> float:
    """True hallucination rate among s ≥ λ for the synthetic model: 1 − E[s^0.3 | s ≥ λ]."""
    return 0.0 if lam >= 1 else 1 - (1 - lam**1.3) / (1.3 * (1 - lam))


def test_risk_control_holds_over_200_random_splits():
    rng = np.random.default_rng(0)
    alpha, delta = 0.1, 0.1
    violations, population_violations, coverages = 0, 0, []
    for _ in range(200):
        s, bad = synthetic(3000, rng)
        idx = rng.permutation(len(s))
        cal, test = idx[:600], idx[600:]
        rc = RiskController(alpha, delta).fit(s[cal], bad[cal])
        answered = s[test] >= rc.threshold_
        risk = bad[test][answered].mean() if answered.any() else 0.0
        violations += risk > alpha
        population_violations += np.isfinite(rc.threshold_) and population_risk(rc.threshold_) > alpha
        coverages.append(answered.mean())
    # the guarantee: the chosen threshold's true risk exceeds alpha with probability <= delta
    assert population_violations / 200 <= delta
    # on a finite test split the realised risk adds its own sampling noise
    assert violations / 200 <= delta + 0.05
    assert np.mean(coverages) > 0.2  # not trivially abstaining on everything


def test_naive_threshold_violates_more_often():
    """Picking the threshold where empirical calibration risk ≤ α (no bound) fails often."""
    rng = np.random.default_rng(1)
    naive = 0
    for _ in range(200):
        s, bad = synthetic(1200, rng)
        idx = rng.permutation(len(s))
        cal, test = idx[:600], idx[600:]
        grid = np.linspace(1, 0, 401)
        n, k = counts_by_threshold(s[cal], bad[cal], grid)
        ok = (n > 0) & (k <= 0.1 * n)
        lam = grid[np.where(ok)[0].max()]
        answered = s[test] >= lam
        naive += bad[test][answered].mean() > 0.1
    assert naive / 200 > 0.2


def test_clopper_pearson_matches_binomial_test():
    for k, n in [(0, 10), (3, 50), (10, 100), (50, 50)]:
        ub = clopper_pearson_upper(k, n, 0.1)
        assert (binomial_p_value(k, n, float(ub) + 1e-6) <= 0.1 + 1e-9) or ub >= 1.0
    assert clopper_pearson_upper(0, 0, 0.1) == 1.0
    assert clopper_pearson_upper(0, 100, 0.05) == pytest.approx(1 - 0.05 ** (1 / 100), rel=1e-6)


def test_risk_controller_abstains_when_nothing_certified():
    rc = RiskController(0.05, 0.1).fit(np.linspace(0, 1, 30), np.ones(30, dtype=bool))
    assert not rc.certified_ and rc.answer_mask(np.array([1.0])).sum() == 0


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "x", float("nan")])
def test_invalid_alpha(alpha):
    with pytest.raises(NescioError, match="alpha"):
        RiskController(alpha, 0.1).fit(np.array([0.5, 0.6]), np.array([True, False]))


def test_calibrators_are_monotone_and_roundtrip():
    rng = np.random.default_rng(2)
    s, bad = synthetic(800, rng)
    for method in ("isotonic", "platt"):
        cal = Calibrator(method).fit(s, ~bad)
        p = cal.predict(np.linspace(0, 1, 50))
        assert np.all(np.diff(p) >= -1e-12) and p.min() >= 0 and p.max() <= 1
        # isotonic on s with P(correct|s)=s**0.3 recovers the curve roughly
        assert abs(cal.predict(np.array([0.5]))[0] - 0.5**0.3) < 0.12
        again = Calibrator.from_state(*cal.state())
        np.testing.assert_array_equal(again.predict(s), cal.predict(s))


@pytest.mark.parametrize("kind", ["logistic", "boosting"])
def test_detector_nan_safe_and_roundtrip(kind):
    rng = np.random.default_rng(3)
    n = 600
    correct = rng.uniform(size=n) < 0.5
    X = np.column_stack([rng.normal(size=n) - 1.5 * correct, rng.normal(size=n), rng.normal(size=n) - correct])
    X[rng.uniform(size=n) < 0.2, 2] = np.nan
    det = Detector(("a", "b", "c"), kind=kind).fit(X[:300], correct[:300]).fit_calibration(X[300:], correct[300:])
    p = det.predict_proba(X)
    assert np.isfinite(p).all()
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(correct[300:], det.raw_score(X[300:])) > 0.75
    meta, arrays = det.state()
    again = Detector.from_state(meta, arrays)
    np.testing.assert_array_equal(again.predict_proba(X), p)


def test_band_policy_and_tally():
    policy = BandPolicy(threshold=0.8, floor=0.5)
    acts = policy.actions(np.array([0.9, 0.6, 0.2, 0.85]))
    assert list(acts) == [ANSWER, HEDGE, ABSTAIN, ANSWER]
    assert policy.render(HEDGE, "Paris").startswith("I'm not sure, but it may be")
    t = tally(acts, np.array(["correct", "correct", "correct", "hallucinated"], dtype=object))
    assert t.answered == 0.5 and t.hedged == 0.25 and t.realised_risk == 0.5
    assert t.kept == pytest.approx(1 / 3)
    assert (t.n, t.n_answered, t.n_correct, t.n_hallucinated, t.n_hedged, t.n_abstained) == (4, 2, 1, 1, 1, 1)


def test_tally_counts_and_their_json_shares():
    """A Tally holds counts; to_json gives the shares results files carry, under the same keys in the
    same order (NaN where not measurable); a misspelt action or outcome is an error."""
    from nescio.policy.scoring import raw_tally
    from nescio.types import Outcome

    acts = [ANSWER, ANSWER, HEDGE, HEDGE, ABSTAIN, ANSWER]
    oc = [Outcome.CORRECT, Outcome.HALLUCINATED, Outcome.CORRECT, Outcome.HALLUCINATED, Outcome.CORRECT,
          Outcome.ABSTAINED]  # the last: passed through, but the model abstained itself
    t = tally(np.array(acts, dtype=object), np.array(oc, dtype=object))
    assert (t.n_answered, t.n_hedged, t.n_abstained, t.n_raw_correct) == (2, 2, 2, 3)
    j = t.to_json()
    assert list(j) == ["n", "answered", "correct", "hallucinated", "abstained", "hedged", "hedged_correct",
                       "hedged_hallucinated", "kept", "kept_incl_hedged", "realised_risk", "hedged_risk"]
    assert j == {"n": 6, "answered": 2 / 6, "correct": 1 / 6, "hallucinated": 1 / 6, "abstained": 2 / 6,
                 "hedged": 2 / 6, "hedged_correct": 1 / 6, "hedged_hallucinated": 1 / 6, "kept": 1 / 3,
                 "kept_incl_hedged": 2 / 3, "realised_risk": 0.5, "hedged_risk": 0.5}
    none = tally(np.array([ABSTAIN], dtype=object), np.array([Outcome.HALLUCINATED], dtype=object)).to_json()
    assert np.isnan(none["kept"]) and np.isnan(none["realised_risk"]) and np.isnan(none["hedged_risk"])
    r = raw_tally(np.array(oc, dtype=object))
    assert (r.n, r.n_correct, r.n_hallucinated, r.n_abstained) == (6, 3, 2, 1)
    assert r.to_json() == {"n": 6, "correct": 0.5, "hallucinated": 2 / 6, "abstained": 1 / 6, "risk": 0.4}
    assert raw_tally(np.array([], dtype=object)).to_json() == {"n": 0, "correct": 0.0, "hallucinated": 0.0,
                                                                "abstained": 0.0, "risk": 0.0}
    with pytest.raises(NescioError, match="unknown outcome 'corect'"):
        tally(np.array(["answer"], dtype=object), np.array(["corect"], dtype=object))


def test_confidence_target_score():
    p = np.array([0.9, 0.9, 0.2])
    correct = np.array([True, False, False])
    # t = 0.5: answer first two: +1 - 1 + 0
    assert confidence_target_score(p, correct, 0.5) == pytest.approx(0.0)
    assert confidence_target_score(p, correct, 0.95) == 0.0
    with pytest.raises(NescioError):
        confidence_target_score(p, correct, 1.0)


def test_certified_frontier_is_monotone_and_matches_the_counts():
    """Looser certified levels never have a higher threshold nor fewer calibration answers, each
    row's upper bound is ≤ its α, and the counts are the calibration answers clearing it."""
    from nescio.policy.risk import RiskPolicy

    rng = np.random.default_rng(3)
    seen_rows = 0
    for n in (150, 400, 1500):
        for _ in range(15):
            s, bad = synthetic(n, rng)
            pol = RiskPolicy(0.1, 0.1, hedge_alpha=0.3).fit(s, bad)
            rows = pol.frontier()
            seen_rows += len(rows)
            alphas = [r.alpha for r in rows]
            assert alphas == sorted(alphas)
            assert all(np.isfinite(r.threshold) for r in rows)
            assert np.all(np.diff([r.threshold for r in rows]) <= 0)
            assert np.all(np.diff([r.calibration_answered for r in rows]) >= 0)
            for r in rows:
                assert list(r.to_json()) == ["alpha", "threshold", "calibration_answered", "calibration_hallucinated",
                                             "calibration_risk_upper_bound"]
                assert r.calibration_risk_upper_bound <= r.alpha + 1e-12
                assert r.calibration_answered == int((s >= r.threshold).sum())
                assert r.calibration_hallucinated == int(bad[s >= r.threshold].sum())
            if pol.tightest_alpha_ is not None and rows:
                assert rows[0].alpha >= pol.tightest_alpha_
    assert seen_rows > 0
    with pytest.raises(NescioError, match="not fitted"):
        RiskPolicy().frontier()
