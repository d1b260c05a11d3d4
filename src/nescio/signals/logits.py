"""Logit-based signals, read off the greedy answer's token log-probabilities (cost 0).

All are oriented higher = more likely hallucinated. An empty answer (no tokens) gives NaN.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from nescio.signals.spec import SignalInfo
from nescio.types import Generation


def _per_generation(fn: Callable[[Generation], float]) -> Callable[[Sequence[Generation]], np.ndarray]:
    def run(generations: Sequence[Generation]) -> np.ndarray:
        return np.array([fn(g) for g in generations], dtype=float)

    run.__doc__ = fn.__doc__
    run.__name__ = fn.__name__
    return run


def _logprobs(g: Generation) -> np.ndarray | None:
    lp = np.asarray(g.token_logprobs, dtype=float)
    return lp if lp.size else None


def sequence_nll(g: Generation) -> float:
    """−Σ_t log p(token_t): the negated sequence log-probability (MSP, maximum sequence probability)."""
    lp = _logprobs(g)
    return float("nan") if lp is None else float(-lp.sum())


def mean_token_nll(g: Generation) -> float:
    """−mean_t log p(token_t) (length-normalised MSP)."""
    lp = _logprobs(g)
    return float("nan") if lp is None else float(-lp.mean())


def max_token_nll(g: Generation) -> float:
    """−min_t log p(token_t): the least likely chosen token."""
    lp = _logprobs(g)
    return float("nan") if lp is None else float(-lp.min())


def mean_token_entropy(g: Generation) -> float:
    """Mean over answer tokens of the next-token distribution's entropy (nats)."""
    h = np.asarray(g.token_entropies, dtype=float)
    return float("nan") if h.size == 0 else float(h.mean())


def max_token_entropy(g: Generation) -> float:
    """Largest next-token entropy over the answer (nats)."""
    h = np.asarray(g.token_entropies, dtype=float)
    return float("nan") if h.size == 0 else float(h.max())


def perplexity(g: Generation) -> float:
    """exp(−mean_t log p(token_t))."""
    nll = mean_token_nll(g)
    return float("nan") if math.isnan(nll) else float(math.exp(min(nll, 700.0)))


def one_minus_first_token_margin(g: Generation) -> float:
    """1 − (p_top1 − p_top2) at the first answer token (needs top-k with k ≥ 2)."""
    if not g.top_k_logprobs or len(g.top_k_logprobs[0]) < 2:
        return float("nan")
    top = np.sort(np.exp(np.asarray(g.top_k_logprobs[0], dtype=float)))[::-1]
    return float(1.0 - (top[0] - top[1]))


_LOGIT_SIGNALS = {
    "sequence_nll": (sequence_nll, "negated sequence log-probability of the greedy answer (MSP)"),
    "mean_token_nll": (mean_token_nll, "negated mean token log-probability"),
    "max_token_nll": (max_token_nll, "negated minimum token log-probability"),
    "mean_token_entropy": (mean_token_entropy, "mean next-token entropy over the answer"),
    "max_token_entropy": (max_token_entropy, "maximum next-token entropy over the answer"),
    "perplexity": (perplexity, "perplexity of the greedy answer"),
    "one_minus_first_token_margin": (
        one_minus_first_token_margin,
        "1 - (top-1 minus top-2 probability) at the first answer token",
    ),
}

SIGNALS = tuple(
    SignalInfo(name, "logits", desc, compute=_per_generation(fn), cost=0.0) for name, (fn, desc) in _LOGIT_SIGNALS.items()
)
