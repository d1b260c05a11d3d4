"""The adaptive cascade on synthetic scores: only the band is sampled and the risk stays certified."""

from __future__ import annotations

import numpy as np

from nescio.policy.cascade import Cascade
from nescio.policy.risk import RiskController


def _data(n, rng):
    truth = rng.uniform(size=n)  # latent P(correct)
    correct = rng.uniform(size=n) < truth
    cheap = np.clip(truth + rng.normal(0, 0.12, n), 0.001, 0.999)  # a noisy cheap score
    sampling = (1 - truth + rng.normal(0, 0.03, n))[:, None]  # a sharper, risk-oriented sampling signal
    outcomes = np.where(correct, "correct", "hallucinated").astype(object)
    return cheap, cheap, sampling, outcomes, np.zeros(n, bool)


def test_cascade_samples_only_the_band_and_controls_risk():
    rng = np.random.default_rng(0)
    train, cal, test = _data(3000, rng), _data(3000, rng), _data(3000, rng)
    # the cheap stage's own certified threshold
    thr = RiskController(0.1, 0.1).fit(cal[0], cal[3] == "hallucinated").threshold_
    cas = Cascade(band_floor=0.2, alpha=0.1, delta=0.1, sampling_signals=("s",)).fit(thr, train, cal)
    s, p, x, o, skip = test
    band = cas.band(s, p, thr)
    assert 0.2 < band.mean() < 0.9  # not everything is sampled
    x = np.where(band[:, None], x, np.nan)  # the sampling signal exists only inside the band
    act = cas.actions(s, p, x, skip)
    answered = act == "answer"
    risk = (o[answered] == "hallucinated").mean()
    assert risk <= 0.1 + 0.02
    # the sharper sampling signal lets the cascade answer more than the cheap score alone at 0.9
    assert answered.mean() > (s >= thr).mean()
