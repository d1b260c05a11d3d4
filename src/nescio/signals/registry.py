"""The signal registry: every signal by name, with what it needs from generation and its cost.

A *computed* signal is a function ``f(generations) -> np.ndarray`` (one value per
generation, higher = more likely hallucinated, NaN = missing). A *fitted* signal is
scored by a fitted estimator passed to :func:`compute_signals` under its name
(``probes={"probe_last_prompt": ResidualProbe(...).fit(...)}``).

Needs are declared so that generation captures exactly what the chosen signals read:
:func:`capture_needs` merges them into :class:`~nescio.types.GenerationConfig` fields.
Costs are *extra model forward passes per question relative to greedy generation*:
0 for anything read off the greedy pass (logits, captured activations), 1 for P(True)
(one extra prefill), and the sampled tokens for sampling signals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from nescio.types import CaptureSpec, Generation, NescioError, SignalTable


@dataclass(frozen=True)
class SignalNeeds:
    """What generation must provide for a signal."""

    n_samples: int = 0
    capture: tuple[CaptureSpec, ...] = ()
    p_true: bool = False
    verbal_confidence: bool = False


@dataclass(frozen=True)
class SignalInfo:
    """A registered signal: its name, family, needs, cost model and description."""

    name: str
    family: str  # "logits" | "reflexive" | "sampling" | "probe"
    description: str
    needs: SignalNeeds = field(default_factory=SignalNeeds)
    compute: Callable[[Sequence[Generation]], np.ndarray] | None = None  # None = fitted
    cost: Callable[[Sequence[Generation]], float] | float = 0.0

    @property
    def fitted(self) -> bool:
        return self.compute is None

    def cost_per_question(self, generations: Sequence[Generation]) -> float:
        return float(self.cost(generations)) if callable(self.cost) else float(self.cost)


SIGNALS: dict[str, SignalInfo] = {}
FAMILIES = ("logits", "reflexive", "sampling", "probe")


def register_signal(
    name: str,
    *,
    family: str,
    description: str,
    needs: SignalNeeds | None = None,
    cost: Callable[[Sequence[Generation]], float] | float = 0.0,
    fitted: bool = False,
):
    """Register a signal. Used as a decorator on computed signals, or called with
    ``fitted=True`` (no function) for signals scored by a fitted estimator."""

    def add(fn):
        if name in SIGNALS:
            raise NescioError(f"signal {name!r} is already registered")
        SIGNALS[name] = SignalInfo(name, family, description, needs or SignalNeeds(), fn, cost)
        return fn

    if fitted:
        add(None)
        return None
    return add


def _ensure_builtins() -> None:
    # importing the modules registers their signals
    import nescio.signals.logits  # noqa: F401
    import nescio.signals.reflexive  # noqa: F401
    import nescio.signals.sampling  # noqa: F401
    import nescio.signals.probes  # noqa: F401
    import nescio.signals.entity  # noqa: F401
    import nescio.signals.neurons  # noqa: F401


def list_signals(family: str | None = None) -> list[str]:
    """Names of the registered signals (optionally one family), in registration order."""
    _ensure_builtins()
    order = {f: i for i, f in enumerate(FAMILIES)}
    names = [n for n, s in SIGNALS.items() if family is None or s.family == family]
    return sorted(names, key=lambda n: order.get(SIGNALS[n].family, len(order)))  # stable within a family


def signal_info(name: str) -> SignalInfo:
    """The registry entry for ``name``; raises NescioError naming the accepted names."""
    _ensure_builtins()
    if name not in SIGNALS:
        raise NescioError(f"unknown signal {name!r}; accepted: {', '.join(SIGNALS)}")
    return SIGNALS[name]


def merge_captures(specs: Sequence[CaptureSpec]) -> tuple[CaptureSpec, ...]:
    """Merge capture requests: one spec per (site, layers), positions unioned; then specs of
    one site with the same positions get their layers unioned ("all" absorbs lists)."""
    by_layers: dict[tuple, list[str]] = {}
    for spec in specs:
        key = (spec.site, spec.layers)
        pos = by_layers.setdefault(key, [])
        pos.extend(p for p in spec.positions if p not in pos)
    by_positions: dict[tuple, object] = {}
    for (site, layers), positions in by_layers.items():
        key = (site, tuple(sorted(positions)))
        old = by_positions.get(key)
        if old is None:
            by_positions[key] = layers
        elif old == "all" or layers == "all":
            by_positions[key] = "all"
        else:
            by_positions[key] = tuple(sorted(set(old) | set(layers)))
    return tuple(
        CaptureSpec(site, layers, positions) for (site, positions), layers in sorted(by_positions.items(), key=str)
    )


def capture_needs(
    names: Sequence[str], *, probes: Mapping[str, object] | None = None, n_samples: int | None = None
) -> dict:
    """GenerationConfig fields that make generation capture exactly what ``names`` need.

    Returns ``{"n_samples", "capture", "p_true", "verbal_confidence"}``; use it as
    ``GenerationConfig(max_new_tokens=..., **capture_needs(names))``. Fitted probes given
    in ``probes`` narrow their request to the layers they chose (``layer_``); unfitted
    ones ask for every layer. ``n_samples`` overrides the sampling signals' default K.
    """
    infos = [signal_info(n) for n in names]
    probes = probes or {}
    captures: list[CaptureSpec] = []
    for info in infos:
        probe = probes.get(info.name)
        if probe is not None and hasattr(probe, "capture_specs"):
            captures.extend(probe.capture_specs())
        else:
            captures.extend(info.needs.capture)
    k = max([i.needs.n_samples for i in infos] + [0])
    if k and n_samples is not None:
        k = int(n_samples)
    return {
        "n_samples": k,
        "capture": merge_captures(captures),
        "p_true": any(i.needs.p_true for i in infos),
        "verbal_confidence": any(i.needs.verbal_confidence for i in infos),
    }


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
                raise NescioError(f"signal {name!r} is a fitted probe: pass it as probes={{{name!r}: estimator}}")
            vals = probe.predict_risk(generations) if generations else np.zeros(0)
        else:
            vals = info.compute(generations) if generations else np.zeros(0)
        vals = np.asarray(vals, dtype=float)
        if vals.shape != (len(generations),):
            raise NescioError(f"signal {name!r} returned shape {vals.shape}, expected ({len(generations)},)")
        values[name] = vals
        costs[name] = info.cost_per_question(generations) if generations else 0.0
    return SignalTable(tuple(g.question.id for g in generations), values, costs)
