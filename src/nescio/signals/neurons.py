"""H-Neurons (Gao et al. 2025): a sparse set of FFN neurons whose contribution predicts hallucination.

CETT of FFN neuron j at token t is ``|z_j,t| · ‖W_down[:, j]‖₂ / ‖h_t‖₂`` (z = input of
``down_proj``, h = its output): neuron j's share of the FFN output's norm. Generation
captures it at site ``cett`` for every layer, averaged over the answer tokens
(``answer_mean``) and over the prompt tokens (``prompt_mean``, "the other tokens").

:class:`HNeuronProbe` standardises the 2 × n_layers × d_ffn features and fits an
L1-penalised logistic regression (scikit-learn, liblinear) for hallucinated (1) vs
correct (0); C is chosen by accuracy on a stratified held-out quarter of the training
data, then the probe is refit on all of it. **H-Neurons** are the neurons whose
answer-token CETT feature gets a positive weight; ``h_neuron_share_`` is their count
over all FFN neurons (target in the paper: under 0.1%).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nescio.signals.features import (
    ProbeBase,
    activation_vector,
    available_layers,
    fit_scaled_logistic,
    linear_probability,
    training_summary,
)
from nescio.signals.spec import SignalInfo, SignalNeeds
from nescio.types import CaptureSpec, NescioError

CETT_POSITIONS = ("answer_mean", "prompt_mean")


def cett(z: np.ndarray, w_down: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Reference CETT: ``z`` [T, d_ffn] (down_proj input), ``w_down`` [d_model, d_ffn],
    ``h`` [T, d_model] (down_proj output) → [T, d_ffn]."""
    col_norm = np.linalg.norm(np.asarray(w_down, dtype=np.float64), axis=0)
    h_norm = np.linalg.norm(np.asarray(h, dtype=np.float64), axis=-1, keepdims=True)
    return np.abs(np.asarray(z, dtype=np.float64)) * col_norm / np.maximum(h_norm, 1e-12)


def cett_features(generations, layers: Sequence[int]) -> np.ndarray:
    """``[n, 2 · n_layers · d_ffn]``: answer_mean CETT of every layer, then prompt_mean CETT."""
    rows = []
    for g in generations:
        rows.append(np.concatenate([activation_vector(g, "cett", L, pos) for pos in CETT_POSITIONS for L in layers]))
    return np.stack(rows)


class HNeuronProbe(ProbeBase):
    """L1 logistic regression over the CETT of all FFN neurons of all layers."""

    def __init__(self, layers: Sequence[int] | None = None,
                 C_grid: Sequence[float] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
                 holdout: float = 0.25, random_state: int = 0):
        self.layers = layers
        self.C_grid = C_grid
        self.holdout = holdout
        self.random_state = random_state

    def _layers_for(self, gens) -> list[int]:
        return list(self.layers) if self.layers is not None else available_layers(gens, "cett", "answer_mean")

    def fit(self, X, y, *, d_ffn: int | None = None):
        """``X``: generations with ``cett`` captured at answer_mean and prompt_mean, or a
        ``[n, 2 · n_layers · d_ffn]`` array (give ``layers``; ``d_ffn`` is inferred)."""
        from sklearn.model_selection import train_test_split

        if isinstance(X, np.ndarray):
            if self.layers is None:
                raise NescioError("HNeuronProbe.fit with array features needs layers=[...]")
            layers, feats, gens = list(self.layers), X.astype(np.float64), None
        else:
            gens = list(X)
            layers = self._layers_for(gens)
            feats = cett_features(gens, layers)
        n_layers = len(layers)
        if feats.shape[1] % (2 * n_layers):
            raise NescioError(f"CETT features of width {feats.shape[1]} do not split into 2 x {n_layers} layers")
        d = feats.shape[1] // (2 * n_layers)
        y = np.asarray(y, dtype=float).ravel()
        keep = ~np.isnan(y) & ~np.isnan(feats).any(axis=1)
        feats, y = feats[keep], y[keep].astype(int)
        if min(np.sum(y == 0), np.sum(y == 1)) < 4:
            raise NescioError("need at least 4 examples of each class to fit the H-Neuron probe")
        tr, va = train_test_split(np.arange(y.size), test_size=self.holdout, stratify=y,
                                  random_state=self.random_state)
        acc = []
        for C in self.C_grid:
            params = fit_scaled_logistic(feats[tr], y[tr], C=C, penalty="l1", random_state=self.random_state)
            acc.append(float(np.mean((linear_probability(feats[va], *params) > 0.5) == y[va])))
        best = int(np.argmax(acc))  # first best = the smallest, sparsest C among ties
        self.C_ = float(self.C_grid[best])
        self.holdout_accuracy_ = acc[best]
        self.holdout_accuracy_by_C_ = {str(c): a for c, a in zip(self.C_grid, acc)}
        self.mean_, self.scale_, self.coef_, self.intercept_ = fit_scaled_logistic(
            feats, y, C=self.C_, penalty="l1", random_state=self.random_state)
        self.layers_ = [int(L) for L in layers]
        self.d_ffn_ = int(d)
        self.n_train_ = int(y.size)
        self.training_summary_ = training_summary(y, [g for g, k in zip(gens, keep) if k] if gens else None)
        return self

    # ---- the neurons
    @property
    def n_neurons_total_(self) -> int:
        return len(self.layers_) * self.d_ffn_

    @property
    def h_neurons_(self) -> list[tuple[int, int]]:
        """(layer, neuron) pairs whose answer-token CETT weight is positive."""
        self._check_fitted()
        w = self.coef_[: self.n_neurons_total_].reshape(len(self.layers_), self.d_ffn_)
        return [(self.layers_[i], int(j)) for i, j in zip(*np.nonzero(w > 0))]

    @property
    def h_neuron_share_(self) -> float:
        return len(self.h_neurons_) / self.n_neurons_total_

    def predict_risk(self, X) -> np.ndarray:
        """P(hallucinated) per generation (or per row of a feature array)."""
        self._check_fitted()
        feats = X.astype(np.float64) if isinstance(X, np.ndarray) else cett_features(list(X), self.layers_)
        return linear_probability(feats, self.mean_, self.scale_, self.coef_, self.intercept_)

    def capture_specs(self) -> tuple[CaptureSpec, ...]:
        """CETT at both positions; once fitted, all layers are still read (features are
        indexed by layer), so the request is every fitted layer."""
        layers = tuple(self.layers_) if hasattr(self, "layers_") else (tuple(self.layers) if self.layers else "all")
        return (CaptureSpec("cett", layers, CETT_POSITIONS),)

    def _get_state(self):
        arrays = {"mean": self.mean_, "scale": self.scale_, "coef": self.coef_, "intercept": np.array([self.intercept_])}
        state = {"C": self.C_, "holdout_accuracy": self.holdout_accuracy_,
                 "holdout_accuracy_by_C": self.holdout_accuracy_by_C_, "layers": self.layers_, "d_ffn": self.d_ffn_,
                 "n_train": self.n_train_, "training_summary": self.training_summary_,
                 "n_h_neurons": len(self.h_neurons_), "h_neuron_share": self.h_neuron_share_}
        return arrays, state

    def _set_state(self, arrays, state) -> None:
        self.mean_, self.scale_, self.coef_ = arrays["mean"], arrays["scale"], arrays["coef"]
        self.intercept_ = np.float64(arrays["intercept"][0])
        self.C_, self.holdout_accuracy_ = float(state["C"]), float(state["holdout_accuracy"])
        self.holdout_accuracy_by_C_ = state["holdout_accuracy_by_C"]
        self.layers_, self.d_ffn_ = [int(L) for L in state["layers"]], int(state["d_ffn"])
        self.n_train_, self.training_summary_ = int(state["n_train"]), state["training_summary"]


SIGNALS = (
    SignalInfo("h_neurons", "probe", "L1 logistic regression on FFN-neuron CETT (H-Neurons, Gao et al. 2025)",
               cost=0.0, estimator=HNeuronProbe, labels="hallucinated", probability=True,
               needs=SignalNeeds(capture=(CaptureSpec("cett", "all", CETT_POSITIONS),))),
)
