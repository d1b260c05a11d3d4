"""The guard's signal set: named registry signals → one ``[n, k]`` matrix (higher = riskier).

Computed signals come straight from :func:`nescio.signals.compute_signals`. Fitted ones
are built from their registry entry (:func:`nescio.signals.build_estimator`) with the
guard's fast search (:data:`FAST_SEARCH`, on at most :func:`probe_layer_subset` layers)
and trained on their entry's label recipe, on the training split only. ``fit_transform``
returns *out-of-fold* scores for fitted signals so the detector's combiner does not
learn from in-sample optimism.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from nescio.params import Params, plain
from nescio.types import Generation, NescioError

FAST_SEARCH = {"C_grid": (0.01, 0.1), "cv": 3}
"""Estimator arguments the guard uses by default where the estimator accepts them (keeps a
whole guard fit in seconds on 2 CPU cores); ``SignalSet(estimator_args=...)`` overrides."""


def probe_layer_subset(layers: Sequence[int], max_layers: int = 6) -> tuple[int, ...]:
    """Layers a probe's cross-validation searches: up to ``max_layers`` evenly spread over
    the upper three quarters of the network (where the probe literature finds the signal)."""
    layers = sorted(layers)
    if len(layers) <= max_layers:
        return tuple(layers)
    upper = layers[len(layers) // 4:]
    pick = np.unique(np.round(np.linspace(0, len(upper) - 1, max_layers)).astype(int))
    return tuple(int(upper[i]) for i in pick)


def check_signals(names: Sequence[str] | None, default: Sequence[str]) -> list[str]:
    """Signal names as a list (``default`` when None); unknown names are a NescioError naming the accepted ones."""
    from nescio.signals import signal_info

    names = list(default if names is None else names)
    if not names:
        raise NescioError("signals list is empty; name at least one signal")
    for n in names:
        signal_info(n)
    if len(set(names)) != len(names):
        raise NescioError(f"signals list names a signal twice: {', '.join(names)}")
    return names


class SignalSet(Params):
    """Signals → matrix.

    Parameters: ``signals`` (registry names, computed or fitted); ``estimator_args``
    (per-signal overrides of the fitted estimators' arguments; default :data:`FAST_SEARCH`);
    ``max_layers`` (layers a fitted probe's search covers); ``oof_folds``; ``random_state``.
    Learned: ``estimators_`` (name → fitted estimator), ``estimator_args_`` (name → the
    arguments it was built with, recorded on save).
    """

    def __init__(self, signals: Sequence[str] = (), estimator_args: Mapping[str, Mapping] | None = None,
                 max_layers: int = 6, oof_folds: int = 5, random_state: int = 0):
        self.signals = signals
        self.estimator_args = estimator_args
        self.max_layers = max_layers
        self.oof_folds = oof_folds
        self.random_state = random_state

    def _fitted_names(self) -> list[str]:
        from nescio.signals import signal_info

        return [n for n in self.signals if signal_info(n).fitted]

    def _args(self, name: str, layers: Sequence[int] | None) -> dict:
        from nescio.signals import signal_info

        info = signal_info(name)
        accepted = set(inspect.signature(info.estimator).parameters)
        args = {k: v for k, v in FAST_SEARCH.items() if k in accepted}
        if "random_state" in accepted:
            args["random_state"] = self.random_state
        if layers is not None and "layers" in accepted:
            args["layers"] = probe_layer_subset(layers, self.max_layers)
        args.update((self.estimator_args or {}).get(name, {}))
        return args

    def unfitted(self, n_layers: int | None = None) -> dict:
        """Fresh estimators for the fitted signals (their search narrowed to the layer subset of
        ``n_layers`` when given), e.g. to ask what fitting them needs captured."""
        from nescio.signals import build_estimator

        layers = range(n_layers) if n_layers else None
        return {n: build_estimator(n, **self._args(n, layers)) for n in self._fitted_names()}

    def capture_needs(self, *, n_layers: int | None = None, fitting: bool = False) -> dict:
        """GenerationConfig fields: after fit, what scoring needs (fitted probes: their chosen
        layers); before (or with ``fitting=True``), what fitting needs on ``n_layers`` layers."""
        from nescio.signals import capture_needs

        probes = self.estimators_ if hasattr(self, "estimators_") and not fitting else self.unfitted(n_layers)
        return capture_needs(list(self.signals), probes=probes, fitting=fitting)

    # ------------------------------------------------------------------ fitting
    def fit(self, generations: Sequence[Generation], outcomes=None) -> SignalSet:
        self._fit(list(generations), outcomes, oof=False)
        return self

    def fit_transform(self, generations: Sequence[Generation], outcomes=None) -> np.ndarray:
        """Fit, then the training matrix with out-of-fold scores for fitted signals."""
        gens = list(generations)
        oof = self._fit(gens, outcomes, oof=True)
        return self._matrix(gens, oof)

    def _fit(self, gens: list[Generation], outcomes, *, oof: bool) -> dict[str, np.ndarray]:
        import warnings

        from nescio.signals import build_estimator, signal_labels
        from nescio.signals.features import available_layers

        check_signals(self.signals, ())
        self.estimators_, self.estimator_args_, scores = {}, {}, {}
        for name in self._fitted_names():
            y = signal_labels(name, gens, outcomes)
            probe = build_estimator(name, **self._args(name, None))
            layers = None
            if hasattr(probe, "site") and hasattr(probe, "position") and "layers" in probe.get_params():
                layers = available_layers(gens, probe.site, probe.position)
            args = self._args(name, layers)
            probe = build_estimator(name, **args)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                probe.fit(gens, y)
                if oof:
                    scores[name] = probe.out_of_fold_risk(gens, y, n_splits=self.oof_folds,
                                                          random_state=self.random_state)
            self.estimators_[name] = probe
            self.estimator_args_[name] = args
        return scores

    # ------------------------------------------------------------------ scoring
    def transform(self, generations: Sequence[Generation]) -> np.ndarray:
        """``[n, len(signals)]`` values (higher = riskier, NaN = missing)."""
        if not hasattr(self, "estimators_"):
            raise NescioError("signal set is not fitted: call fit first")
        return self._matrix(list(generations), {})

    def _matrix(self, gens: list[Generation], precomputed: dict[str, np.ndarray]) -> np.ndarray:
        from nescio.signals import compute_signals

        todo = [n for n in self.signals if n not in precomputed]
        table = compute_signals(gens, todo, probes=self.estimators_) if todo else None
        cols = [np.asarray(precomputed[n] if n in precomputed else table.values[n], dtype=float) for n in self.signals]
        return np.column_stack(cols) if cols and gens else np.zeros((len(gens), len(self.signals)))

    def costs(self, generations: Sequence[Generation]) -> dict[str, float]:
        """Extra forward passes per question of each signal (0 for fitted probes)."""
        from nescio.signals import signal_info

        gens = list(generations)
        return {n: signal_info(n).cost_per_question(gens) if gens else 0.0 for n in self.signals}

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> dict:
        """Write each fitted estimator to ``directory/<name>/``; returns the JSON spec to keep."""
        from nescio.signals.features import save_probe

        directory = Path(directory)
        spec = {"params": self.get_params(), "estimators": {}}
        for name, est in self.estimators_.items():
            save_probe(est, directory / name, signal=name, signal_args=self.estimator_args_[name])
            spec["estimators"][name] = {"dir": name, "signal": name, "args": plain(self.estimator_args_[name])}
        return spec

    @classmethod
    def load(cls, directory: str | Path, spec: dict) -> SignalSet:
        """Rebuild from :meth:`save`'s spec and the estimators under ``directory``."""
        from nescio.params import from_params
        from nescio.signals import load_probe

        directory = Path(directory)
        try:
            out = from_params(cls, spec["params"])
            out.estimators_ = {n: load_probe(directory / e["dir"]) for n, e in spec["estimators"].items()}
            out.estimator_args_ = {n: e["args"] for n, e in spec["estimators"].items()}
        except (KeyError, TypeError, AttributeError) as exc:
            from nescio.artifacts import damaged

            raise damaged(directory, exc) from None
        return out
