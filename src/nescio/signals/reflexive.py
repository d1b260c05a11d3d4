"""Reflexive signals: the model judges its own answer.

The models area fills ``Generation.p_true`` (probability of "True" when the model is
asked whether its proposed answer is correct; one extra prefill) and
``Generation.verbal_confidence`` (stated 0–100 confidence / 100, ``None`` when
unparseable; one extra short generation) when ``GenerationConfig.p_true`` /
``verbal_confidence`` are set. Missing values are NaN, never 0.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nescio.signals.spec import SignalInfo, SignalNeeds
from nescio.types import Generation

# Extra forward passes for the verbal-confidence prompt: one prefill plus the decode
# steps of its short reply (at most 8 tokens in nescio.models); an upper bound, since the reply's tokens are not stored.
VERBAL_CONFIDENCE_PASSES = 1.0 + 8.0


def _or_nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def one_minus_p_true(generations: Sequence[Generation]) -> np.ndarray:
    """1 − P(True); NaN where P(True) was not computed."""
    return 1.0 - np.array([_or_nan(g.p_true) for g in generations], dtype=float)


def one_minus_verbal_confidence(generations: Sequence[Generation]) -> np.ndarray:
    """1 − verbal confidence; NaN where the stated number was missing or unparseable."""
    return 1.0 - np.array([_or_nan(g.verbal_confidence) for g in generations], dtype=float)


SIGNALS = (
    SignalInfo("one_minus_p_true", "reflexive", "1 - P(True) that the model's own answer is correct (Kadavath et al. 2022)",
               needs=SignalNeeds(p_true=True), compute=one_minus_p_true, cost=1.0),
    SignalInfo("one_minus_verbal_confidence", "reflexive",
               "1 - the model's stated confidence (0-100, divided by 100); unparseable = missing",
               needs=SignalNeeds(verbal_confidence=True), compute=one_minus_verbal_confidence, cost=VERBAL_CONFIDENCE_PASSES),
)
