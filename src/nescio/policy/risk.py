"""Thresholds with a stated hallucination rate: Clopper–Pearson bounds and Learn-then-Test.

The guard answers a question when its detector score ``s`` (higher = more likely
correct) is at least a threshold ``λ``. Among answered questions the *risk* is the
share that are hallucinated. :class:`RiskController` picks, on a calibration split,
the lowest ``λ`` (= the largest coverage) for which the risk is certified ≤ ``alpha``
with probability ≥ ``1 - delta``.

Validity across the whole threshold grid comes from Learn-then-Test (Angelopoulos et
al. 2021) with fixed-sequence testing: the grid is fixed *before* looking at the
calibration data and ordered from strictest (few answers) to loosest; for each ``λ``
the null hypothesis ``H_λ: risk(λ) > alpha`` is tested with the exact binomial p-value
``P(Binomial(n_λ, alpha) ≤ k_λ)`` (equivalently: the one-sided Clopper–Pearson upper
bound at level ``1 - delta`` is ≤ ``alpha``); testing stops at the first ``λ`` whose
null is not rejected at level ``delta``. The family-wise error is ≤ ``delta``, so the
chosen threshold's risk on new exchangeable data is ≤ ``alpha`` with probability
≥ ``1 - delta`` (for the population risk; a finite test set adds its own sampling noise).
Grid points answering fewer than ``ceil(log δ / log(1 − α))`` questions cannot be
certified even with zero errors; the sequence starts after them (a data-dependent start
that the 200-split test in ``tests/test_policy_risk.py`` checks empirically).
"""

from __future__ import annotations

import numpy as np

from nescio.types import NescioError

DEFAULT_GRID = np.round(np.linspace(1.0, 0.0, 401), 6)
"""Fixed threshold grid on a score in [0, 1], strictest first (step 0.0025)."""


def check_level(name: str, value: float) -> float:
    """Validate a probability level such as ``alpha`` or ``delta`` (0 < value < 1)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise NescioError(f"{name} must be a number strictly between 0 and 1, got {value!r}") from None
    if not 0.0 < value < 1.0 or not np.isfinite(value):
        raise NescioError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return value


def clopper_pearson_upper(k: int | np.ndarray, n: int | np.ndarray, delta: float) -> np.ndarray:
    """One-sided (1 - delta) Clopper–Pearson upper bound on a binomial rate, k errors in n.

    Returns 1.0 where ``n == 0`` (nothing observed certifies nothing).
    """
    from scipy.stats import beta

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = np.where(k >= n, 1.0, beta.ppf(1.0 - delta, k + 1.0, np.maximum(n - k, 1e-12)))
    return np.where(n <= 0, 1.0, upper)


def binomial_p_value(k: int | np.ndarray, n: int | np.ndarray, alpha: float) -> np.ndarray:
    """Exact p-value of ``H0: rate > alpha`` after seeing k errors in n: ``P(Bin(n, alpha) ≤ k)``.

    ``p ≤ delta`` ⇔ the Clopper–Pearson upper bound at level ``1 - delta`` is ≤ ``alpha``.
    Returns 1.0 where ``n == 0``.
    """
    from scipy.stats import binom

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    return np.where(n <= 0, 1.0, binom.cdf(k, np.maximum(n, 0), alpha))


def counts_by_threshold(scores: np.ndarray, hallucinated: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each threshold λ in ``grid``: (answered count n_λ, hallucinated count k_λ) with score ≥ λ."""
    scores = np.asarray(scores, dtype=float)
    hallucinated = np.asarray(hallucinated, dtype=bool)
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    cum_bad = np.concatenate([[0], np.cumsum(hallucinated[order])])
    # number with score >= λ: position of λ in descending array
    n = np.searchsorted(-sorted_scores, -np.asarray(grid, dtype=float), side="right")
    return n, cum_bad[n]


class RiskController:
    """Choose the answer threshold with the largest coverage whose risk is certified ≤ alpha.

    Parameters
    ----------
    alpha : target hallucination rate among answered questions (0 < alpha < 1).
    delta : allowed probability that the certificate is wrong (0 < delta < 1).
    grid : thresholds on the score, fixed in advance; defaults to :data:`DEFAULT_GRID`.

    ``fit(scores, hallucinated)`` takes calibration scores (higher = more likely correct)
    and a boolean array (True = hallucinated) over questions the model answered (its own
    abstentions excluded). Learned: ``threshold_`` (``inf`` when no threshold is
    certified: the guard then abstains on everything), ``p_values_``, ``upper_bounds_``,
    ``n_answered_``, ``n_hallucinated_`` per grid point, ``certified_`` (bool).
    """

    def __init__(self, alpha: float = 0.1, delta: float = 0.1, grid: np.ndarray | None = None):
        self.alpha = alpha
        self.delta = delta
        self.grid = grid

    def fit(self, scores: np.ndarray, hallucinated: np.ndarray) -> RiskController:
        alpha = check_level("alpha", self.alpha)
        delta = check_level("delta", self.delta)
        grid = np.asarray(DEFAULT_GRID if self.grid is None else self.grid, dtype=float)
        if np.any(np.diff(grid) > 0):
            raise NescioError("threshold grid must be ordered strictest (highest) first")
        scores = np.asarray(scores, dtype=float)
        hallucinated = np.asarray(hallucinated, dtype=bool)
        if scores.shape != hallucinated.shape or scores.ndim != 1:
            raise NescioError("scores and hallucinated must be 1-D arrays of the same length")
        if np.isnan(scores).any():
            raise NescioError("risk control needs finite scores; got NaN")
        n, k = counts_by_threshold(scores, hallucinated, grid)
        p = binomial_p_value(k, n, alpha)
        self.grid_ = grid
        self.n_answered_ = n
        self.n_hallucinated_ = k
        self.p_values_ = p
        self.upper_bounds_ = clopper_pearson_upper(k, n, delta)
        # fixed-sequence testing: reject while p <= delta, stop at the first failure.
        # The sequence starts at the first grid point with enough answered questions that
        # zero errors could be certified ((1 - alpha)^n <= delta); before it, every null is
        # untestable, so it is skipped rather than allowed to end the sequence.
        self.min_answered_ = int(np.ceil(np.log(delta) / np.log(1.0 - alpha)))
        chosen = np.inf
        for lam, n_lam, p_lam in zip(grid, n, p):
            if n_lam < self.min_answered_:
                continue
            if p_lam <= delta:
                chosen = float(lam)
            else:
                break
        self.threshold_ = chosen
        self.certified_ = bool(np.isfinite(chosen))
        return self

    def answer_mask(self, scores: np.ndarray) -> np.ndarray:
        """True where the score clears the fitted threshold."""
        return np.asarray(scores, dtype=float) >= self.threshold_


def threshold_for_precision(
    scores: np.ndarray, wrong: np.ndarray, alpha: float, delta: float, grid: np.ndarray | None = None
) -> float:
    """Convenience wrapper: the Learn-then-Test threshold for ``wrong`` rate ≤ alpha among ``score ≥ λ``."""
    return RiskController(alpha, delta, grid).fit(scores, wrong).threshold_
