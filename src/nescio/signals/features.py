"""Fitted-signal plumbing (a leaf module: it imports no other ``nescio.signals`` module).

Reading captured activations off generations as feature matrices, the cross-validation
and logistic-regression helpers every probe shares, :class:`ProbeBase` (scikit-learn's
estimator contract) and probe saving. Loading (which needs the class table) is
:func:`nescio.signals.registry.load_probe`.

Positions as the probes read them:

- ``last_prompt``, ``prompt_mean``, ``answer_mean``, ``entity_last``: the pooled ``[dim]``
  vector captured at that position.
- ``answer_first``: row 0 of the stacked ``answer`` capture, i.e. the residual stream at
  the first answer token (the model reading its own first answer token; for the short
  answers of closed-book QA this is the start of the exact answer). Requires the
  ``answer`` position to be captured. NaN when the answer has no tokens.

Probes save as ``<dir>/probe.safetensors`` (float64 arrays) + ``<dir>/probe.json``
(schema version, class, parameters, registry name and arguments when known, learned
scalars, training-data summary); loading never executes code, and a reloaded probe gives
bit-identical scores.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.artifacts import write_artifact
from nescio.params import Params
from nescio.types import Generation, NescioError, activation_key

PROBE_SCHEMA_VERSION = 1


def capture_position(position: str) -> str:
    """The capture position that a probe position reads (``answer_first`` reads ``answer``)."""
    return "answer" if position == "answer_first" else position


def available_layers(generations: Sequence[Generation], site: str, position: str) -> list[int]:
    """Layers captured for ``site``/``position`` in the first generation, sorted."""
    pos = capture_position(position)
    pat = re.compile(rf"^{re.escape(site)}/(\d+)/{re.escape(pos)}$")
    layers = sorted(int(m.group(1)) for k in generations[0].activations if (m := pat.match(k))) if generations else []
    if not layers:
        raise NescioError(
            f"no {site!r} activations at position {pos!r} were captured; generate with "
            f"CaptureSpec({site!r}, 'all', ({pos!r},)) (nescio.signals.capture_needs does this)"
        )
    return layers


def activation_vector(g: Generation, site: str, layer: int, position: str) -> np.ndarray:
    """One captured vector as float64 (NaN-filled if the answer has no tokens)."""
    key = activation_key(site, layer, capture_position(position))
    if key not in g.activations:
        raise NescioError(f"question {g.question.id!r}: activation {key!r} was not captured; have: "
                          f"{', '.join(sorted(g.activations)) or 'none'}")
    a = np.asarray(g.activations[key], dtype=np.float64)
    if position == "answer_first":
        if a.ndim != 2:
            raise NescioError(f"activation {key!r} should be stacked [n_tokens, dim], got shape {a.shape}")
        return a[0] if a.shape[0] else np.full(a.shape[1], np.nan)
    return a.reshape(-1)


def activation_tensor(generations: Sequence[Generation], site: str, layers: Sequence[int], position: str) -> np.ndarray:
    """``[n_generations, n_layers, dim]`` float64 features."""
    return np.stack(
        [np.stack([activation_vector(g, site, L, position) for L in layers]) for g in generations]
    )


def training_summary(y: np.ndarray, generations: Sequence[Generation] | None = None) -> dict:
    """Counts that describe a probe's training data (saved with it)."""
    y = np.asarray(y)
    out: dict = {"n": int(y.size), "n_positive": int(np.sum(y > 0.5)) if y.size else 0}
    if generations is not None:
        cats: dict[str, int] = {}
        for g in generations:
            cats[g.question.category] = cats.get(g.question.category, 0) + 1
        out["categories"] = dict(sorted(cats.items()))
        out["question_sources"] = sorted({g.question.source for g in generations})
    return out


def feature_tensor(X, site: str, layers, position: str) -> tuple[np.ndarray, list[int], list | None]:
    """(features ``[n, n_layers, dim]`` float64, layers, generations or None) from generations
    (read at ``site``/``position``) or from an array ``[n, dim]`` / ``[n, n_layers, dim]``."""
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


def stratified_folds(y: np.ndarray, cv: int, random_state: int) -> list:
    """Stratified k-fold splits of ``y`` (0/1), at most as many folds as the rarer class has rows."""
    from sklearn.model_selection import StratifiedKFold

    n_min = int(min(np.sum(y == 0), np.sum(y == 1)))
    if n_min < 2:
        raise NescioError(f"need at least 2 examples of each class to fit a probe, got {n_min} of the rarer class")
    return list(StratifiedKFold(n_splits=min(cv, n_min), shuffle=True, random_state=random_state).split(y, y))


def fit_scaled_logistic(X: np.ndarray, y: np.ndarray, *, C: float, penalty: str = "l2", random_state: int = 0):
    """StandardScaler + LogisticRegression; returns (mean, scale, coef, intercept) as float64."""
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

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


# ------------------------------------------------------------------ estimator contract and saving


class ProbeBase(Params):
    """scikit-learn's estimator contract for fitted signals.

    ``__init__`` only stores its arguments; :meth:`get_params` reads them from the
    ``__init__`` signature (no hand-kept list); ``fit`` returns self; learned state ends in
    ``_``; ``predict_risk`` (higher = riskier, NaN rows stay NaN) refuses unfitted use.
    Subclasses implement ``_get_state() -> (arrays, state)`` and ``_set_state(arrays, state)``
    for :func:`save_probe` / ``nescio.signals.load_probe``.
    """

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_train_"):
            raise NescioError(f"{type(self).__name__} is not fitted yet: call fit first")

    def out_of_fold_risk(self, generations: Sequence[Generation], y: np.ndarray, *, n_splits: int = 5,
                         random_state: int = 0) -> np.ndarray:
        """Risk scores for the (fitted-on) training rows without in-sample optimism.

        Rows with a label get the score of an estimator with the same parameters refitted on
        the other folds (stratified, ``min(n_splits, rarer class)`` folds); rows without a
        label (NaN) keep the fitted estimator's score. Subclasses may refit faster (e.g.
        with the hyperparameters this fit chose)."""
        from sklearn.model_selection import StratifiedKFold

        self._check_fitted()
        gens = list(generations)
        y = np.asarray(y, dtype=float)
        risk = np.asarray(self.predict_risk(gens), dtype=float)
        idx = np.where(~np.isnan(y) & np.isfinite(risk))[0]
        yk = y[idx].astype(int)
        n_min = int(min((yk == 0).sum(), (yk == 1).sum())) if yk.size else 0
        if n_min < 2:
            return risk
        params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in self.get_params().items()}
        folds = StratifiedKFold(n_splits=min(n_splits, n_min), shuffle=True, random_state=random_state)
        for tr, va in folds.split(yk, yk):
            try:
                est = type(self)(**params).fit([gens[i] for i in idx[tr]], yk[tr])
            except NescioError:  # a fold too small for the estimator's own search: keep the in-sample score
                continue
            risk[idx[va]] = est.predict_risk([gens[i] for i in idx[va]])
        return risk



def save_probe(probe, directory: str | os.PathLike, *, signal: str | None = None, signal_args: dict | None = None) -> Path:
    """Save a fitted probe as safetensors + JSON into ``directory``; returns the directory.

    ``signal`` / ``signal_args``: the registry name and arguments it was built from (recorded
    so a saved pipeline can be rebuilt from its spec)."""
    probe._check_fitted()
    arrays, state = probe._get_state()
    meta = {"class": type(probe).__name__, "params": probe.get_params(), "state": state}
    if signal is not None:
        meta |= {"signal": signal, "signal_args": _jsonable(signal_args or {})}
    return write_artifact(directory, "probe", artifact="probe", version=PROBE_SCHEMA_VERSION, meta=meta,
                          arrays={k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})


def _jsonable(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}
