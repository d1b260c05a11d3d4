"""Verifiable rewards for reinforcement learning, graded by nescio's grader (no learned judge).

Each reward is a plain function of the question, the completion text and its token
count, registered by name with its parameters, so a saved run can rebuild it:

- ``binary``: 1 if correct, else 0. The status quo the mission criticises: a wrong
  answer, a page of nonsense and an honest "I don't know" all earn the same zero.
- ``shaped``: correct +1, abstained ``r_abstain`` (default 0), hallucinated
  −1 − λ · (completion tokens / max tokens), minus ``format_penalty`` more when the
  completion hit the token limit without a correct answer (unterminated rambling).
- ``confidence_target``: Kalai et al. (2025) at threshold ``t``: correct +1, abstained 0,
  wrong −t/(1−t); answering pays off only when P(correct) > t.

Unanswerable questions: abstaining (or correcting a false premise) is the right
outcome, so it earns the correct reward (+1) under every reward.

Hedged answers (``Grade.hedged``: "I'm not sure, but it may be: X", wording in
:mod:`nescio.policy.scoring`) score between abstaining and a flat answer under
``shaped`` and ``confidence_target``: right, they earn ``hedge_credit`` times the
correct reward; wrong, they pay ``hedge_penalty`` times the wrong penalty. ``binary``
ignores hedging, as a plain RLVR reward would.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

from nescio.grading import grade
from nescio.types import Grade, NescioError, Outcome, Question

RewardFn = Callable[..., float]
"""``fn(question, grade, n_tokens, *, max_tokens) -> reward``: reads the one Grade :meth:`Reward.score` made."""
_REGISTRY: dict[str, tuple[Callable[..., RewardFn], str]] = {}


def register_reward(name: str, description: str) -> Callable:
    """Register ``factory(**params) -> fn(question, completion, n_tokens, *, max_tokens)``."""

    def wrap(factory: Callable[..., RewardFn]) -> Callable[..., RewardFn]:
        _REGISTRY[name] = (factory, description)
        return factory

    return wrap


def reward_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def reward_descriptions() -> dict[str, str]:
    return {name: desc for name, (_, desc) in _REGISTRY.items()}


def reward_parameters(name: str) -> dict[str, float]:
    """The parameters of reward ``name`` with their defaults."""
    factory = _factory(name)
    return {p.name: p.default for p in inspect.signature(factory).parameters.values()}


def _factory(name: str) -> Callable[..., RewardFn]:
    if name not in _REGISTRY:
        raise NescioError(f"unknown reward {name!r}; accepted: {', '.join(_REGISTRY)}")
    return _REGISTRY[name][0]


@dataclass(frozen=True)
class Reward:
    """A registered reward with its arguments; call it on one completion.

    ``Reward("shaped", {"lam": 0.5})(question, text, n_tokens, max_tokens=128)``.
    """

    name: str
    params: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        factory = _factory(self.name)
        accepted = reward_parameters(self.name)
        unknown = [k for k in self.params if k not in accepted]
        if unknown:
            shown = ", ".join(accepted) or "none"
            raise NescioError(f"reward {self.name!r} has no parameter {unknown[0]!r}; accepted: {shown}")
        params = {}
        for k, v in self.params.items():
            try:
                params[k] = float(v)
            except (TypeError, ValueError):
                raise NescioError(f"reward parameter {k}={v!r} is not a number") from None
            if not math.isfinite(params[k]):
                raise NescioError(f"reward parameter {k}={v!r} must be finite")
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "_fn", factory(**params))

    def __call__(self, question: Question, completion: str, n_tokens: int, *, max_tokens: int) -> float:
        return self.score(question, completion, n_tokens, max_tokens=max_tokens)[0]

    def score(self, question: Question, completion: str, n_tokens: int, *, max_tokens: int) -> tuple[float, Grade]:
        """The reward and the grade it came from (the completion is graded once)."""
        g = grade(question, completion or "")
        return float(self._fn(question, g, int(n_tokens), max_tokens=max(int(max_tokens), 1))), g  # type: ignore[attr-defined]

    @property
    def spec(self) -> str:
        """``name`` or ``name:k=v,k=v``: what :func:`parse_reward` reads back."""
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v:g}" for k, v in sorted(self.params.items()))

    def to_json(self) -> dict:
        return {"name": self.name, "params": dict(self.params), "defaults": reward_parameters(self.name)}


def parse_reward(spec: str, params: Mapping[str, str] | None = None) -> Reward:
    """``"shaped"``, ``"shaped:lam=0.5,r_abstain=0.1"`` or ``"confidence_target(0.75)"``.

    ``params`` (from ``--reward-param k=v``) are merged over those in the spec.
    """
    spec = spec.strip()
    name, given = spec, {}
    if spec.endswith(")") and "(" in spec:  # confidence_target(0.75): one positional argument
        name, arg = spec[:-1].split("(", 1)
        first = next(iter(reward_parameters(name)), None)
        if first is None or not arg.strip():
            raise NescioError(f"bad reward spec {spec!r}; accepted: NAME, NAME:k=v,..., NAME(value)")
        given[first] = arg.strip()
    elif ":" in spec:
        name, rest = spec.split(":", 1)
        for item in filter(None, (s.strip() for s in rest.split(","))):
            k, eq, v = item.partition("=")
            if not eq:
                raise NescioError(f"bad reward parameter {item!r} in {spec!r}; accepted: k=v")
            given[k.strip()] = v.strip()
    given.update(params or {})
    return Reward(name.strip(), given)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise NescioError(message)


def _hedge_params(hedge_credit: float, hedge_penalty: float, r_abstain: float) -> None:
    _check(r_abstain < hedge_credit <= 1, f"hedge_credit must be in (r_abstain={r_abstain:g}, 1], got {hedge_credit:g}")
    _check(0 < hedge_penalty <= 1, f"hedge_penalty must be in (0, 1], got {hedge_penalty:g}")


def _right(question: Question, g: Grade) -> bool:
    """Did the completion do the right thing: correct, or declined an unanswerable question?"""
    return g.outcome == Outcome.CORRECT or (not question.answerable and g.outcome == Outcome.ABSTAINED)


@register_reward("binary", "1 if correct (or an unanswerable question declined), else 0")
def binary() -> RewardFn:
    def fn(question: Question, g: Grade, n_tokens: int, *, max_tokens: int) -> float:
        return 1.0 if _right(question, g) else 0.0

    return fn


@register_reward("shaped", "correct +1, abstain r_abstain, wrong -1 - lam*tokens/max_tokens (- format_penalty if truncated)")
def shaped(r_abstain: float = 0.0, lam: float = 1.0, format_penalty: float = 0.0,
           hedge_credit: float = 0.5, hedge_penalty: float = 0.5) -> RewardFn:
    _check(lam >= 0, f"shaped: lam (λ) must be >= 0, got {lam:g}")
    _check(format_penalty >= 0, f"shaped: format_penalty must be >= 0, got {format_penalty:g}")
    _check(-1 < r_abstain < 1, f"shaped: r_abstain must be in (-1, 1), got {r_abstain:g}")
    _hedge_params(hedge_credit, hedge_penalty, r_abstain)

    def fn(question: Question, g: Grade, n_tokens: int, *, max_tokens: int) -> float:
        if _right(question, g):
            return hedge_credit if g.hedged and g.outcome == Outcome.CORRECT else 1.0
        if g.outcome == Outcome.ABSTAINED:
            return r_abstain
        wrong = -1.0 - lam * min(n_tokens, max_tokens) / max_tokens
        if n_tokens >= max_tokens:
            wrong -= format_penalty
        return r_abstain + hedge_penalty * (wrong - r_abstain) if g.hedged else wrong

    return fn


@register_reward("confidence_target", "Kalai et al. 2025: correct +1, abstain 0, wrong -t/(1-t)")
def confidence_target(t: float = 0.75, hedge_credit: float = 0.5, hedge_penalty: float = 0.5) -> RewardFn:
    _check(0 < t < 1, f"confidence_target: t must be in (0, 1), got {t:g}")
    _hedge_params(hedge_credit, hedge_penalty, 0.0)
    penalty = -t / (1 - t)

    def fn(question: Question, g: Grade, n_tokens: int, *, max_tokens: int) -> float:
        if _right(question, g):
            return hedge_credit if g.hedged and g.outcome == Outcome.CORRECT else 1.0
        if g.outcome == Outcome.ABSTAINED:
            return 0.0
        return hedge_penalty * penalty if g.hedged else penalty

    return fn
