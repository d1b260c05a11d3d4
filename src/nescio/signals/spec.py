"""What a registry entry is: :class:`SignalNeeds` and :class:`SignalInfo` (a leaf module).

Signal modules (``logits``, ``attention``, ``reflexive``, ``sampling``, ``probes``, ``entity``,
``neurons``) declare their entries with these types and import nothing else from
``nescio.signals`` except the leaf :mod:`nescio.signals.features`; the registry
(:mod:`nescio.signals.registry`) imports them all and holds the table. So the package
has no import cycle and which signals exist does not depend on import order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nescio.types import CaptureSpec, Generation, NescioError

FAMILIES = ("logits", "attention", "reflexive", "sampling", "probe", "retrieval")
DEFAULT_N_SAMPLES = 10
"""K sampled answers the sampling signals (and the semantic-entropy probe's labels) ask for."""


@dataclass(frozen=True)
class SignalNeeds:
    """What generation must provide for a signal: K samples, activation captures, reflexive prompts."""

    n_samples: int = 0
    capture: tuple[CaptureSpec, ...] = ()
    p_true: bool = False
    verbal_confidence: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "capture", tuple(self.capture))


@dataclass(frozen=True)
class SignalInfo:
    """One registry entry.

    - ``name``, ``family`` (one of :data:`FAMILIES`), ``description``;
    - ``needs``: what generation must capture to *score* the signal; ``fit_needs``: what
      it must also provide on the training split to *fit* it (e.g. sampled answers for
      the semantic-entropy probe's labels);
    - ``cost``: extra forward passes per question relative to greedy generation (a number,
      or a function of the generations);
    - computed signals: ``compute(generations) -> np.ndarray`` (higher = riskier, NaN = missing);
    - fitted signals: ``estimator`` (a class or factory called with ``estimator_args`` and
      any overrides: :meth:`build`), ``labels`` (the name of the label recipe it is trained
      on: ``nescio.signals.registry.LABEL_RECIPES``) and ``probability`` (its scores are
      probabilities in [0, 1]).
    """

    name: str
    family: str
    description: str
    needs: SignalNeeds = field(default_factory=SignalNeeds)
    compute: Callable[[Sequence[Generation]], np.ndarray] | None = None
    cost: Callable[[Sequence[Generation]], float] | float = 0.0
    estimator: Callable[..., Any] | None = None
    estimator_args: Mapping[str, Any] = field(default_factory=dict)
    labels: str | None = None
    fit_needs: SignalNeeds = field(default_factory=SignalNeeds)
    probability: bool = False

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise NescioError(f"signal {self.name!r}: unknown family {self.family!r}; accepted: {', '.join(FAMILIES)}")
        if (self.compute is None) == (self.estimator is None):
            raise NescioError(f"signal {self.name!r}: give exactly one of compute= (computed) or estimator= (fitted)")
        if self.estimator is not None and not self.labels:
            raise NescioError(f"fitted signal {self.name!r} needs labels= (the name of its label recipe)")
        object.__setattr__(self, "estimator_args", dict(self.estimator_args))

    @property
    def fitted(self) -> bool:
        """True for signals scored by a fitted estimator."""
        return self.estimator is not None

    def build(self, **overrides):
        """A new, unfitted estimator: ``estimator(**estimator_args, **overrides)``."""
        if self.estimator is None:
            raise NescioError(f"signal {self.name!r} is computed, not fitted: it has no estimator")
        return self.estimator(**{**self.estimator_args, **overrides})

    def cost_per_question(self, generations: Sequence[Generation]) -> float:
        return float(self.cost(generations)) if callable(self.cost) else float(self.cost)
