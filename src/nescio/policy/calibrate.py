"""Calibrating a score into P(correct): isotonic regression or Platt scaling (scikit-learn).

A :class:`Calibrator` is fitted on a split the detector was *not* fitted on. Its state
saves as plain arrays (isotonic breakpoints, or Platt's slope and intercept) so a guard
can be written to safetensors + JSON and reloaded to identical outputs without pickle.
"""

from __future__ import annotations

import numpy as np

from nescio.types import NescioError

CALIBRATION_METHODS = ("isotonic", "platt")


class Calibrator:
    """Map a raw score (higher = more likely correct) to a calibrated probability.

    ``method="isotonic"`` (default): sklearn ``IsotonicRegression`` (monotone,
    out-of-range clipped), needs a few hundred examples to be smooth. ``method="platt"``:
    a one-feature logistic regression on the logit of the score.

    Learned: ``x_`` / ``y_`` (isotonic breakpoints) or ``coef_`` / ``intercept_`` (Platt).
    """

    def __init__(self, method: str = "isotonic"):
        self.method = method

    def fit(self, scores: np.ndarray, correct: np.ndarray) -> Calibrator:
        if self.method not in CALIBRATION_METHODS:
            raise NescioError(f"unknown calibration method {self.method!r}; accepted: {', '.join(CALIBRATION_METHODS)}")
        scores = np.asarray(scores, dtype=float)
        correct = np.asarray(correct, dtype=float)
        if len(scores) < 2 or len(np.unique(correct)) < 2:
            raise NescioError("calibration needs at least one correct and one hallucinated example")
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, correct)
            self.x_ = np.asarray(iso.X_thresholds_, dtype=float)
            self.y_ = np.asarray(iso.y_thresholds_, dtype=float)
        else:
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e4).fit(_logit(scores)[:, None], correct.astype(int))
            self.coef_ = float(lr.coef_[0, 0])
            self.intercept_ = float(lr.intercept_[0])
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        if self.method == "isotonic":
            return np.interp(scores, self.x_, self.y_)
        return 1.0 / (1.0 + np.exp(-(self.coef_ * _logit(scores) + self.intercept_)))

    # ------------------------------------------------------------ persistence
    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able metadata, arrays) for saving."""
        if self.method == "isotonic":
            return {"method": "isotonic"}, {"x": self.x_, "y": self.y_}
        return {"method": "platt", "coef": self.coef_, "intercept": self.intercept_}, {}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> Calibrator:
        cal = cls(meta["method"])
        if cal.method == "isotonic":
            cal.x_ = np.asarray(arrays["x"], dtype=float)
            cal.y_ = np.asarray(arrays["y"], dtype=float)
        else:
            cal.coef_ = float(meta["coef"])
            cal.intercept_ = float(meta["intercept"])
        return cal


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))
