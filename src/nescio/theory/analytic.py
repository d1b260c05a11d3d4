"""Rate–distortion bounds for membership testing (Guo & Li, 2026), in closed form.

Setting. ``n`` facts are drawn from a universe of ``u`` plausible claims, sparse
(``p = n / u → 0``). A tester stores ``B`` bits and returns a score ``x ∈ [0, 1]`` for any
claim; ``μ_K`` and ``μ_N`` are the distributions of its scores on facts ("known") and on
non-facts. With per-claim losses ``d_K(x)`` on facts and ``d_N(x)`` on non-facts, the least
number of bits per fact, in the sparse limit, is::

    R(ε_K, ε_N) = min KL(μ_K ‖ μ_N)   subject to   E_μK[d_K] ≤ ε_K,  E_μN[d_N] ≤ ε_N.

Two loss pairs matter:

* Bloom-filter losses, binary scores, ``d_K = 1 − x``, ``d_N = x`` (``ε_K`` is the
  false-negative rate, ``ε_N`` the false-positive rate)::

      R = KL(Bern(1 − ε_K) ‖ Bern(ε_N))      → log2(1 / ε_N) bits when ε_K = 0.

  Any tester whose score is thresholded is such a binary tester, so this also bounds the
  false-positive / false-negative frontier of a thresholded model.

* Log-loss, ``d_K = −ln x``, ``d_N = −ln(1 − x)`` (what a language model is trained on).
  When ``e^(−ε_K) + e^(−ε_N) > 1`` (otherwise a constant score meets both constraints with
  zero bits) the optimum is::

      μ_K = δ(x*),   x* = e^(−ε_K)
      μ_N = (1 − q*) δ(0) + q* δ(x*),   q* = ε_N / (−ln(1 − x*))
      R   = log2(1 / q*) bits per fact.

  A share ``q*`` of non-facts sits *exactly* at the facts' confidence and nothing sits in
  between: the optimal use of limited memory is confident hallucination on a ``2^(−bits)``
  share of non-facts, not an "unsure" middle score. Inverting, a budget of ``b`` bits per
  fact forces ``q* = 2^(−b)``.

All rates are in bits per fact. Functions take floats (or numpy arrays where noted) and
raise :class:`nescio.types.NescioError` on values outside their domain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nescio.types import NescioError

__all__ = [
    "LogLossOptimum",
    "bernoulli_kl_bits",
    "bloom_rate",
    "bloom_false_positive_at_budget",
    "bloom_frontier",
    "kl_bits",
    "logloss_feasible",
    "logloss_optimum",
    "logloss_rate",
    "logloss_frontier",
    "hallucination_share_at_budget",
    "effective_bits_per_fact",
    "numerical_min_rate",
]


def _check_prob(name: str, value: float, *, open_low: bool = False, open_high: bool = False) -> None:
    lo_ok = value > 0 if open_low else value >= 0
    hi_ok = value < 1 if open_high else value <= 1
    if not (lo_ok and hi_ok) or math.isnan(value):
        rng = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
        raise NescioError(f"{name}={value!r} is outside {rng}")


def kl_bits(mu_k: np.ndarray, mu_n: np.ndarray) -> float:
    """KL(μ_K ‖ μ_N) in bits for two discrete distributions on the same score grid.

    Terms with ``μ_K = 0`` contribute 0; a score with ``μ_K > 0`` and ``μ_N = 0`` makes it
    infinite (the facts use a score no non-fact ever gets: free to store only if n/u → 0
    is ignored).
    """
    mu_k = np.asarray(mu_k, dtype=float)
    mu_n = np.asarray(mu_n, dtype=float)
    if mu_k.shape != mu_n.shape:
        raise NescioError(f"score distributions have different shapes {mu_k.shape} and {mu_n.shape}")
    mask = mu_k > 0
    if np.any(mu_n[mask] <= 0):
        return math.inf
    return float(np.sum(mu_k[mask] * np.log2(mu_k[mask] / mu_n[mask])))


def bernoulli_kl_bits(a: float, b: float) -> float:
    """KL(Bern(a) ‖ Bern(b)) in bits: ``a·log2(a/b) + (1−a)·log2((1−a)/(1−b))``."""
    _check_prob("a", a)
    _check_prob("b", b)
    return kl_bits(np.array([a, 1.0 - a]), np.array([b, 1.0 - b]))


def bloom_rate(eps_k: float, eps_n: float) -> float:
    """Bits per fact for a binary tester with false-negative rate ε_K and false-positive rate ε_N.

    ``R = KL(Bern(1 − ε_K) ‖ Bern(ε_N))`` when ``ε_N < 1 − ε_K`` (else 0: a coin flip that
    ignores the claim does it). At ``ε_K = 0`` this is ``log2(1 / ε_N)``.
    """
    _check_prob("eps_k", eps_k)
    _check_prob("eps_n", eps_n)
    if eps_n >= 1.0 - eps_k:
        return 0.0
    return bernoulli_kl_bits(1.0 - eps_k, eps_n)


def bloom_false_positive_at_budget(bits_per_fact: float, false_negative_rate: float = 0.0) -> float:
    """The least false-positive rate a binary (or thresholded) tester can have.

    Solves ``KL(Bern(1 − ε_K) ‖ Bern(ε_N)) = bits_per_fact`` for ``ε_N ∈ (0, 1 − ε_K]``;
    with ``ε_K = 0`` this is ``2^(−bits_per_fact)``. This is the inverse of :func:`bloom_rate`
    and the false-positive / false-negative frontier at a given budget.
    """
    from scipy.optimize import brentq

    if bits_per_fact < 0 or math.isnan(bits_per_fact):
        raise NescioError(f"bits_per_fact={bits_per_fact!r} must be >= 0")
    _check_prob("false_negative_rate", false_negative_rate)
    eps_k = false_negative_rate
    if eps_k == 0.0:
        return 2.0 ** (-bits_per_fact)
    if eps_k == 1.0 or bits_per_fact == 0.0:
        return 1.0 - eps_k
    hi = 1.0 - eps_k
    # KL(Bern(1 - eps_k) || Bern(eps_n)) falls from +inf (eps_n -> 0) to 0 (eps_n = 1 - eps_k).
    def gap(log_eps_n: float) -> float:
        return bernoulli_kl_bits(1.0 - eps_k, math.exp(log_eps_n)) - bits_per_fact

    lo = math.log(1e-300)
    if gap(lo) < 0:  # the budget exceeds what the smallest representable rate costs
        return 0.0
    return math.exp(brentq(gap, lo, math.log(hi), xtol=1e-14, rtol=1e-12))


def bloom_frontier(bits_per_fact: float, false_negative_rates: np.ndarray) -> np.ndarray:
    """False-positive rates on the optimal frontier, one per false-negative rate (array in, array out)."""
    fn = np.asarray(false_negative_rates, dtype=float)
    return np.array([bloom_false_positive_at_budget(bits_per_fact, float(e)) for e in fn.ravel()]).reshape(fn.shape)


def logloss_feasible(eps_k: float, eps_n: float) -> bool:
    """True when ``e^(−ε_K) + e^(−ε_N) > 1``: the log-loss targets cannot be met without memory.

    Outside this region a constant score ``x`` with ``−ln x ≤ ε_K`` and ``−ln(1−x) ≤ ε_N``
    exists, so the rate is 0 and ``q* = 1`` (every non-fact scored like a fact).
    """
    if eps_k < 0 or eps_n < 0:
        raise NescioError(f"log-loss targets must be >= 0, got eps_k={eps_k!r}, eps_n={eps_n!r}")
    return math.exp(-eps_k) + math.exp(-eps_n) > 1.0


@dataclass(frozen=True)
class LogLossOptimum:
    """The optimal tester under log-loss targets (ε_K, ε_N).

    ``x_star``: the single score every fact gets (``e^(−ε_K)``). ``q_star``: the share of
    non-facts scored exactly ``x_star`` (the rest score 0). ``bits_per_fact``:
    ``log2(1/q_star)``. ``memory_needed``: :func:`logloss_feasible`.
    """

    eps_k: float
    eps_n: float
    x_star: float
    q_star: float
    bits_per_fact: float
    memory_needed: bool


def logloss_optimum(eps_k: float, eps_n: float) -> LogLossOptimum:
    """Closed-form optimum: ``x* = e^(−ε_K)``, ``q* = ε_N / (−ln(1 − x*))``, rate ``log2(1/q*)``.

    When :func:`logloss_feasible` is False the constraints are met by a constant score, so
    ``q* = 1`` and the rate is 0. ``ε_K = 0`` (facts scored 1 with certainty) gives
    ``x* = 1`` and ``q* = 0``: an exact membership list, infinite bits per fact in the sparse
    limit.
    """
    needed = logloss_feasible(eps_k, eps_n)
    x_star = math.exp(-eps_k)
    if not needed:
        return LogLossOptimum(eps_k, eps_n, x_star, 1.0, 0.0, False)
    if x_star >= 1.0:
        return LogLossOptimum(eps_k, eps_n, 1.0, 0.0, math.inf, True)
    q_star = eps_n / (-math.log1p(-x_star))
    bits = -math.log2(q_star) if q_star > 0 else math.inf
    return LogLossOptimum(eps_k, eps_n, x_star, q_star, bits, True)


def logloss_rate(eps_k: float, eps_n: float) -> float:
    """Minimum bits per fact under log-loss targets: ``log2(1/q*)`` (0 when no memory is needed)."""
    return logloss_optimum(eps_k, eps_n).bits_per_fact


def hallucination_share_at_budget(bits_per_fact: float) -> float:
    """The share of non-facts scored at the facts' confidence forced by a budget: ``q* = 2^(−b)``.

    It does not depend on ε_K: the budget fixes how many non-facts share the facts' score,
    the loss target only fixes where that score ``x*`` lies.
    """
    if bits_per_fact < 0 or math.isnan(bits_per_fact):
        raise NescioError(f"bits_per_fact={bits_per_fact!r} must be >= 0")
    return 2.0 ** (-bits_per_fact)


def logloss_frontier(bits_per_fact: float, eps_k: np.ndarray) -> np.ndarray:
    """The least non-fact log-loss ε_N reachable at a budget, per fact log-loss ε_K.

    ``ε_N = 2^(−b) · (−ln(1 − e^(−ε_K)))``: lowering the facts' loss (more confident facts)
    raises the non-facts' loss at the same budget.
    """
    q = hallucination_share_at_budget(bits_per_fact)
    ek = np.asarray(eps_k, dtype=float)
    with np.errstate(divide="ignore"):
        return q * -np.log1p(-np.exp(-ek))


def effective_bits_per_fact(false_negative_rate: float, false_positive_rate: float) -> float:
    """The bits per fact a thresholded tester must store, at least, to reach its (FN, FP) point.

    ``KL(Bern(1 − FN) ‖ Bern(FP))`` (:func:`bloom_rate`): a measured lower bound on the memory a
    trained model devotes to the facts, comparable with ``parameters × bits per parameter``.
    """
    return bloom_rate(false_negative_rate, false_positive_rate)


def numerical_min_rate(
    eps_k: float, eps_n: float, *, grid_size: int = 41, include_x_star: bool = False, restarts: int = 2
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Minimise KL(μ_K ‖ μ_N) under log-loss targets numerically (scipy SLSQP), on a score grid.

    An independent check of :func:`logloss_optimum`: μ_K lives on ``linspace(0.01, 0.99,
    grid_size)`` (a fact scored 0 has infinite log-loss), μ_N on the same points plus 0; both
    are softmax-parametrised and the two loss constraints ``E_μK[−ln x] ≤ ε_K``,
    ``E_μN[−ln(1−x)] ≤ ε_N`` are passed to SLSQP. Without ``x* = e^(−ε_K)`` on the grid
    (``include_x_star=False``, the default) the grid's optimum can only lie at or above the
    exact one. The problem is convex (KL jointly convex, constraints linear in (μ_K, μ_N)).
    Returns ``(bits_per_fact, grid, μ_K, μ_N)`` with μ_K, μ_N on ``grid`` (μ_K(0) = 0).
    """
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    if eps_k <= 0 or eps_n <= 0:
        raise NescioError(f"numerical_min_rate needs eps_k > 0 and eps_n > 0, got {eps_k!r}, {eps_n!r}")
    extra = [math.exp(-eps_k)] if include_x_star and math.exp(-eps_k) < 1 else []
    grid_k = np.unique(np.r_[np.linspace(0.01, 0.99, grid_size), extra])
    grid = np.r_[0.0, grid_k]
    d_k, d_n = -np.log(grid_k), -np.log1p(-grid)
    nk, g = len(grid_k), len(grid)

    def unpack(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return log_softmax(z[:nk]), log_softmax(z[nk:])

    def objective(z: np.ndarray) -> float:
        la, lb = unpack(z)
        return float(np.sum(np.exp(la) * (la - lb[1:])))

    def gradient(z: np.ndarray) -> np.ndarray:
        la, lb = unpack(z)
        a, b = np.exp(la), np.exp(lb)
        t = la - lb[1:]
        grad_a = a * (t - np.sum(a * t))  # through the softmax of μ_K
        grad_b = b - np.r_[0.0, a]  # through the softmax of μ_N
        return np.r_[grad_a, grad_b]

    def expected_loss_jac(probs: np.ndarray, loss: np.ndarray) -> np.ndarray:
        return -probs * (loss - probs @ loss)  # gradient of -(E[loss]) through the softmax

    cons = [
        {"type": "ineq", "fun": lambda z: eps_k - np.exp(unpack(z)[0]) @ d_k,
         "jac": lambda z: np.r_[expected_loss_jac(np.exp(unpack(z)[0]), d_k), np.zeros(g)]},
        {"type": "ineq", "fun": lambda z: eps_n - np.exp(unpack(z)[1]) @ d_n,
         "jac": lambda z: np.r_[np.zeros(nk), expected_loss_jac(np.exp(unpack(z)[1]), d_n)]},
    ]
    best = None
    for seed in range(restarts):
        rng = np.random.default_rng(seed)
        # start: facts leaning to high scores, non-facts leaning to 0 (nothing from the closed form)
        z0 = np.r_[np.linspace(0.0, 3.0, nk), 3.0, np.zeros(g - 1)] + rng.normal(0.0, 0.1, nk + g)
        res = minimize(objective, z0, jac=gradient, constraints=cons, method="SLSQP",
                       options={"maxiter": 2000, "ftol": 1e-12})
        if all(c["fun"](res.x) > -1e-7 for c in cons) and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise NescioError(f"the numerical optimiser found no feasible score distribution for eps_k={eps_k}, eps_n={eps_n}")
    la, lb = unpack(best.x)
    return float(best.fun / math.log(2)), grid, np.r_[0.0, np.exp(la)], np.exp(lb)
