"""The server's view of a fitted guard: certified levels, the pre-check, decisions.

The guard holds no model; the server generates and hands the generations here. Everything
the server needs from :class:`nescio.policy.guard.Guard` goes through this one class, so a
change of the guard's API touches only this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from nescio.serve.protocol import RequestError
from nescio.types import Action, Generation


@dataclass(frozen=True)
class Verdict:
    """The guard's decision on one greedy generation (``action``: an :class:`~nescio.types.Action`;
    its string value is accepted and coerced, a misspelt one is a NescioError)."""

    action: Action
    text: str  # what the user sees
    p_correct: float | None
    reason: str
    precheck_fired: bool
    model_abstained: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", Action.coerce(self.action))


def _level_key(x: float) -> float:
    return round(float(x), 6)


class GuardView:
    """Wraps a fitted guard for serving. ``guard`` is a :class:`~nescio.policy.guard.Guard`.

    ``precheck_first``: run the knowability pre-check on a prefill-only pass so blocked
    requests are never generated for (the others pay that extra prefill); else the pre-check
    reads the one generation pass.
    """

    def __init__(self, guard: Any, *, precheck_first: bool = True):
        guard._check_fitted()
        self.guard = guard
        self.precheck_first = precheck_first
        self.default_alpha = float(guard.alpha)
        self.delta = float(guard.delta)
        self.config = guard.generation_config_
        # α → answer threshold precomputed at fit time; inf: nothing could be certified at α
        self.thresholds = {_level_key(a): float(t) for a, t in guard.certified_levels().items()}
        self.levels = tuple(sorted(a for a, t in self.thresholds.items() if np.isfinite(t)))

    # ------------------------------------------------------------------ levels
    def check_alpha(self, alpha: float | None) -> float:
        """The α a request asks for: the guard's own by default, else one it certified at fit time."""
        if alpha is None:
            return self.default_alpha
        if _level_key(alpha) in self.levels:
            return float(alpha)
        if not self.levels:
            raise RequestError(f"alpha {alpha} is not certified: this guard certified no risk level at fit time "
                               f"(δ = {self.delta}); leave nescio.alpha out", "nescio.alpha")
        accepted = ", ".join(f"{a:g}" for a in self.levels)
        raise RequestError(f"alpha {alpha} is not among the levels this guard certified at fit time "
                           f"(δ = {self.delta}); accepted: {accepted}", "nescio.alpha")

    def certified(self, alpha: float) -> bool:
        """Whether an answer threshold was certified at ``alpha`` (if not, nothing is answered unhedged)."""
        return bool(np.isfinite(self.thresholds.get(_level_key(alpha), np.inf)))

    # ------------------------------------------------------------------ pre-check
    @property
    def has_precheck(self) -> bool:
        pre = self.guard.precheck_
        return pre is not None and bool(np.isfinite(pre.threshold_))

    def precheck_capture(self) -> tuple:
        return tuple(self.guard.precheck_config_.capture)

    def precheck_fired(self, prefills: Sequence[Generation]) -> list[bool]:
        """Pre-check verdicts from generations that read the prompt only (one token)."""
        if not prefills:
            return []
        return [bool(f) for f in self.guard.precheck(list(prefills)).fired]

    # ------------------------------------------------------------------ decisions
    def decide(self, generations: Sequence[Generation], alpha: float) -> list[Verdict]:
        """Decisions at risk level ``alpha`` (the guard's own, or one of :attr:`levels`)."""
        gens = list(generations)
        if not gens:
            return []
        batch = self.guard.decide(gens, alpha=alpha)
        return [Verdict(action=batch.actions[i], text=batch.texts[i],
                        p_correct=float(batch.p_correct[i]) if np.isfinite(batch.p_correct[i]) else None,
                        reason=batch.reasons[i], precheck_fired=bool(batch.precheck_fired[i]),
                        model_abstained=bool(batch.model_abstained[i])) for i in range(len(gens))]


def render(action: Action, answer: str) -> str:
    """The text shown for ``action`` applied to ``answer`` (the guard's own wording)."""
    from nescio.policy.scoring import BandPolicy

    return BandPolicy.render(action, answer)
