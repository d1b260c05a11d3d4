"""Hallucination signals: one registry, every signal oriented higher = more likely hallucinated.

- :data:`SIGNALS` / :func:`signal_info` / :func:`list_signals`: one entry per signal,
  computed or fitted (:class:`SignalInfo`: family, :class:`SignalNeeds`, cost; for fitted
  ones the estimator factory, its arguments and its label recipe);
- :func:`capture_needs` (names → GenerationConfig fields) so generation captures exactly
  what the chosen signals read;
- :func:`compute_signals` (generations, names, probes) → :class:`~nescio.types.SignalTable`;
- fitted signals: :func:`build_estimator` / :func:`fit_signal` from the registry
  (:class:`ResidualProbe`, :class:`SemanticEntropyProbe`, :class:`HNeuronProbe`,
  :class:`KnownEntityDirection`), ``save_probe`` / ``load_probe``;
- :func:`save_signal_table` / :func:`load_signal_table`.

Module layering (no import cycle): ``spec`` and ``features`` are leaves; the signal
modules import only them; ``registry`` imports the signal modules. Submodules import
numpy only at import time; sklearn, scipy, torch and sentence-transformers are imported
inside the functions that use them.
"""

from __future__ import annotations

from nescio.lazy import lazy_getattr


from nescio.signals.registry import (
    LABEL_RECIPES,
    SIGNALS,
    SignalInfo,
    SignalNeeds,
    build_estimator,
    capture_needs,
    compute_signals,
    fit_signal,
    list_signals,
    load_probe,
    register_signal,
    signal_info,
    signal_labels,
)

_LAZY = {
    "ResidualProbe": "nescio.signals.probes",
    "SemanticEntropyProbe": "nescio.signals.probes",
    "HNeuronProbe": "nescio.signals.neurons",
    "KnownEntityDirection": "nescio.signals.entity",
    "guess_entity": "nescio.signals.entity",
    "save_probe": "nescio.signals.features",
    "save_signal_table": "nescio.signals.table",
    "load_signal_table": "nescio.signals.table",
    "cluster_answers": "nescio.signals.sampling",
    "semantic_entropies": "nescio.signals.sampling",
}

__all__ = [
    "LABEL_RECIPES",
    "build_estimator",
    "fit_signal",
    "load_probe",
    "signal_labels",
    "SIGNALS",
    "SignalInfo",
    "SignalNeeds",
    "capture_needs",
    "compute_signals",
    "list_signals",
    "register_signal",
    "signal_info",
    *_LAZY,
]


__getattr__ = lazy_getattr(__name__, _LAZY)
