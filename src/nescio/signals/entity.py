"""The known-entity direction (Ferrando et al. 2025).

At the last token of the entity named in the question (capture position
``entity_last``; the models area locates ``Question.entity`` in the prompt and falls
back to the last prompt token when the entity is unknown or not found), the
difference of the class means between entities the model does **not** know (label 1:
fabricated entities, or questions it answered wrongly) and entities it knows (label 0:
answered correctly) gives a direction. The score is the projection onto that unit
direction, centred at the midpoint of the two means: higher = more "unknown entity".
The layer is chosen by cross-validated AUROC on the training data only.

:func:`guess_entity` is the simple heuristic for questions that do not name their entity.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from nescio.signals.features import ProbeBase, feature_tensor, stratified_folds, training_summary
from nescio.signals.spec import SignalInfo, SignalNeeds
from nescio.types import CaptureSpec, NescioError

_STOP = {"What", "Which", "Who", "Whom", "Whose", "When", "Where", "Why", "How", "In", "On", "The", "A", "An",
         "Is", "Was", "Did", "Does", "Do", "Are", "Were", "Name", "According", "Of", "For", "By"}


def guess_entity(question: str) -> str | None:
    """The last run of capitalised words (or a quoted title) in ``question``, skipping
    question words; ``None`` when there is none."""
    quoted = re.findall(r"[\"“']([^\"”']{2,})[\"”']", question)
    if quoted:
        return quoted[-1]
    runs = re.findall(r"(?:[A-Z][\w\-.']*(?:\s+(?:of|the|de|von|van|and)\s+|\s+)?)+", question)
    runs = [" ".join(w for w in r.split() if w not in _STOP).strip() for r in runs]
    runs = [r for r in runs if r]
    return runs[-1] if runs else None


def _projection(X: np.ndarray, direction: np.ndarray, midpoint: np.ndarray) -> np.ndarray:
    return (X - midpoint) @ direction


def _direction(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu1, mu0 = X[y == 1].mean(axis=0), X[y == 0].mean(axis=0)
    d = mu1 - mu0
    norm = np.linalg.norm(d)
    if norm == 0:
        raise NescioError("known and unknown entities have identical mean activations; no direction")
    return d / norm, (mu1 + mu0) / 2


class KnownEntityDirection(ProbeBase):
    """Difference-of-means direction at the entity's last token; score = projection."""

    def __init__(self, layers: Sequence[int] | None = None, cv: int = 5, random_state: int = 0,
                 position: str = "entity_last"):
        self.layers = layers
        self.cv = cv
        self.random_state = random_state
        self.position = position

    def fit(self, X, y):
        """``y``: 1 = unknown / fabricated entity (or answered wrongly), 0 = known."""
        from sklearn.metrics import roc_auc_score

        feats, layers, gens = feature_tensor(X, "resid", self.layers, self.position)
        y = np.asarray(y, dtype=float).ravel()
        keep = ~np.isnan(y) & ~np.isnan(feats).any(axis=(1, 2))
        feats, y = feats[keep], y[keep].astype(int)
        folds = stratified_folds(y, self.cv, self.random_state)
        scores = []
        for li in range(len(layers)):
            aucs = []
            for tr, va in folds:
                d, mid = _direction(feats[tr, li], y[tr])
                aucs.append(roc_auc_score(y[va], _projection(feats[va, li], d, mid)))
            scores.append(float(np.mean(aucs)))
        li = int(np.argmax(scores))
        self.layer_ = int(layers[li])
        self.cv_auroc_ = scores[li]
        self.cv_auroc_by_layer_ = {int(L): s for L, s in zip(layers, scores)}
        self.direction_, self.midpoint_ = _direction(feats[:, li], y)
        self.n_train_ = int(y.size)
        self.training_summary_ = training_summary(y, [g for g, k in zip(gens, keep) if k] if gens else None)
        return self

    def predict_risk(self, X) -> np.ndarray:
        """Projection onto the unknown-minus-known direction (higher = less known)."""
        self._check_fitted()
        if isinstance(X, np.ndarray) and X.ndim == 2:
            feats = X.astype(np.float64)
        elif isinstance(X, np.ndarray):
            layers = list(self.layers) if self.layers is not None else list(range(X.shape[1]))
            feats = X[:, layers.index(self.layer_)].astype(np.float64)
        else:
            feats = feature_tensor(list(X), "resid", [self.layer_], self.position)[0][:, 0]
        return _projection(feats, self.direction_, self.midpoint_)

    def capture_specs(self) -> tuple[CaptureSpec, ...]:
        layers = (self.layer_,) if hasattr(self, "layer_") else (tuple(self.layers) if self.layers else "all")
        return (CaptureSpec("resid", layers, (self.position,)),)

    def _get_state(self):
        arrays = {"direction": self.direction_, "midpoint": self.midpoint_}
        state = {"layer": self.layer_, "cv_auroc": self.cv_auroc_, "n_train": self.n_train_,
                 "cv_auroc_by_layer": {str(k): v for k, v in self.cv_auroc_by_layer_.items()},
                 "training_summary": self.training_summary_}
        return arrays, state

    def _set_state(self, arrays, state) -> None:
        self.direction_, self.midpoint_ = arrays["direction"], arrays["midpoint"]
        self.layer_, self.cv_auroc_, self.n_train_ = int(state["layer"]), float(state["cv_auroc"]), int(state["n_train"])
        self.cv_auroc_by_layer_ = {int(k): v for k, v in state["cv_auroc_by_layer"].items()}
        self.training_summary_ = state["training_summary"]


SIGNALS = (
    SignalInfo("entity_direction", "probe", "projection on the unknown-minus-known entity direction (Ferrando et al. 2025)",
               cost=0.0, estimator=KnownEntityDirection, labels="unknown_entity",
               needs=SignalNeeds(capture=(CaptureSpec("resid", "all", ("entity_last",)),))),
)
