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
from nescio.types import Generation


@dataclass(frozen=True)
class Verdict:
    """The guard's decision on one greedy generation."""

    action: str  # "answer" | "hedge" | "abstain"
    text: str  # what the user sees
    p_correct: float | None
    reason: str
    precheck_fired: bool
    model_abstained: bool


def _level_key(x: float) -> float:
    return round(float(x), 6)


class GuardView:
    """Wraps a fitted guard for serving. ``guard`` is a :class:`~nescio.policy.guard.Guard`."""

    def __init__(self, guard: Any):
        guard._check_fitted()
        self.guard = guard
        self.default_alpha = float(guard.alpha)
        self.delta = float(guard.delta)
        self.config = guard.generation_config_
        if hasattr(guard, "certified_levels"):
            levels = tuple(float(a) for a in guard.certified_levels())
        else:  # a guard that certifies only the level it was fitted for
            levels = (self.default_alpha,) if guard.fit_summary_.get("certified") else ()
        self.levels = tuple(sorted(set(levels)))

    # ------------------------------------------------------------------ levels
    def check_alpha(self, alpha: float | None) -> float:
        """The α a request asks for (default: the guard's), refused unless certified at fit time."""
        if alpha is None:
            return self.default_alpha
        if _level_key(alpha) in {_level_key(a) for a in self.levels}:
            return float(alpha)
        if not self.levels:
            raise RequestError(f"alpha {alpha} is not certified: this guard certified no risk level at fit time "
                               f"(δ = {self.delta}); leave nescio.alpha out", "nescio.alpha")
        accepted = ", ".join(f"{a:g}" for a in self.levels)
        raise RequestError(f"alpha {alpha} is not among the levels this guard certified at fit time "
                           f"(δ = {self.delta}); accepted: {accepted}", "nescio.alpha")

    def certified(self, alpha: float) -> bool:
        return _level_key(alpha) in {_level_key(a) for a in self.levels}

    # ------------------------------------------------------------------ pre-check
    @property
    def has_precheck(self) -> bool:
        g = self.guard
        return bool(g.precheck) and bool(np.isfinite(getattr(g, "precheck_threshold_", np.inf)))

    def precheck_capture(self) -> tuple:
        from nescio.policy import adapters

        return adapters.capture_needs([adapters.PRECHECK_SIGNAL], probes=self.guard.probes_)["capture"]

    def precheck_fired(self, prefills: Sequence[Generation]) -> list[bool]:
        """Pre-check verdicts from generations that read the prompt only (one token)."""
        from nescio.policy import adapters

        if not prefills:
            return []
        scores = adapters.signal_matrix(list(prefills), [adapters.PRECHECK_SIGNAL], self.guard.probes_)[:, 0]
        return [bool(f) for f in self.guard._precheck_fired(scores)]

    # ------------------------------------------------------------------ decisions
    def decide(self, generations: Sequence[Generation], alpha: float) -> list[Verdict]:
        """Decisions at risk level ``alpha`` (one of :attr:`levels`, or the guard's own)."""
        gens = list(generations)
        if not gens:
            return []
        g = self.guard
        if hasattr(g, "decide"):
            batch = g.decide(gens, alpha=alpha)
            return [Verdict(action=_action_str(batch.actions[i]), text=batch.texts[i],
                            p_correct=None if batch.p_correct[i] is None else float(batch.p_correct[i]),
                            reason=str(batch.reasons[i]), precheck_fired=bool(batch.precheck_fired[i]),
                            model_abstained=bool(batch.model_abstained[i])) for i in range(len(gens))]
        if _level_key(alpha) != _level_key(self.default_alpha):
            raise RequestError(f"this guard decides at alpha {self.default_alpha:g} only", "nescio.alpha")
        arrays = g.decide_generations(gens)
        out = []
        for i, d in enumerate(g.decisions(gens)):
            action = "abstain" if d.abstained else "hedge" if d.hedged else "answer"
            out.append(Verdict(action=action, text=d.text, p_correct=d.p_correct, reason=d.reason,
                               precheck_fired=bool(arrays["precheck_fired"][i]),
                               model_abstained=bool(arrays["model_abstained"][i])))
        return out


def _action_str(action: Any) -> str:
    return str(getattr(action, "value", action))


def render(action: str, answer: str) -> str:
    """The text shown for ``action`` applied to ``answer`` (the guard's own wording)."""
    from nescio.policy.scoring import BandPolicy

    return BandPolicy.render(action, answer)
