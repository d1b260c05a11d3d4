"""Adaptive cascade: cheap signals first, sampling-based signals only in the uncertain band.

A fitted :class:`~nescio.policy.guard.Guard` (greedy pass + cheap signals + probes) gives
every question a calibrated P(correct). Questions with P(correct) ≥ the cheap guard's
answer threshold are answered and those below ``band_floor`` abstain, both without
sampling; only the band in between is sampled (K answers) and re-scored by a second
detector that sees the cheap detector's score plus the sampling signals. The answer
threshold over the combined score is then certified again with Learn-then-Test on the
calibration split, so the stated hallucination rate covers the whole cascade.

Cost saved against always sampling = 1 − share of questions sampled (in sampled passes).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nescio.policy.detector import Detector
from nescio.policy.risk import RiskController, check_level
from nescio.policy.scoring import _enum_array
from nescio.types import Action, Outcome

DEFAULT_SAMPLING_SIGNALS = ("sample_disagreement", "n_distinct_answers", "discrete_semantic_entropy")


class Cascade:
    """Second stage of the cascade (see the module docstring).

    Parameters: ``band_floor`` (calibrated P(correct) below which the cheap stage abstains
    directly), ``alpha``, ``delta``, ``sampling_signals`` (names, for the record).
    Learned: ``detector_`` (on [cheap score, sampling signals]), ``threshold_`` (LTT over
    the combined score), ``cheap_threshold_``.
    """

    def __init__(self, band_floor: float = 0.15, alpha: float = 0.1, delta: float = 0.1,
                 sampling_signals: Sequence[str] = DEFAULT_SAMPLING_SIGNALS, random_state: int = 0):
        self.band_floor = band_floor
        self.alpha = alpha
        self.delta = delta
        self.sampling_signals = sampling_signals
        self.random_state = random_state

    def band(self, cheap_score: np.ndarray, cheap_p: np.ndarray, cheap_threshold: float) -> np.ndarray:
        """True where the question must be sampled."""
        return (np.asarray(cheap_p) >= self.band_floor) & (np.asarray(cheap_score) < cheap_threshold)

    def _features(self, cheap_score: np.ndarray, sampling: np.ndarray) -> np.ndarray:
        s = np.clip(np.asarray(cheap_score, dtype=float), 1e-6, 1 - 1e-6)
        # the cheap detector's score enters as a risk-oriented logit, like every other signal
        return np.column_stack([np.log((1 - s) / s), np.asarray(sampling, dtype=float)])

    def combined_score(self, cheap_score, cheap_p, sampling, cheap_threshold=None) -> np.ndarray:
        """1 above the band (answered without sampling), −1 below it (abstain), the band detector inside."""
        thr = self.cheap_threshold_ if cheap_threshold is None else cheap_threshold
        cheap_score = np.asarray(cheap_score, dtype=float)
        in_band = self.band(cheap_score, cheap_p, thr)
        out = np.where(cheap_score >= thr, 1.0, -1.0)
        if in_band.any():
            out[in_band] = self.detector_.raw_score(self._features(cheap_score[in_band], np.asarray(sampling)[in_band]))
        return out

    def fit(self, cheap_threshold: float, train: tuple, calibration: tuple) -> Cascade:
        """``train`` / ``calibration``: (cheap_score, cheap_p, sampling [n, k] (NaN outside the band),
        outcomes (:class:`Outcome`), skip mask (pre-check fired or model declined))."""
        alpha = check_level("alpha", self.alpha)
        delta = check_level("delta", self.delta)
        self.cheap_threshold_ = float(cheap_threshold)
        s_t, p_t, x_t, o_t, skip_t = train
        o_t = _enum_array(o_t, Outcome)
        band_t = self.band(s_t, p_t, cheap_threshold) & (o_t != Outcome.ABSTAINED) & ~skip_t
        names = ("cheap_detector_logit", *self.sampling_signals)
        self.detector_ = Detector(names, random_state=self.random_state)
        self.detector_.fit(self._features(s_t[band_t], x_t[band_t]), o_t[band_t] == Outcome.CORRECT)
        s_c, p_c, x_c, o_c, skip_c = calibration
        o_c = _enum_array(o_c, Outcome)
        use = (o_c != Outcome.ABSTAINED) & ~skip_c
        comb = self.combined_score(s_c, p_c, x_c)
        self.risk_ = RiskController(alpha, delta).fit(comb[use], o_c[use] == Outcome.HALLUCINATED)
        self.threshold_ = self.risk_.threshold_
        return self

    def actions(self, cheap_score, cheap_p, sampling, skip) -> np.ndarray:
        """An object array of :class:`Action` (ANSWER or ABSTAIN) per question."""
        comb = self.combined_score(cheap_score, cheap_p, sampling)
        act = np.empty(len(comb), dtype=object)
        act[:] = [Action.ANSWER if c >= self.threshold_ else Action.ABSTAIN for c in comb]
        act[np.asarray(skip, dtype=bool)] = Action.ABSTAIN
        return act
