"""The guard: calibrated P(correct) from hallucination signals and answer-or-abstain policies.

The guard is a composition of scikit-learn-style estimators and holds no model:

- :mod:`~nescio.policy.signalset`: registry signals → matrix (fitted ones built from the registry);
- :mod:`~nescio.policy.detector`: signals → P(correct) (logistic or boosting + calibration);
- :mod:`~nescio.policy.precheck`: the knowability pre-check (abstain before answering);
- :mod:`~nescio.policy.risk`: Learn-then-Test thresholds with a Clopper–Pearson guarantee;
- :mod:`~nescio.policy.scoring`: confidence target (Kalai et al.), hedge band, tallies;
- :mod:`~nescio.policy.guard`: :class:`Guard` (``from_model`` / ``fit`` / ``decide`` / ``save`` / ``load``);
- :mod:`~nescio.policy.recalibration`: :func:`recalibrate` (refit calibrator + thresholds on a user's questions);

Answering through a guard (backend + guard + texts → ``DecisionBatch``) is one layer up, in
:mod:`nescio.pipeline`.
"""

from __future__ import annotations

from nescio.lazy import lazy_getattr


_LAZY = {
    "Guard": "nescio.policy.guard",
    "GuardFitSummary": "nescio.policy.guard",
    "check_question": "nescio.policy.guard",
    "grade_outcomes": "nescio.grading",
    "Cascade": "nescio.policy.cascade",
    "SignalSet": "nescio.policy.signalset",
    "PreCheck": "nescio.policy.precheck",
    "PrecheckResult": "nescio.policy.precheck",
    "Detector": "nescio.policy.detector",
    "Calibrator": "nescio.policy.calibrate",
    "recalibrate": "nescio.policy.recalibration",
    "RecalibrationSummary": "nescio.policy.recalibration",
    "RiskController": "nescio.policy.risk",
    "RiskPolicy": "nescio.policy.risk",
    "clopper_pearson_upper": "nescio.policy.risk",
    "BandPolicy": "nescio.policy.scoring",
    "confidence_target_score": "nescio.policy.scoring",
    "default_guard": "nescio.policy.default",
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
