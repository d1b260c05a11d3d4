"""Linear probes on the residual stream, and the semantic-entropy probe (Kossen et al. 2024).

:class:`ResidualProbe` predicts "hallucinated" (1) vs "correct" (0) from the residual
stream at one position (``last_prompt``: before answering; ``answer_first``: the first
answer token; ``answer_mean``: mean over the answer). Standardise → L2 logistic
regression (scikit-learn); the layer and C are chosen by stratified k-fold
cross-validated AUROC **on the training data only**, then the probe is refit on all of it.

:class:`SemanticEntropyProbe` binarises semantic entropy at the split that minimises
within-group squared error (as Kossen et al.) and fits a :class:`ResidualProbe` to predict
"high semantic entropy" from one pass's hidden states, so the sampling signal's quality
is approximated without sampling at test time.

``fit(X, y)`` takes a list of generations (features read from their captured
activations) or an array ``[n, n_layers, dim]`` whose layer axis follows ``layers``.
``predict_risk(X)`` returns P(positive); higher = more likely hallucinated.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nescio.signals.features import (
    ProbeBase,
    activation_tensor,
    capture_position,
    feature_tensor,
    fit_scaled_logistic,
    linear_probability,
    stratified_folds,
    training_summary,
)
from nescio.signals.spec import DEFAULT_N_SAMPLES, SignalInfo, SignalNeeds
from nescio.types import CaptureSpec, NescioError

PROBE_POSITIONS = ("last_prompt", "answer_first", "answer_mean", "prompt_mean", "entity_last")
__all__ = ["ResidualProbe", "SemanticEntropyProbe", "best_entropy_split", "fit_scaled_logistic", "linear_probability"]


class ResidualProbe(ProbeBase):
    """Logistic-regression probe on the residual stream at one position; layer and C by CV."""

    def __init__(self, position: str = "last_prompt", layers: Sequence[int] | None = None,
                 C_grid: Sequence[float] = (0.001, 0.01, 0.1, 1.0), cv: int = 5, random_state: int = 0,
                 site: str = "resid"):
        self.position = position
        self.layers = layers
        self.C_grid = C_grid
        self.cv = cv
        self.random_state = random_state
        self.site = site

    def _check_position(self) -> None:
        if self.position not in PROBE_POSITIONS:
            raise NescioError(f"unknown probe position {self.position!r}; accepted: {', '.join(PROBE_POSITIONS)}")

    def fit(self, X, y):
        """Choose (layer, C) by cross-validated AUROC on (X, y), then refit on all of it."""
        from sklearn.metrics import roc_auc_score

        self._check_position()
        feats, layers, gens = feature_tensor(X, self.site, self.layers, self.position)
        y = np.asarray(y, dtype=float).ravel()
        keep = ~np.isnan(y) & ~np.isnan(feats).any(axis=(1, 2))
        feats, y = feats[keep], y[keep].astype(int)
        folds = stratified_folds(y, self.cv, self.random_state)
        scores = np.zeros((len(layers), len(self.C_grid)))
        for li in range(len(layers)):
            for ci, C in enumerate(self.C_grid):
                aucs = []
                for tr, va in folds:
                    params = fit_scaled_logistic(feats[tr, li], y[tr], C=C, random_state=self.random_state)
                    aucs.append(roc_auc_score(y[va], linear_probability(feats[va, li], *params)))
                scores[li, ci] = np.mean(aucs)
        li, ci = np.unravel_index(int(np.argmax(scores)), scores.shape)
        self.layer_ = int(layers[li])
        self.C_ = float(self.C_grid[ci])
        self.cv_auroc_ = float(scores[li, ci])
        self.cv_auroc_by_layer_ = {int(L): float(scores[i].max()) for i, L in enumerate(layers)}
        self.mean_, self.scale_, self.coef_, self.intercept_ = fit_scaled_logistic(
            feats[:, li], y, C=self.C_, random_state=self.random_state)
        self.n_train_ = int(y.size)
        self.training_summary_ = training_summary(y, [g for g, k in zip(gens, keep) if k] if gens else None)
        return self

    def _features(self, X) -> np.ndarray:
        if isinstance(X, np.ndarray):
            if X.ndim == 2:
                return X.astype(np.float64)
            layers = list(self.layers) if self.layers is not None else list(range(X.shape[1]))
            return X[:, layers.index(self.layer_)].astype(np.float64)
        return activation_tensor(list(X), self.site, [self.layer_], self.position)[:, 0]

    def predict_risk(self, X) -> np.ndarray:
        """P(positive class) per row: generations, ``[n, dim]`` at the chosen layer, or ``[n, L, dim]``."""
        self._check_fitted()
        return linear_probability(self._features(X), self.mean_, self.scale_, self.coef_, self.intercept_)

    def out_of_fold_risk(self, generations, y, *, n_splits: int = 5, random_state: int = 0) -> np.ndarray:
        """Out-of-fold risk on the training rows with the layer and C this fit chose (refitting
        only the scaled logistic regression per fold); unlabelled rows keep in-sample scores."""
        from sklearn.model_selection import StratifiedKFold

        self._check_fitted()
        gens = list(generations)
        y = np.asarray(y, dtype=float)
        feats = activation_tensor(gens, self.site, [self.layer_], self.position)[:, 0]
        oof = np.full(len(gens), np.nan)
        ok = ~np.isnan(y) & ~np.isnan(feats).any(axis=1)
        idx = np.where(ok)[0]
        yk = y[idx].astype(int)
        n_min = int(min((yk == 0).sum(), (yk == 1).sum()))
        if n_min >= 2:
            folds = StratifiedKFold(n_splits=min(n_splits, n_min), shuffle=True, random_state=random_state)
            for tr, va in folds.split(yk, yk):
                params = fit_scaled_logistic(feats[idx[tr]], yk[tr], C=self.C_, random_state=random_state)
                oof[idx[va]] = linear_probability(feats[idx[va]], *params)
        rest = ~ok & ~np.isnan(feats).any(axis=1)
        if rest.any():
            oof[rest] = self.predict_risk(feats[rest])
        return oof

    def capture_specs(self) -> tuple[CaptureSpec, ...]:
        """What generation must capture for this probe (only the chosen layer once fitted)."""
        layers = (self.layer_,) if hasattr(self, "layer_") else (tuple(self.layers) if self.layers else "all")
        return (CaptureSpec(self.site, layers, (capture_position(self.position),)),)

    def _get_state(self):
        arrays = {"mean": self.mean_, "scale": self.scale_, "coef": self.coef_,
                  "intercept": np.array([self.intercept_])}
        state = {"layer": self.layer_, "C": self.C_, "cv_auroc": self.cv_auroc_, "n_train": self.n_train_,
                 "cv_auroc_by_layer": {str(k): v for k, v in self.cv_auroc_by_layer_.items()},
                 "training_summary": self.training_summary_}
        return arrays, state

    def _set_state(self, arrays, state) -> None:
        self.mean_, self.scale_, self.coef_ = arrays["mean"], arrays["scale"], arrays["coef"]
        self.intercept_ = np.float64(arrays["intercept"][0])
        self.layer_, self.C_, self.cv_auroc_ = int(state["layer"]), float(state["C"]), float(state["cv_auroc"])
        self.cv_auroc_by_layer_ = {int(k): v for k, v in state["cv_auroc_by_layer"].items()}
        self.n_train_ = int(state["n_train"])
        self.training_summary_ = state["training_summary"]


def best_entropy_split(values: np.ndarray) -> float:
    """Threshold minimising the summed squared error of the two groups it makes (Kossen et al.)."""
    v = np.sort(np.asarray(values, dtype=float)[~np.isnan(values)])
    if v.size < 2 or v[0] == v[-1]:
        raise NescioError("semantic entropies are all equal; cannot split them into high and low")
    best, best_t = np.inf, float(v[0])
    for i in range(1, v.size):
        if v[i] == v[i - 1]:
            continue
        lo, hi = v[:i], v[i:]
        sse = ((lo - lo.mean()) ** 2).sum() + ((hi - hi.mean()) ** 2).sum()
        if sse < best:
            best, best_t = sse, float((v[i - 1] + v[i]) / 2)
    return best_t


class SemanticEntropyProbe(ResidualProbe):
    """Predict high (1) vs low (0) semantic entropy from one pass's residual stream."""

    def fit(self, X, y=None):
        """``y``: semantic entropy per example (continuous); computed from the generations'
        samples when omitted."""
        if y is None:
            if isinstance(X, np.ndarray):
                raise NescioError("SemanticEntropyProbe.fit needs y (semantic entropies) with array features")
            from nescio.signals.sampling import semantic_entropies

            y = semantic_entropies(list(X))
        y = np.asarray(y, dtype=float)
        self.threshold_ = best_entropy_split(y)
        labels = np.where(np.isnan(y), np.nan, (y > self.threshold_).astype(float))
        super().fit(X, labels)
        return self

    def out_of_fold_risk(self, generations, y, *, n_splits: int = 5, random_state: int = 0) -> np.ndarray:
        """As :meth:`ResidualProbe.out_of_fold_risk`, ``y`` being semantic entropies (binarised at ``threshold_``)."""
        y = np.asarray(y, dtype=float)
        labels = np.where(np.isnan(y), np.nan, (y > self.threshold_).astype(float))
        return super().out_of_fold_risk(generations, labels, n_splits=n_splits, random_state=random_state)

    def _get_state(self):
        arrays, state = super()._get_state()
        state["threshold"] = self.threshold_
        return arrays, state

    def _set_state(self, arrays, state) -> None:
        super()._set_state(arrays, state)
        self.threshold_ = float(state["threshold"])


def _residual(name: str, position: str, description: str, *, labels: str = "hallucinated",
              estimator=ResidualProbe, fit_needs: SignalNeeds | None = None) -> SignalInfo:
    return SignalInfo(
        name, "probe", description, cost=0.0, estimator=estimator, estimator_args={"position": position},
        labels=labels, probability=True, fit_needs=fit_needs or SignalNeeds(),
        needs=SignalNeeds(capture=(CaptureSpec("resid", "all", (capture_position(position),)),)),
    )


SIGNALS = (
    _residual("probe_last_prompt", "last_prompt", "logistic probe on the residual stream at the last prompt token"),
    _residual("probe_answer_first", "answer_first", "logistic probe on the residual stream at the first answer token"),
    _residual("probe_answer_mean", "answer_mean", "logistic probe on the residual stream averaged over the answer"),
    _residual("semantic_entropy_probe", "last_prompt",
              "probe predicting high semantic entropy from the last prompt token (Kossen et al. 2024)",
              labels="semantic_entropy", estimator=SemanticEntropyProbe, fit_needs=SignalNeeds(n_samples=DEFAULT_N_SAMPLES)),
    _residual("knowability_last_prompt", "last_prompt",
              "probe predicting an unanswerable question from the last prompt token, before any answer "
              "(the guard's pre-check)", labels="unanswerable"),
)
