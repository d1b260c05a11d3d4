"""Reading captured activations off generations as feature matrices, and saving fitted probes.

Positions as the probes read them:

- ``last_prompt``, ``prompt_mean``, ``answer_mean``, ``entity_last``: the pooled ``[dim]``
  vector captured at that position.
- ``answer_first``: row 0 of the stacked ``answer`` capture, i.e. the residual stream at
  the first answer token (the model reading its own first answer token; for the short
  answers of closed-book QA this is the start of the exact answer). Requires the
  ``answer`` position to be captured. NaN when the answer has no tokens.

Probes save as ``<dir>/probe.safetensors`` (float64 arrays) + ``<dir>/probe.json``
(schema version, class, parameters, learned scalars, training-data summary); loading
never executes code, and a reloaded probe gives bit-identical scores.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.artifacts import read_artifact, write_artifact
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


# ------------------------------------------------------------------ save / load

PROBE_CLASSES: dict[str, type] = {}


def register_probe_class(cls):
    PROBE_CLASSES[cls.__name__] = cls
    return cls


def save_probe(probe, directory: str | os.PathLike) -> Path:
    """Save a fitted probe as safetensors + JSON into ``directory``; returns the directory."""
    arrays, state = probe._get_state()
    return write_artifact(
        directory, "probe", artifact="probe", version=PROBE_SCHEMA_VERSION,
        meta={"class": type(probe).__name__, "params": probe.get_params(), "state": state},
        arrays={k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()},
    )


def load_probe(directory: str | os.PathLike):
    """Load a probe saved by :func:`save_probe` (no code is executed)."""
    from nescio.signals import entity, neurons, probes  # noqa: F401  (register the classes)

    meta, arrays = read_artifact(directory, "probe", artifact="probe", version=PROBE_SCHEMA_VERSION)
    cls = PROBE_CLASSES.get(meta["class"])
    if cls is None:
        raise NescioError(f"{directory}: unknown probe class {meta['class']!r}; accepted: {', '.join(PROBE_CLASSES)}")
    params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in meta["params"].items()}
    probe = cls(**params)
    probe._set_state(arrays, meta["state"])
    return probe


class ProbeBase:
    """scikit-learn style base: ``get_params`` from ``__init__`` arguments, NaN-safe scoring."""

    _param_names: tuple[str, ...] = ()

    def get_params(self, deep: bool = True) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in ((n, getattr(self, n)) for n in self._param_names)}

    def set_params(self, **params):
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_train_"):
            raise NescioError(f"{type(self).__name__} is not fitted yet: call fit first")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
