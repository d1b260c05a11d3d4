"""The membership-testing bounds against closed forms, limiting cases, a numerical optimiser and a real Bloom filter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nescio.theory import analytic as A
from nescio.theory.bloom import BloomFilter, check_bloom_filter, optimal_num_hashes, predicted_false_positive_rate
from nescio.types import NescioError


def test_bernoulli_kl_matches_hand_formula():
    a, b = 0.9, 0.05
    expected = a * math.log2(a / b) + (1 - a) * math.log2((1 - a) / (1 - b))
    assert A.bernoulli_kl_bits(a, b) == pytest.approx(expected, rel=1e-12)
    assert A.bernoulli_kl_bits(0.3, 0.3) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("eps_n", [0.5, 0.1, 0.01, 1e-4])
def test_bloom_rate_at_zero_false_negatives_is_log2_inverse_fpr(eps_n):
    assert A.bloom_rate(0.0, eps_n) == pytest.approx(math.log2(1 / eps_n), rel=1e-12)
    # ε_K → 0 is continuous
    assert A.bloom_rate(1e-9, eps_n) == pytest.approx(math.log2(1 / eps_n), rel=1e-6)


def test_bloom_rate_monotone_and_zero_when_trivial():
    rates = [A.bloom_rate(0.1, e) for e in (0.5, 0.2, 0.05, 0.01)]
    assert all(x < y for x, y in zip(rates, rates[1:]))
    assert A.bloom_rate(0.5, 0.5) == 0.0  # a coin flip meets FN = FP = 0.5 with no memory
    assert A.bloom_rate(0.3, 0.8) == 0.0


@pytest.mark.parametrize("bits", [0.5, 1.0, 3.0, 8.0])
@pytest.mark.parametrize("fn", [0.0, 0.05, 0.3])
def test_bloom_frontier_inverts_the_rate(bits, fn):
    fp = A.bloom_false_positive_at_budget(bits, fn)
    assert 0 < fp <= 1 - fn
    assert A.bloom_rate(fn, fp) == pytest.approx(bits, rel=1e-6)


def test_bloom_frontier_trades_false_positives_for_false_negatives():
    fn = np.array([0.0, 0.05, 0.2, 0.5, 0.8])
    fp = A.bloom_frontier(4.0, fn)
    assert fp[0] == pytest.approx(2**-4)
    assert np.all(np.diff(fp) < 0)  # fewer false positives only by refusing more true facts
    assert np.all(A.bloom_frontier(8.0, fn) < fp)  # more bits move the whole frontier down


def test_logloss_feasibility_condition():
    assert A.logloss_feasible(0.1, 0.1)  # e^-0.1 + e^-0.1 > 1
    assert not A.logloss_feasible(math.log(2), math.log(2))  # = 1: a constant 0.5 does it
    assert not A.logloss_feasible(1.0, 1.0)
    opt = A.logloss_optimum(1.0, 1.0)
    assert opt.q_star == 1.0 and opt.bits_per_fact == 0.0 and not opt.memory_needed


@pytest.mark.parametrize("eps_k,eps_n", [(0.1, 0.05), (0.3, 0.2), (0.05, 0.5), (0.5, 0.01), (0.01, 0.001)])
def test_logloss_optimum_closed_form(eps_k, eps_n):
    opt = A.logloss_optimum(eps_k, eps_n)
    x = math.exp(-eps_k)
    assert opt.x_star == pytest.approx(x)
    assert opt.q_star == pytest.approx(eps_n / -math.log(1 - x))
    assert 0 < opt.q_star <= 1
    assert opt.bits_per_fact == pytest.approx(math.log2(1 / opt.q_star))
    # the optimum meets both loss targets exactly, and its KL is the rate
    mu_k, mu_n = np.array([0.0, 1.0]), np.array([1 - opt.q_star, opt.q_star])
    assert opt.q_star * -math.log(1 - x) == pytest.approx(eps_n)
    assert A.kl_bits(mu_k, mu_n) == pytest.approx(opt.bits_per_fact)
    assert A.hallucination_share_at_budget(opt.bits_per_fact) == pytest.approx(opt.q_star)


def test_logloss_limits():
    # ε_K → 0: facts scored 1 with certainty, so no non-fact may share their score
    assert A.logloss_optimum(0.0, 0.1).q_star == 0.0
    assert math.isinf(A.logloss_rate(0.0, 0.1))
    assert A.logloss_rate(1e-6, 0.1) > A.logloss_rate(1e-3, 0.1) > A.logloss_rate(0.1, 0.1)
    # q* → 1 at the feasibility boundary
    ek = 0.3
    en_edge = -math.log(1 - math.exp(-ek))
    assert A.logloss_optimum(ek, en_edge * (1 - 1e-9)).q_star == pytest.approx(1.0, rel=1e-6)


def test_logloss_frontier_trades_fact_loss_for_nonfact_loss():
    ek = np.array([0.01, 0.1, 0.5, 1.0])
    en = A.logloss_frontier(3.0, ek)
    assert np.all(np.diff(en) < 0)
    for e_k, e_n in zip(ek, en):
        assert A.logloss_rate(float(e_k), float(e_n)) == pytest.approx(3.0)


@pytest.mark.parametrize("eps_k,eps_n", [(0.1, 0.05), (0.3, 0.2), (0.5, 0.01)])
def test_numerical_optimum_confirms_closed_form(eps_k, eps_n):
    """SLSQP over discretised score distributions lands on the closed form's rate and shape."""
    exact = A.logloss_optimum(eps_k, eps_n)
    bits_grid, _, _, _ = A.numerical_min_rate(eps_k, eps_n, restarts=1)  # x* not on the grid: at or above
    assert exact.bits_per_fact - 1e-3 <= bits_grid <= exact.bits_per_fact + 0.05
    bits, grid, mu_k, mu_n = A.numerical_min_rate(eps_k, eps_n, include_x_star=True, restarts=1)
    assert bits == pytest.approx(exact.bits_per_fact, abs=5e-3)
    near = np.abs(grid - exact.x_star) < 0.03
    assert mu_k[near].sum() > 0.95  # facts all at (or right next to) x*
    assert mu_n[0] == pytest.approx(1 - exact.q_star, abs=0.01)  # the rest of the non-facts at 0
    assert mu_n[near].sum() == pytest.approx(exact.q_star, rel=0.1)  # a share q* at the facts' score
    assert mu_n[(grid > 0) & ~near].sum() < 0.01  # an empty middle


def test_effective_bits_and_bad_input():
    assert A.effective_bits_per_fact(0.0, 0.25) == pytest.approx(2.0)
    with pytest.raises(NescioError):
        A.bloom_rate(1.5, 0.1)
    with pytest.raises(NescioError):
        A.hallucination_share_at_budget(-1)
    with pytest.raises(NescioError):
        A.logloss_optimum(-0.1, 0.1)


def test_bloom_filter_has_no_false_negatives():
    keys = [i.to_bytes(4, "little") for i in range(1000)]
    bloom = BloomFilter(num_bits=8000, num_hashes=optimal_num_hashes(8)).add(keys)
    assert bloom.contains(keys).all()


@pytest.mark.parametrize("bits_per_key", [4, 8, 12])
def test_bloom_filter_matches_prediction_and_sits_above_the_bound(bits_per_key):
    check = check_bloom_filter(bits_per_key, num_keys=20_000, num_queries=200_000, seed=1)
    assert check.false_negatives == 0
    assert check.fpr_predicted == pytest.approx(predicted_false_positive_rate(bits_per_key, check.num_hashes))
    assert abs(check.z) < 4.0  # within sampling error of (1 - e^(-kn/m))^k
    assert check.fpr_measured > check.fpr_bound  # no filter beats 2^-(bits per key) ...
    assert 1.35 < check.space_ratio < 1.55  # ... and a standard Bloom filter needs ≈ 1/ln 2 ≈ 1.44x the bound's space
