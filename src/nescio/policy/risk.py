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

import functools
from dataclasses import asdict, dataclass

import numpy as np

from nescio.params import Params
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


@functools.lru_cache(maxsize=4096)
def start_size(alpha: float, delta: float, power: float = 0.5) -> int:
    """Answered-set size at which the fixed sequence starts.

    The smallest n at which the exact binomial test at level delta rejects ``risk > alpha``
    with probability ≥ ``power`` when the true risk is alpha / 2. Starting at the very first
    testable n ((1 − α)^n ≤ δ, about 22 for α = δ = 0.1) makes the sequence fragile: one
    confident error among the first few answers ends it. Depends only on (α, δ), never on
    the labels, so the Learn-then-Test guarantee is unaffected. Vectorised over n = 1..5000:
    for each n the largest rejecting count k* (``P(Bin(n, α) ≤ k*) ≤ δ``) is found from the
    binomial quantile and checked exactly at its neighbours.
    """
    from scipy.stats import binom

    n = np.arange(1, 5001)
    k0 = binom.ppf(delta, n, alpha)
    kstar = np.full(n.shape, -1.0)
    for k in (k0 - 1, k0, k0 + 1):  # cdf is monotone in k: the largest k with cdf ≤ δ among the candidates
        ok = (k >= 0) & (k <= n) & (binom.cdf(k, n, alpha) <= delta)
        kstar = np.where(ok & (k > kstar), k, kstar)
    good = (kstar >= 0) & (binom.cdf(np.maximum(kstar, 0), n, alpha / 2) >= power)
    return int(n[np.argmax(good)]) if good.any() else 5000


def clears(scores: np.ndarray, threshold: float) -> np.ndarray:
    """The answer rule: True where a score is at least ``threshold`` (NaN never clears; ``inf``: nothing does).

    Every threshold the risk policy certifies is applied through this one comparison (the
    counts it certified from, :meth:`RiskPolicy.answer_mask`, the guard's band policy)."""
    return np.asarray(scores, dtype=float) >= threshold


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
        grid = self._grid()
        scores = np.asarray(scores, dtype=float)
        hallucinated = np.asarray(hallucinated, dtype=bool)
        if scores.shape != hallucinated.shape or scores.ndim != 1:
            raise NescioError("scores and hallucinated must be 1-D arrays of the same length")
        if np.isnan(scores).any():
            raise NescioError("risk control needs finite scores; got NaN")
        n, k = counts_by_threshold(scores, hallucinated, grid)
        return self.fit_counts(n, k)

    def _grid(self) -> np.ndarray:
        grid = np.asarray(DEFAULT_GRID if self.grid is None else self.grid, dtype=float)
        if np.any(np.diff(grid) > 0):
            raise NescioError("threshold grid must be ordered strictest (highest) first")
        return grid

    def fit_counts(self, n_answered: np.ndarray, n_hallucinated: np.ndarray) -> RiskController:
        """Fit from the per-grid-point counts (answered, hallucinated) that :meth:`fit` computes
        from scores; the same counts give the same threshold (used to reload a guard exactly)."""
        alpha = check_level("alpha", self.alpha)
        delta = check_level("delta", self.delta)
        grid = self._grid()
        n = np.asarray(n_answered, dtype=np.int64)
        k = np.asarray(n_hallucinated, dtype=np.int64)
        if n.shape != grid.shape or k.shape != grid.shape:
            raise NescioError(f"counts must have one entry per grid point ({grid.size}), got {n.shape} and {k.shape}")
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

    def upper_bound_at(self, threshold: float) -> float:
        """Clopper–Pearson upper bound (1 − δ) on the risk among answered at grid threshold
        ``threshold`` (1.0 for ``inf``: nothing answered certifies nothing)."""
        if not np.isfinite(threshold):
            return 1.0
        return float(np.interp(-threshold, -self.grid_, self.upper_bounds_))

    def answer_mask(self, scores: np.ndarray) -> np.ndarray:
        """True where the score clears the fitted threshold."""
        return clears(scores, self.threshold_)


ALPHA_LEVELS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
"""Risk levels a guard certifies at fit time besides its own α (``Guard.certified_levels``)."""
TIGHTEST_GRID = tuple(round(a, 2) for a in np.arange(0.01, 1.0, 0.01))
"""Levels scanned for ``tightest_alpha_`` (smallest first)."""


@dataclass(frozen=True)
class FrontierPoint:
    """One certified level of the risk–coverage frontier on the calibration scores
    (:meth:`RiskPolicy.frontier`): the level ``alpha``, its (finite) ``threshold``, the calibration
    answers clearing it (``calibration_answered``, of them ``calibration_hallucinated``) and the
    (1 − δ) Clopper–Pearson upper bound on their hallucination rate. :meth:`to_json` gives the
    same keys (:class:`nescio.evaluate.result.FrontierPoint` adds what it answers on evaluated questions)."""

    alpha: float
    threshold: float
    calibration_answered: int
    calibration_hallucinated: int
    calibration_risk_upper_bound: float

    def to_json(self) -> dict:
        return asdict(self)


def level_key(alpha: float) -> float:
    """The key a risk level is stored under (rounded to 6 decimals so 0.1 and 0.1000000001 agree)."""
    return round(float(alpha), 6)


class RiskPolicy(Params):
    """The guard's risk policy: the answer threshold at ``alpha``, the hedge floor, and
    thresholds certified in advance at other levels.

    Parameters (stored as given): ``alpha``, ``delta``; ``hedge_alpha`` (looser level whose
    threshold is the hedge floor; None: no hedging); ``levels`` (extra risk levels to
    certify, see :meth:`thresholds`); ``n_starts`` (see :class:`RiskController`).

    ``fit(scores, hallucinated)``: calibration scores (higher = more likely correct) of the
    questions the guard would otherwise answer. Learned: ``risk_`` (the RiskController at
    ``alpha``, with its grid and per-threshold counts and upper bounds), ``threshold_``,
    ``hedge_floor_``, ``certified_levels_`` (level → threshold, ``inf`` where nothing could be
    certified) and ``tightest_alpha_`` (the smallest level on :data:`TIGHTEST_GRID` with a
    finite certified threshold; None if none). Each level's threshold carries the LTT
    guarantee on its own when that level is chosen in advance; picking the level after
    seeing ``tightest_alpha_`` voids it, so it is a diagnostic, not a certificate.
    """

    def __init__(self, alpha: float = 0.1, delta: float = 0.1, hedge_alpha: float | None = 0.3,
                 levels: tuple[float, ...] = ALPHA_LEVELS, n_starts: int = 3):
        self.alpha = alpha
        self.delta = delta
        self.hedge_alpha = hedge_alpha
        self.levels = levels
        self.n_starts = n_starts

    def _level_set(self) -> list[float]:
        out = {level_key(check_level("alpha", self.alpha))}
        out |= {level_key(check_level("risk level", a)) for a in self.levels}
        if self.hedge_alpha is not None:
            out.add(level_key(check_level("hedge_alpha", self.hedge_alpha)))
        return sorted(out)

    def fit(self, scores: np.ndarray, hallucinated: np.ndarray) -> RiskPolicy:
        scores = np.asarray(scores, dtype=float)
        hallucinated = np.asarray(hallucinated, dtype=bool)
        self.risk_ = RiskController(self.alpha, self.delta, n_starts=self.n_starts).fit(scores, hallucinated)
        return self._from_counts()

    def fit_counts(self, n_answered: np.ndarray, n_hallucinated: np.ndarray) -> RiskPolicy:
        """Refit from saved per-threshold counts (what :meth:`fit` computed): identical results."""
        self.risk_ = RiskController(self.alpha, self.delta, n_starts=self.n_starts).fit_counts(n_answered, n_hallucinated)
        return self._from_counts()

    def _at(self, alpha: float) -> float:
        n, k = self.risk_.n_answered_, self.risk_.n_hallucinated_
        if not (binomial_p_value(k, n, alpha) <= check_level("delta", self.delta) / self.n_starts).any():
            return float("inf")  # no grid point could be certified by any sequence: skip the start sizes
        return RiskController(alpha, self.delta, n_starts=self.n_starts).fit_counts(n, k).threshold_

    def _from_counts(self) -> RiskPolicy:
        delta = check_level("delta", self.delta)
        self.threshold_ = self.risk_.threshold_
        self.certified_levels_ = {a: (self.threshold_ if a == level_key(self.alpha) else self._at(a))
                                  for a in self._level_set()}
        self.hedge_floor_ = None
        if self.hedge_alpha is not None:
            self.hedge_floor_ = self._floor(float(self.alpha))
        self.tightest_alpha_ = None
        for a in TIGHTEST_GRID:
            if np.isfinite(self.certified_levels_.get(a, np.nan)) or np.isfinite(self._at(a)):
                self.tightest_alpha_ = float(a)
                break
        self.delta_ = delta
        return self

    def frontier(self) -> list[FrontierPoint]:
        """The certified risk–coverage frontier on the calibration scores: one :class:`FrontierPoint`
        per level whose threshold was certified (tightest first). Looser levels never answer fewer
        (thresholds only fall as α grows)."""
        if not hasattr(self, "risk_"):
            raise NescioError("risk policy is not fitted: call fit first")
        r, rows = self.risk_, []
        for a, thr in sorted(self.certified_levels_.items()):
            if not np.isfinite(thr):
                continue
            i = int(np.argmin(np.abs(r.grid_ - thr)))
            rows.append(FrontierPoint(alpha=float(a), threshold=float(thr), calibration_answered=int(r.n_answered_[i]),
                                      calibration_hallucinated=int(r.n_hallucinated_[i]),
                                      calibration_risk_upper_bound=float(r.upper_bounds_[i])))
        return rows

    def answer_mask(self, scores: np.ndarray, alpha: float | None = None) -> np.ndarray:
        """True where a detector score clears the threshold certified at ``alpha`` (default: the
        fitted α; otherwise one of ``certified_levels_``, as :meth:`thresholds`)."""
        return clears(scores, self.thresholds(alpha)[0])

    def _floor(self, alpha: float) -> float | None:
        if self.hedge_alpha is None:
            return None
        thr = self.certified_levels_[level_key(alpha)]
        return float(min(self.certified_levels_[level_key(max(self.hedge_alpha, alpha))], thr))

    def thresholds(self, alpha: float | None = None) -> tuple[float, float | None]:
        """(answer threshold, hedge floor or None) at ``alpha`` (default: the fitted ``alpha``).

        ``alpha`` must be one of ``certified_levels_``; anything else is a NescioError naming them."""
        if not hasattr(self, "risk_"):
            raise NescioError("risk policy is not fitted: call fit first")
        if alpha is None:
            return self.threshold_, self.hedge_floor_
        key = level_key(check_level("alpha", alpha))
        if key not in self.certified_levels_:
            levels = ", ".join(f"{a:g}" for a in self.certified_levels_)
            raise NescioError(f"alpha = {alpha:g} was not certified when this guard was fitted; "
                              f"certifiable levels: {levels}")
        return self.certified_levels_[key], self._floor(key)
