"""The guard: calibrated P(correct) from hallucination signals and answer-or-abstain policies.

- :mod:`~nescio.policy.detector`: signals → P(correct) (logistic or boosting + calibration);
- :mod:`~nescio.policy.risk`: Learn-then-Test thresholds with a Clopper–Pearson guarantee;
- :mod:`~nescio.policy.scoring`: confidence target (Kalai et al.), hedge band, tallies;
- :mod:`~nescio.policy.guard`: :class:`Guard` (fit / ask / save / load).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Guard": "nescio.policy.guard",
    "Cascade": "nescio.policy.cascade",
    "check_question": "nescio.policy.guard",
    "Detector": "nescio.policy.detector",
    "Calibrator": "nescio.policy.calibrate",
    "RiskController": "nescio.policy.risk",
    "clopper_pearson_upper": "nescio.policy.risk",
    "BandPolicy": "nescio.policy.scoring",
    "confidence_target_score": "nescio.policy.scoring",
    "default_guard": "nescio.policy.default",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nescio.policy' has no attribute {name!r}")
