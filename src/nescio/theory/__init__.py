"""Membership testing: why hallucination is the optimal use of limited memory.

``nescio.theory.analytic``: the rate–distortion bounds (Guo & Li, 2026) in closed form.
``nescio.theory.bloom``: a real Bloom filter checked against them.
``nescio.theory.memoriser``: small transformers trained from scratch on random facts.
``nescio.theory.run``: the sweep behind ``nescio theory`` (results.json + plots).

Only numpy is imported here; torch, scipy and matplotlib load inside the functions that use them.
"""

from __future__ import annotations

from nescio.theory.analytic import (
    LogLossOptimum,
    bernoulli_kl_bits,
    bloom_false_positive_at_budget,
    bloom_frontier,
    bloom_rate,
    effective_bits_per_fact,
    hallucination_share_at_budget,
    kl_bits,
    logloss_feasible,
    logloss_frontier,
    logloss_optimum,
    logloss_rate,
    numerical_min_rate,
)
from nescio.theory.bloom import BloomCheck, BloomFilter, check_bloom_filter

__all__ = [
    "BloomCheck",
    "BloomFilter",
    "LogLossOptimum",
    "bernoulli_kl_bits",
    "bloom_false_positive_at_budget",
    "bloom_frontier",
    "bloom_rate",
    "check_bloom_filter",
    "effective_bits_per_fact",
    "hallucination_share_at_budget",
    "kl_bits",
    "logloss_feasible",
    "logloss_frontier",
    "logloss_optimum",
    "logloss_rate",
    "numerical_min_rate",
    "run_theory",
]


def __getattr__(name: str):
    if name == "run_theory":
        from nescio.theory.run import run_theory

        return run_theory
    raise AttributeError(f"module 'nescio.theory' has no attribute {name!r}")
