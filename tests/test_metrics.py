"""Worked examples for nescio.evaluate.metrics."""

import math

import numpy as np
import pytest

from nescio.evaluate.metrics import auroc, aurc, ece, prr, reliability_bins, risk_at_coverage, risk_coverage_curve
from nescio.types import NescioError


def _lm_polygraph_prr_area(estimator, target):
    """LM-Polygraph's PredictionRejectionArea.__call__, transcribed as the reference."""
    target = np.asarray(target, dtype=float)
    lo, hi = target.min(), target.max()
    if np.isclose(lo, hi):
        lo, hi = lo - 1, hi + 1
    target = (target - lo) / (hi - lo)
    ue = np.array(estimator)
    order = np.argsort(ue)
    sorted_metrics = target[order]
    scores = (np.cumsum(sorted_metrics) / np.arange(1, len(ue) + 1))[::-1]
    return np.sum(scores) / len(ue)


def test_auroc_worked_example_and_ties():
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert auroc([0.5, 0.5], [0, 1]) == pytest.approx(0.5)
    assert auroc([0.9, 0.1], [0, 1]) == pytest.approx(0.0)


def test_auroc_drops_nan_and_one_class_is_nan():
    assert auroc([0.1, np.nan, 0.9], [0, 0, 1]) == pytest.approx(1.0)
    assert math.isnan(auroc([0.1, 0.2], [1, 1]))


def test_prr_oracle_is_one_and_reverse_is_minus_one():
    quality = np.array([1, 1, 0, 1, 0, 0, 1, 0])
    assert prr(1 - quality + 0.01 * np.arange(8), quality) == pytest.approx(1.0)
    assert prr(quality, quality) == pytest.approx(-1.0)


def test_prr_random_order_is_near_zero():
    rng = np.random.default_rng(0)
    quality = (rng.random(4000) < 0.6).astype(float)
    values = [prr(rng.random(quality.size), quality) for _ in range(20)]
    assert abs(np.mean(values)) < 0.03


def test_prr_worked_example_by_hand():
    # quality by ascending risk: 1, 0, 1, 0. Kept means for k=4..1: 2/4, 2/3, 1/2, 1 -> area = (0.5+2/3+0.5+1)/4
    # oracle: 1,1,0,0 -> 2/4, 2/3, 1, 1 -> area = (0.5+2/3+1+1)/4; random = mean quality = 0.5
    area = (0.5 + 2 / 3 + 0.5 + 1) / 4
    oracle = (0.5 + 2 / 3 + 1 + 1) / 4
    expected = (area - 0.5) / (oracle - 0.5)
    assert prr([0.1, 0.2, 0.3, 0.4], [1, 0, 1, 0]) == pytest.approx(expected)


def test_prr_matches_lm_polygraph_with_exact_random_baseline():
    rng = np.random.default_rng(1)
    quality = (rng.random(300) < 0.4).astype(float)
    risk = rng.random(300) - 0.5 * quality
    signal = _lm_polygraph_prr_area(risk, quality)
    oracle = _lm_polygraph_prr_area(-quality, quality)
    # LM-Polygraph's random baseline: mean area over shuffles of a permutation
    perm = np.arange(quality.size)
    shuffled = []
    for _ in range(300):
        rng.shuffle(perm)
        shuffled.append(_lm_polygraph_prr_area(perm.copy(), quality))
    random = np.mean(shuffled)
    assert random == pytest.approx(quality.mean(), abs=0.01)
    assert prr(risk, quality) == pytest.approx((signal - random) / (oracle - random), abs=0.03)
    assert prr(risk, quality) == pytest.approx((signal - quality.mean()) / (oracle - quality.mean()), rel=1e-12)


def test_prr_all_one_quality_is_nan():
    assert math.isnan(prr([0.1, 0.2, 0.3], [1, 1, 1]))


def test_aurc_and_risk_at_coverage():
    assert aurc([0.1, 0.9], [0, 1]) == pytest.approx(0.25)
    assert aurc([0.9, 0.1], [0, 1]) == pytest.approx(0.75)
    assert risk_at_coverage([0.1, 0.2, 0.3, 0.9], [0, 1, 0, 1], 0.5) == pytest.approx(0.5)
    assert risk_at_coverage([0.1, 0.2, 0.3, 0.9], [0, 1, 0, 1], 1.0) == pytest.approx(0.5)
    cov, sel = risk_coverage_curve([0.3, 0.1, 0.2], [1, 0, 0])
    np.testing.assert_allclose(cov, [1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(sel, [0, 0, 1 / 3])
    with pytest.raises(NescioError):
        risk_at_coverage([0.1], [0], 0.0)


def test_ece_worked_example_and_perfect_calibration():
    assert ece([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0]) == pytest.approx(0.25)
    assert ece([1.0, 1.0, 0.0], [1, 1, 0]) == pytest.approx(0.0)
    bins = reliability_bins([0.05, 0.95, 1.0], [0, 1, 1], n_bins=10)
    assert [b["count"] for b in bins] == [1] + [0] * 8 + [2]
    assert bins[9]["accuracy"] == 1.0 and bins[9]["mean_confidence"] == pytest.approx(0.975)
    with pytest.raises(NescioError):
        ece([1.2], [1])


def test_length_mismatch_is_a_nescio_error():
    with pytest.raises(NescioError):
        auroc([0.1, 0.2], [1])


def test_oracle_threshold_keeps_the_most_correct_within_alpha_and_never_splits_ties():
    from nescio.evaluate.metrics import oracle_threshold

    # 10 correct on top, then a tie of one correct and one wrong, then wrong answers
    s = np.r_[np.linspace(1.0, 0.9, 10), 0.5, 0.5, np.linspace(0.4, 0.0, 5)]
    good = np.r_[np.ones(10), 1, 0, np.zeros(5)].astype(bool)
    bad = ~good
    assert oracle_threshold(s, good, bad, 0.1) == {"correct_n": 11, "hallucinated_n": 1, "answered_n": 12}
    assert oracle_threshold(s, good, bad, 0.05) == {"correct_n": 10, "hallucinated_n": 0, "answered_n": 10}
    # the tie cannot be split: with the wrong answer first in input order it is still all or nothing
    s2, g2 = s.copy(), good.copy()
    g2[10], g2[11] = False, True
    assert oracle_threshold(s2, g2, ~g2, 0.05)["answered_n"] == 10
    # not-counted answers (both masks False) are skipped; nothing qualifies → zeros
    assert oracle_threshold([0.9, 0.8], [False, False], [True, True], 0.1) == {"correct_n": 0, "hallucinated_n": 0,
                                                                            "answered_n": 0}
