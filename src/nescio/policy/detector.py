"""The detector: combine hallucination signals into a calibrated P(correct).

Signals are oriented higher = more likely hallucinated and may be missing (NaN). The
detector imputes each column's training median, adds a missing-indicator per column,
standardises, and fits a regularised logistic regression (default) or a histogram
gradient-boosting classifier on CORRECT (1) vs HALLUCINATED (0). Its raw output is then
calibrated (isotonic, Platt, smoothed isotonic or Venn–Abers, :mod:`nescio.policy.calibrate`)
on a separate split.

Saved state is arrays + JSON only (coefficients, medians, scaler statistics, isotonic
breakpoints). The boosting model has no array form, so it saves its (small) training
matrix and refits deterministically on load — the reloaded detector gives identical
outputs either way.
"""

from __future__ import annotations

import numpy as np

from nescio.policy.calibrate import Calibrator
from nescio.types import NescioError

DETECTOR_KINDS = ("logistic", "boosting")


class Detector:
    """Signals → P(correct).

    Parameters
    ----------
    signals : names of the signal columns, in the order of ``X``'s columns.
    kind : ``"logistic"`` (L2-regularised, default) or ``"boosting"`` (HistGradientBoosting).
    C : inverse regularisation strength of the logistic regression.
    calibration : one of :data:`~nescio.policy.calibrate.CALIBRATION_METHODS` (``"isotonic"``,
        ``"platt"``, ``"isotonic-smooth"``, ``"venn-abers"``).
    random_state : seed for the boosting model.

    Learned: ``medians_``, ``means_``, ``scales_``, ``coef_``, ``intercept_`` (logistic),
    ``calibrator_`` after :meth:`fit_calibration`.
    """

    def __init__(
        self,
        signals: tuple[str, ...] | list[str],
        kind: str = "logistic",
        C: float = 1.0,
        calibration: str = "isotonic",
        random_state: int = 0,
    ):
        self.signals = signals
        self.kind = kind
        self.C = C
        self.calibration = calibration
        self.random_state = random_state

    # ------------------------------------------------------------ features
    def _features(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.signals):
            raise NescioError(f"detector expects {len(self.signals)} signal columns, got shape {X.shape}")
        missing = np.isnan(X)
        filled = np.where(missing, self.medians_[None, :], X)
        feats = np.hstack([filled, missing.astype(float)])
        return (feats - self.means_) / self.scales_

    def fit(self, X: np.ndarray, correct: np.ndarray) -> Detector:
        """Fit the combiner on signals ``X`` [n, n_signals] and ``correct`` (bool, True = CORRECT)."""
        if self.kind not in DETECTOR_KINDS:
            raise NescioError(f"unknown detector kind {self.kind!r}; accepted: {', '.join(DETECTOR_KINDS)}")
        X = np.asarray(X, dtype=float)
        y = np.asarray(correct, dtype=bool).astype(int)
        if X.ndim != 2 or X.shape[1] != len(self.signals) or len(X) != len(y):
            raise NescioError(f"detector fit: X must be [n, {len(self.signals)}] with one label per row")
        if len(np.unique(y)) < 2:
            raise NescioError("detector fit needs both correct and hallucinated examples")
        with np.errstate(all="ignore"):
            med = np.nanmedian(X, axis=0) if len(X) else np.zeros(X.shape[1])
        self.medians_ = np.where(np.isfinite(med), med, 0.0)
        missing = np.isnan(X)
        raw = np.hstack([np.where(missing, self.medians_[None, :], X), missing.astype(float)])
        self.means_ = raw.mean(axis=0)
        sd = raw.std(axis=0)
        self.scales_ = np.where(sd > 1e-12, sd, 1.0)
        feats = (raw - self.means_) / self.scales_
        if self.kind == "logistic":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=self.C, max_iter=2000).fit(feats, y)
            self.coef_ = lr.coef_[0].astype(float)
            self.intercept_ = float(lr.intercept_[0])
        else:
            self._fit_boosting(X, y)
        return self

    def _fit_boosting(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.train_X_ = np.asarray(X, dtype=float)
        self.train_y_ = np.asarray(y, dtype=int)
        self.booster_ = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0, random_state=self.random_state
        ).fit(self.train_X_, self.train_y_)

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        """Uncalibrated P(correct) of the combiner (monotone in the calibrated one)."""
        if self.kind == "boosting":
            X = np.asarray(X, dtype=float)
            if X.ndim != 2 or X.shape[1] != len(self.signals):
                raise NescioError(f"detector expects {len(self.signals)} signal columns, got shape {X.shape}")
            return self.booster_.predict_proba(X)[:, 1]
        z = self._features(X) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def fit_calibration(self, X: np.ndarray, correct: np.ndarray) -> Detector:
        """Fit the calibrator on a split the combiner (and any probe) was not fitted on."""
        self.calibrator_ = Calibrator(self.calibration).fit(self.raw_score(X), correct)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated P(correct) per row (raw score when no calibrator was fitted)."""
        raw = self.raw_score(X)
        return self.calibrator_.predict(raw) if hasattr(self, "calibrator_") else raw

    # ------------------------------------------------------------ persistence
    def state(self, prefix: str = "detector") -> tuple[dict, dict[str, np.ndarray]]:
        meta = {
            "signals": list(self.signals),
            "kind": self.kind,
            "C": self.C,
            "calibration": self.calibration,
            "random_state": self.random_state,
        }
        arrays = {f"{prefix}.medians": self.medians_, f"{prefix}.means": self.means_, f"{prefix}.scales": self.scales_}
        if self.kind == "logistic":
            arrays[f"{prefix}.coef"] = self.coef_
            meta["intercept"] = self.intercept_
        else:
            arrays[f"{prefix}.train_X"] = self.train_X_
            arrays[f"{prefix}.train_y"] = self.train_y_.astype(np.int64)
        if hasattr(self, "calibrator_"):
            cal_meta, cal_arrays = self.calibrator_.state()
            meta["calibrator"] = cal_meta
            arrays.update({f"{prefix}.calibrator.{k}": v for k, v in cal_arrays.items()})
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray], prefix: str = "detector") -> Detector:
        det = cls(tuple(meta["signals"]), meta["kind"], meta["C"], meta["calibration"], meta["random_state"])
        det.medians_ = np.asarray(arrays[f"{prefix}.medians"], dtype=float)
        det.means_ = np.asarray(arrays[f"{prefix}.means"], dtype=float)
        det.scales_ = np.asarray(arrays[f"{prefix}.scales"], dtype=float)
        if det.kind == "logistic":
            det.coef_ = np.asarray(arrays[f"{prefix}.coef"], dtype=float)
            det.intercept_ = float(meta["intercept"])
        else:
            det._fit_boosting(arrays[f"{prefix}.train_X"], arrays[f"{prefix}.train_y"])
        if "calibrator" in meta:
            sub = {k[len(prefix) + 12 :]: v for k, v in arrays.items() if k.startswith(f"{prefix}.calibrator.")}
            det.calibrator_ = Calibrator.from_state(meta["calibrator"], sub)
        return det
