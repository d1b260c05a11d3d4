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
bound is ≤ ``alpha``); a sequence stops at the first ``λ`` whose null is not rejected.
``n_starts`` sequences start at doubling answered-set sizes, each at level
``delta / n_starts`` (Bonferroni). The family-wise error is ≤ ``delta``, so the
chosen threshold's risk on new exchangeable data is ≤ ``alpha`` with probability
≥ ``1 - delta`` (for the population risk; a finite test set adds its own sampling noise).
The sequence starts at the first grid point answering at least :func:`start_size` (α, δ)
questions (fewer cannot be certified with useful power); the start depends on the scores
only, not on the labels (checked empirically by the 200-split test in
``tests/test_policy_risk.py``).
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


def start_size(alpha: float, delta: float, power: float = 0.5) -> int:
    """Answered-set size at which the fixed sequence starts.

    The smallest n at which the exact binomial test at level delta rejects ``risk > alpha``
    with probability ≥ ``power`` when the true risk is alpha / 2. Starting at the very first
    testable n ((1 − α)^n ≤ δ, about 22 for α = δ = 0.1) makes the sequence fragile: one
    confident error among the first few answers ends it. Depends only on (α, δ), never on
    the labels, so the Learn-then-Test guarantee is unaffected.
    """
    from scipy.stats import binom

    for n in range(1, 5000):
        k = np.arange(n + 1)
        ok = k[binom.cdf(k, n, alpha) <= delta]
        if ok.size and binom.cdf(ok.max(), n, alpha / 2) >= power:
            return n
    return 5000


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
    n_starts : number of fixed sequences (starting at doubling answered-set sizes), each
        tested at level delta / n_starts.

    ``fit(scores, hallucinated)`` takes calibration scores (higher = more likely correct)
    and a boolean array (True = hallucinated) over questions the model answered (its own
    abstentions excluded). Learned: ``threshold_`` (``inf`` when no threshold is
    certified: the guard then abstains on everything), ``p_values_``, ``upper_bounds_``,
    ``n_answered_``, ``n_hallucinated_`` per grid point, ``certified_`` (bool).
    """

    def __init__(self, alpha: float = 0.1, delta: float = 0.1, grid: np.ndarray | None = None, n_starts: int = 3):
        self.alpha = alpha
        self.delta = delta
        self.grid = grid
        self.n_starts = n_starts

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
        # Fixed-sequence testing, started at several pre-set answered-set sizes (multi-start
        # Learn-then-Test): sequence j starts at the first grid point answering at least
        # start_j = start_size(α, δ/m) · 2^j questions and runs toward looser thresholds,
        # rejecting while p ≤ δ/m and stopping at its first failure. Bonferroni over the m
        # sequences keeps the family-wise error ≤ δ; several starts make the procedure robust
        # to a few confident errors among the very first answers, which would end a single
        # sequence at once.
        m = self.n_starts
        level = delta / m
        base = start_size(alpha, level)
        self.start_sizes_ = [base * 2**j for j in range(m)]
        self.min_answered_ = base
        chosen = np.inf
        for start in self.start_sizes_:
            for lam, n_lam, p_lam in zip(grid, n, p):
                if n_lam < start:
                    continue
                if p_lam <= level:
                    chosen = min(chosen, float(lam)) if np.isfinite(chosen) else float(lam)
                else:
                    break
        self.threshold_ = chosen
        self.certified_ = bool(np.isfinite(chosen))
        return self

    def answer_mask(self, scores: np.ndarray) -> np.ndarray:
        """True where the score clears the fitted threshold."""
        return np.asarray(scores, dtype=float) >= self.threshold_
