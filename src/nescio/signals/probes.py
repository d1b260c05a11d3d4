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
    available_layers,
    capture_position,
    register_probe_class,
    training_summary,
)
from nescio.signals.registry import SignalNeeds, register_signal
from nescio.types import CaptureSpec, NescioError

PROBE_POSITIONS = ("last_prompt", "answer_first", "answer_mean", "prompt_mean", "entity_last")


def _as_tensor(X, site: str, layers, position: str) -> tuple[np.ndarray, list[int], list | None]:
    """(features [n, L, d], layers, generations or None)."""
    if isinstance(X, np.ndarray):
        if X.ndim == 2:
            X = X[:, None, :]
        if X.ndim != 3:
            raise NescioError(f"probe features must be [n, n_layers, dim], got shape {X.shape}")
        lay = list(layers) if layers is not None else list(range(X.shape[1]))
        if len(lay) != X.shape[1]:
            raise NescioError(f"features have {X.shape[1]} layers but layers={lay}")
        return X.astype(np.float64), lay, None
    gens = list(X)
    lay = list(layers) if layers is not None else available_layers(gens, site, position)
    return activation_tensor(gens, site, lay, position), lay, gens


def _stratified_folds(y: np.ndarray, cv: int, random_state: int):
    from sklearn.model_selection import StratifiedKFold

    n_min = int(min(np.sum(y == 0), np.sum(y == 1)))
    if n_min < 2:
        raise NescioError(f"need at least 2 examples of each class to fit a probe, got {n_min} of the rarer class")
    return list(StratifiedKFold(n_splits=min(cv, n_min), shuffle=True, random_state=random_state).split(y, y))


def fit_scaled_logistic(X: np.ndarray, y: np.ndarray, *, C: float, penalty: str = "l2", random_state: int = 0):
    """StandardScaler + LogisticRegression; returns (mean, scale, coef, intercept) as float64."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    import sklearn

    scaler = StandardScaler().fit(X)
    solver = "liblinear" if penalty == "l1" else "lbfgs"
    if tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 8):  # `penalty` deprecated in 1.8
        kind = {"l1_ratio": 1.0 if penalty == "l1" else 0.0}
    else:
        kind = {"penalty": penalty}
    clf = LogisticRegression(C=C, solver=solver, max_iter=5000, random_state=random_state, **kind)
    clf.fit(scaler.transform(X), y)
    return (scaler.mean_.astype(np.float64), scaler.scale_.astype(np.float64),
            clf.coef_.ravel().astype(np.float64), np.float64(clf.intercept_[0]))


def linear_probability(X: np.ndarray, mean, scale, coef, intercept) -> np.ndarray:
    """sigmoid(((X − mean) / scale) · coef + intercept); NaN rows stay NaN."""
    from scipy.special import expit

    z = ((np.asarray(X, dtype=np.float64) - mean) / scale) @ coef + intercept
    return expit(z)


@register_probe_class
class ResidualProbe(ProbeBase):
    """Logistic-regression probe on the residual stream at one position; layer and C by CV."""

    _param_names = ("position", "layers", "C_grid", "cv", "random_state", "site")

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
        feats, layers, gens = _as_tensor(X, self.site, self.layers, self.position)
        y = np.asarray(y, dtype=float).ravel()
        keep = ~np.isnan(y) & ~np.isnan(feats).any(axis=(1, 2))
        feats, y = feats[keep], y[keep].astype(int)
        folds = _stratified_folds(y, self.cv, self.random_state)
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


@register_probe_class
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

    def _get_state(self):
        arrays, state = super()._get_state()
        state["threshold"] = self.threshold_
        return arrays, state

    def _set_state(self, arrays, state) -> None:
        super()._set_state(arrays, state)
        self.threshold_ = float(state["threshold"])


_RESID_ALL = "all"
for _name, _pos, _desc in (
    ("probe_last_prompt", "last_prompt", "logistic probe on the residual stream at the last prompt token"),
    ("probe_answer_first", "answer", "logistic probe on the residual stream at the first answer token"),
    ("probe_answer_mean", "answer_mean", "logistic probe on the residual stream averaged over the answer"),
    ("semantic_entropy_probe", "last_prompt",
     "probe predicting high semantic entropy from the last prompt token (Kossen et al. 2024)"),
):
    register_signal(_name, family="probe", description=_desc, fitted=True, cost=0.0,
                    needs=SignalNeeds(capture=(CaptureSpec("resid", _RESID_ALL, (_pos,)),)))
