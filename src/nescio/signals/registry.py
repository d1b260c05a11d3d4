"""The signal registry: every signal, computed or fitted, by name (:class:`~nescio.signals.spec.SignalInfo`).

A *computed* signal is a function ``f(generations) -> np.ndarray`` (one value per
generation, higher = more likely hallucinated, NaN = missing). A *fitted* signal is
built from its entry (:func:`build_estimator`: estimator factory + arguments), trained
on the labels its recipe makes (:data:`LABEL_RECIPES`, :func:`fit_signal`) and scored by
the fitted estimator passed to :func:`compute_signals` under its name.

Needs are declared so that generation captures exactly what the chosen signals read:
:func:`capture_needs` merges them into :class:`~nescio.types.GenerationConfig` fields.
Costs are *extra model forward passes per question relative to greedy generation*:
0 for anything read off the greedy pass (logits, captured activations), 1 for P(True)
(one extra prefill), and the sampled tokens for sampling signals.

This module imports every signal module at import time (they import only the leaf
modules ``spec`` and ``features``), so the table is complete whatever is imported first.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nescio.signals import attention, entity, logits, neurons, probes, reflexive, retrieval, sampling
from nescio.signals.features import PROBE_SCHEMA_VERSION
from nescio.signals.spec import FAMILIES, SignalInfo, SignalNeeds
from nescio.types import CaptureSpec, Generation, NescioError, NeuronScaling, Outcome, SignalTable

__all__ = ["SIGNALS", "FAMILIES", "LABEL_RECIPES", "SignalInfo", "SignalNeeds", "register_signal", "list_signals",
           "signal_info", "merge_captures", "capture_needs", "compute_signals", "build_estimator", "signal_labels",
           "fit_signal", "load_probe"]

SIGNALS: dict[str, SignalInfo] = {}


# ------------------------------------------------------------------ label recipes
def _outcomes(outcomes, n: int) -> list[Outcome]:
    if outcomes is None:
        raise NescioError("this label recipe needs the graded outcomes of the training generations")
    out = [Outcome.coerce(o) for o in outcomes]
    if len(out) != n:
        raise NescioError(f"{len(out)} outcomes for {n} generations")
    return out


def _hallucinated(gens: Sequence[Generation], outcomes) -> np.ndarray:
    """1 = hallucinated, 0 = correct, NaN = the model abstained (left out of training)."""
    return np.array([1.0 if o is Outcome.HALLUCINATED else 0.0 if o is Outcome.CORRECT else np.nan
                     for o in _outcomes(outcomes, len(gens))])


def _unanswerable(gens: Sequence[Generation], outcomes=None) -> np.ndarray:
    """1 = the question is unanswerable, 0 = answerable (no grading needed)."""
    return np.array([0.0 if g.question.answerable else 1.0 for g in gens])


def _unknown_entity(gens: Sequence[Generation], outcomes) -> np.ndarray:
    """1 = fabricated entity, or an answerable question answered wrongly; 0 = answered correctly; else NaN."""
    out = _outcomes(outcomes, len(gens))
    return np.array([1.0 if g.question.category == "fabricated" or (g.question.answerable and o is Outcome.HALLUCINATED)
                     else 0.0 if o is Outcome.CORRECT else np.nan for g, o in zip(gens, out)])


def _semantic_entropy(gens: Sequence[Generation], outcomes=None) -> np.ndarray:
    """Semantic entropy of each generation's samples (continuous; the probe binarises it)."""
    return sampling.semantic_entropies(list(gens))


LABEL_RECIPES: dict[str, Callable[[Sequence[Generation], Any], np.ndarray]] = {
    "hallucinated": _hallucinated,
    "unanswerable": _unanswerable,
    "unknown_entity": _unknown_entity,
    "semantic_entropy": _semantic_entropy,
}
"""What a fitted signal is trained to predict: recipe name → ``f(generations, outcomes) -> y``."""


# ------------------------------------------------------------------ the table
def _add(info: SignalInfo) -> None:
    if info.name in SIGNALS:
        raise NescioError(f"signal {info.name!r} is already registered")
    if info.fitted and info.labels not in LABEL_RECIPES:
        raise NescioError(f"signal {info.name!r}: unknown label recipe {info.labels!r}; accepted: {', '.join(LABEL_RECIPES)}")
    SIGNALS[info.name] = info


for _module in (logits, attention, reflexive, sampling, probes, entity, neurons, retrieval):
    for _info in _module.SIGNALS:
        _add(_info)


def register_signal(
    name: str,
    *,
    family: str,
    description: str,
    needs: SignalNeeds | None = None,
    cost: Callable[[Sequence[Generation]], float] | float = 0.0,
    estimator: Callable[..., Any] | None = None,
    estimator_args: Mapping[str, Any] | None = None,
    labels: str | None = None,
    fit_needs: SignalNeeds | None = None,
    probability: bool = False,
):
    """Register a signal.

    Computed: use as a decorator on ``f(generations) -> np.ndarray``. Fitted: call with
    ``estimator=`` (a class following :class:`~nescio.signals.features.ProbeBase`'s
    contract), ``labels=`` (a :data:`LABEL_RECIPES` name) and optionally
    ``estimator_args=``; returns the :class:`SignalInfo`.
    """
    common = dict(needs=needs or SignalNeeds(), cost=cost, fit_needs=fit_needs or SignalNeeds(), probability=probability)
    if estimator is not None:
        info = SignalInfo(name, family, description, estimator=estimator, estimator_args=estimator_args or {},
                          labels=labels, **common)
        _add(info)
        return info

    def add(fn):
        _add(SignalInfo(name, family, description, compute=fn, **common))
        return fn

    return add


def list_signals(family: str | None = None) -> list[str]:
    """Names of the registered signals (optionally one family), grouped by family in
    :data:`FAMILIES` order, registration order within a family."""
    order = {f: i for i, f in enumerate(FAMILIES)}
    names = [n for n, s in SIGNALS.items() if family is None or s.family == family]
    return sorted(names, key=lambda n: order.get(SIGNALS[n].family, len(order)))


def signal_info(name: str) -> SignalInfo:
    """The registry entry for ``name``; raises NescioError naming the accepted names."""
    if name not in SIGNALS:
        raise NescioError(f"unknown signal {name!r}; accepted: {', '.join(SIGNALS)}")
    return SIGNALS[name]


# ------------------------------------------------------------------ needs
def merge_captures(specs: Sequence[CaptureSpec]) -> tuple[CaptureSpec, ...]:
    """Merge capture requests: one spec per (site, layers), positions unioned; then specs of
    one site with the same positions get their layers unioned ("all" absorbs lists and
    "middle"; "middle" and a list stay two specs: which layer is the middle is known only
    when a model is loaded)."""
    by_layers: dict[tuple, list[str]] = {}
    for spec in specs:
        key = (spec.site, spec.layers)
        pos = by_layers.setdefault(key, [])
        pos.extend(p for p in spec.positions if p not in pos)
    by_positions: dict[tuple, list] = {}
    for (site, layers), positions in by_layers.items():
        by_positions.setdefault((site, tuple(sorted(positions))), []).append(layers)
    merged: list[tuple[tuple, object]] = []
    for key, layer_sets in by_positions.items():
        if "all" in layer_sets:
            merged.append((key, "all"))
            continue
        lists = [x for x in layer_sets if not isinstance(x, str)]
        if lists:
            merged.append((key, tuple(sorted(set().union(*lists)))))
        merged.extend((key, x) for x in layer_sets if isinstance(x, str))
    return tuple(
        CaptureSpec(site, layers, positions) for (site, positions), layers in sorted(merged, key=str)
    )


def capture_needs(
    names: Sequence[str], *, probes: Mapping[str, object] | None = None, n_samples: int | None = None,
    fitting: bool = False,
) -> dict:
    """GenerationConfig fields that make generation capture exactly what ``names`` need.

    Returns ``{"n_samples", "capture", "p_true", "verbal_confidence"}``; use it as
    ``GenerationConfig(max_new_tokens=..., **capture_needs(names))``. Estimators given in
    ``probes`` (fitted or not) ask for their own captures (``capture_specs()``: a fitted probe
    only its chosen layer); others ask for what their entry declares (every layer).
    ``fitting=True`` adds what fitting needs too (e.g. samples for semantic-entropy labels).
    ``n_samples`` overrides the default K.
    """
    infos = [signal_info(n) for n in names]
    probes = probes or {}
    captures: list[CaptureSpec] = []
    needs = [i.needs for i in infos] + ([i.fit_needs for i in infos] if fitting else [])
    for info in infos:
        probe = probes.get(info.name)
        if probe is not None and hasattr(probe, "capture_specs"):
            captures.extend(probe.capture_specs())
        else:
            captures.extend(info.needs.capture)
    captures.extend(c for i in infos if fitting for c in i.fit_needs.capture)
    k = max([n.n_samples for n in needs] + [0])
    if k and n_samples is not None:
        k = int(n_samples)
    return {
        "n_samples": k,
        "capture": merge_captures(captures),
        "p_true": any(n.p_true for n in needs),
        "verbal_confidence": any(n.verbal_confidence for n in needs),
    }


# ------------------------------------------------------------------ computing and fitting
def compute_signals(
    generations: Sequence[Generation], names: Sequence[str], probes: Mapping[str, object] | None = None
) -> SignalTable:
    """Compute the named signals for every generation.

    ``probes`` maps a fitted signal's name to its fitted estimator (anything with
    ``predict_risk(generations) -> np.ndarray``). Missing inputs (e.g. no samples were
    drawn for a sampling signal, or an activation was not captured) raise NescioError
    naming what to capture; a value that cannot be computed for one question is NaN.
    """
    generations = list(generations)
    probes = probes or {}
    values: dict[str, np.ndarray] = {}
    costs: dict[str, float] = {}
    for name in names:
        info = signal_info(name)
        if info.fitted:
            probe = probes.get(name)
            if probe is None:
                raise NescioError(f"signal {name!r} is fitted: pass its fitted estimator as probes={{{name!r}: ...}} "
                                  f"(nescio.signals.fit_signal builds and fits one)")
            vals = probe.predict_risk(generations) if generations else np.zeros(0)
        else:
            vals = info.compute(generations) if generations else np.zeros(0)
        vals = np.asarray(vals, dtype=float)
        if vals.shape != (len(generations),):
            raise NescioError(f"signal {name!r} returned shape {vals.shape}, expected ({len(generations)},)")
        values[name] = vals
        costs[name] = info.cost_per_question(generations) if generations else 0.0
    return SignalTable(tuple(g.question.id for g in generations), values, costs)


def build_estimator(name: str, **overrides):
    """A new, unfitted estimator for fitted signal ``name`` (its entry's arguments + ``overrides``)."""
    info = signal_info(name)
    if not info.fitted:
        raise NescioError(f"signal {name!r} is computed, not fitted; fitted signals: "
                          f"{', '.join(n for n, s in SIGNALS.items() if s.fitted)}")
    return info.build(**overrides)


def signal_labels(name: str, generations: Sequence[Generation], outcomes=None) -> np.ndarray:
    """Training labels for fitted signal ``name`` from its recipe (NaN rows are left out by the estimator)."""
    info = signal_info(name)
    if not info.fitted:
        raise NescioError(f"signal {name!r} is computed, not fitted: it has no labels")
    return np.asarray(LABEL_RECIPES[info.labels](list(generations), outcomes), dtype=float)


def fit_signal(name: str, generations: Sequence[Generation], outcomes=None, *, labels: np.ndarray | None = None,
               **overrides):
    """Build fitted signal ``name`` from the registry and fit it on ``generations``.

    Labels come from its recipe (``outcomes``: graded :class:`~nescio.types.Outcome` per
    generation) unless ``labels`` are given."""
    gens = list(generations)
    y = signal_labels(name, gens, outcomes) if labels is None else np.asarray(labels, dtype=float)
    return build_estimator(name, **overrides).fit(gens, y)


# ------------------------------------------------------------------ loading saved estimators
def estimator_classes() -> dict[str, type]:
    """Estimator classes a saved probe may name: those of the registered fitted signals."""
    return {s.estimator.__name__: s.estimator for s in SIGNALS.values() if isinstance(s.estimator, type)}


def load_probe(directory: str | os.PathLike):
    """Load a probe saved by :func:`~nescio.signals.features.save_probe` (no code is executed).

    Damage (missing or truncated files, bad JSON, unknown class, missing fields) is a
    NescioError naming the file."""
    from pathlib import Path

    from nescio.artifacts import damaged, read_artifact

    meta, arrays = read_artifact(directory, "probe", artifact="probe", version=PROBE_SCHEMA_VERSION,
                                 required=("class", "params", "state"))
    classes = estimator_classes()
    cls = classes.get(meta["class"])
    if cls is None:
        raise NescioError(f"{Path(directory) / 'probe.json'}: unknown probe class {meta['class']!r}; "
                          f"accepted: {', '.join(classes)}")
    try:
        params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in meta["params"].items()}
        probe = cls(**params)
        probe._set_state(arrays, meta["state"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise damaged(Path(directory) / "probe.json", exc) from None
    return probe


def h_neuron_scaling(probe_dir: str | os.PathLike, scale: float) -> NeuronScaling:
    """A :class:`~nescio.types.NeuronScaling` of the H-Neurons of a saved
    :class:`~nescio.signals.neurons.HNeuronProbe` directory (for :class:`nescio.models.intervene.ScaleNeurons`)."""
    probe = load_probe(probe_dir)
    if not isinstance(probe, neurons.HNeuronProbe):
        raise NescioError(f"{probe_dir} holds a {type(probe).__name__}, not an H-Neuron probe (HNeuronProbe)")
    if not probe.h_neurons_:
        raise NescioError(f"the H-Neuron probe in {probe_dir} selected no neurons (no positive weights)")
    return NeuronScaling(tuple(probe.h_neurons_), scale)
