"""Answer-or-abstain rules on P(correct): confidence target, hedge band, and their tallies.

- Confidence target t (Kalai et al. 2025): answer iff P(correct) > t; the score of a
  decision is +1 correct, 0 abstain, −t/(1−t) wrong, so answering pays off exactly when
  P(correct) > t.
- Hedge band: between a floor and the answer threshold the guard answers with an explicit
  uncertainty statement instead of a flat refusal ("I'm not sure, but it may be …").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nescio.policy.risk import RiskPolicy, check_level, clears
from nescio.types import Action, Outcome

ANSWER, HEDGE, ABSTAIN = Action.ANSWER, Action.HEDGE, Action.ABSTAIN
HEDGE_TEMPLATE = "I'm not sure, but it may be: {answer}"
ABSTAIN_TEXT = "I don't know."


def confidence_target_score(p_answered: np.ndarray, correct: np.ndarray, t: float) -> float:
    """Mean Kalai et al. score when answering iff ``p > t``: +1 correct, 0 abstain, −t/(1−t) wrong.

    ``correct`` is True for correct answers, False for hallucinated ones (the model's own
    abstentions score 0 and should be passed as abstained upstream or excluded).
    """
    t = check_level("confidence target t", t)
    p = np.asarray(p_answered, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    answer = p > t
    score = np.where(answer, np.where(correct, 1.0, -t / (1.0 - t)), 0.0)
    return float(score.mean()) if len(score) else 0.0


@dataclass(frozen=True)
class BandPolicy:
    """Answer when ``score ≥ threshold``; hedge when ``floor ≤ score < threshold``; else abstain.

    ``floor = threshold`` (or ``None``) disables the hedge band. Scores are the detector's
    raw P(correct) (the scale the risk controller certified).
    """

    threshold: float
    floor: float | None = None

    def actions(self, scores: np.ndarray) -> np.ndarray:
        """An object array of :class:`Action` per score."""
        s = np.asarray(scores, dtype=float)
        out = np.full(s.shape, ABSTAIN, dtype=object)
        answer = clears(s, self.threshold)
        if self.floor is not None:
            out[clears(s, self.floor) & ~answer] = HEDGE
        out[answer] = ANSWER
        return out

    @staticmethod
    def render(action: Action, answer: str) -> str:
        """What the user sees for ``action``: the answer, the hedged answer, or the refusal."""
        action = Action.coerce(action)
        if action == ANSWER:
            return answer
        if action == HEDGE:
            return HEDGE_TEMPLATE.format(answer=answer.strip())
        return ABSTAIN_TEXT


@dataclass(frozen=True)
class Tally:
    """What the guard shows on graded questions (:func:`tally`), as counts; the shares are properties.

    Plain answers are those the guard gives unhedged and the model did not itself abstain in
    (so ``n_answered = n_correct + n_hallucinated``); hedged ones likewise; the rest abstained.
    ``n_raw_correct`` is how many the raw model got right (the base of ``kept``).
    :meth:`to_json` is the dict of shares that results files carry
    (:class:`nescio.evaluate.result.Tally` is its JSON record)."""

    n: int
    n_correct: int
    n_hallucinated: int
    n_hedged_correct: int
    n_hedged_hallucinated: int
    n_raw_correct: int

    @property
    def n_answered(self) -> int:
        return self.n_correct + self.n_hallucinated

    @property
    def n_hedged(self) -> int:
        return self.n_hedged_correct + self.n_hedged_hallucinated

    @property
    def n_abstained(self) -> int:
        return self.n - self.n_answered - self.n_hedged

    def _share(self, k: int) -> float:
        return k / max(self.n, 1)

    @property
    def answered(self) -> float:
        return self._share(self.n_answered)

    @property
    def correct(self) -> float:
        return self._share(self.n_correct)

    @property
    def hallucinated(self) -> float:
        return self._share(self.n_hallucinated)

    @property
    def abstained(self) -> float:
        return self._share(self.n_abstained)

    @property
    def hedged(self) -> float:
        return self._share(self.n_hedged)

    @property
    def hedged_correct(self) -> float:
        return self._share(self.n_hedged_correct)

    @property
    def hedged_hallucinated(self) -> float:
        return self._share(self.n_hedged_hallucinated)

    @property
    def kept(self) -> float:
        """Share of the raw model's correct answers still given unhedged (NaN: it had none)."""
        return self.n_correct / self.n_raw_correct if self.n_raw_correct else float("nan")

    @property
    def kept_incl_hedged(self) -> float:
        """Like :attr:`kept`, counting hedged correct answers too."""
        return (self.n_correct + self.n_hedged_correct) / self.n_raw_correct if self.n_raw_correct else float("nan")

    @property
    def realised_risk(self) -> float:
        """Hallucinated / answered, unhedged (NaN: nothing answered)."""
        return self.n_hallucinated / self.n_answered if self.n_answered else float("nan")

    @property
    def hedged_risk(self) -> float:
        """Hallucinated / hedged (NaN: nothing hedged)."""
        return self.n_hedged_hallucinated / self.n_hedged if self.n_hedged else float("nan")

    def to_json(self) -> dict[str, float]:
        """``n`` and the shares under the keys results files use (NaN where not measurable)."""
        return {"n": self.n, **{k: getattr(self, k) for k in TALLY_KEYS}}


TALLY_KEYS = ("answered", "correct", "hallucinated", "abstained", "hedged", "hedged_correct", "hedged_hallucinated",
              "kept", "kept_incl_hedged", "realised_risk", "hedged_risk")
"""The shares :meth:`Tally.to_json` writes after ``n``, in order."""


@dataclass(frozen=True)
class RawTally:
    """The raw model's graded outcomes (:func:`raw_tally`) as counts; shares and ``risk`` are properties."""

    n: int
    n_correct: int
    n_hallucinated: int
    n_abstained: int

    @property
    def correct(self) -> float:
        return self.n_correct / max(self.n, 1)

    @property
    def hallucinated(self) -> float:
        return self.n_hallucinated / max(self.n, 1)

    @property
    def abstained(self) -> float:
        return self.n_abstained / max(self.n, 1)

    @property
    def risk(self) -> float:
        """Hallucinated / (correct + hallucinated); 0 when the model answered nothing."""
        c, h = self.n_correct, self.n_hallucinated
        return h / (c + h) if c + h else 0.0

    def to_json(self) -> dict[str, float]:
        """``n``, the shares and ``risk`` under the keys results files use."""
        return {"n": self.n, "correct": self.correct, "hallucinated": self.hallucinated, "abstained": self.abstained,
                "risk": self.risk}


def tally(actions: np.ndarray, outcomes: np.ndarray) -> Tally:
    """What the guard shows: a :class:`Tally` of plain answers, hedges and abstentions.

    ``actions``: :class:`Action` per question (the guard's choice);
    ``outcomes``: :class:`Outcome` per question (the raw model's graded outcome). Their
    string values are accepted; anything else is a NescioError (a typo is not an empty mask).
    A passed-through answer in which the model itself abstained counts as abstained.
    """
    actions = _enum_array(actions, Action)
    outcomes = _enum_array(outcomes, Outcome)
    correct, halluc = outcomes == Outcome.CORRECT, outcomes == Outcome.HALLUCINATED
    ans, hed = actions == ANSWER, actions == HEDGE
    return Tally(n=len(actions), n_correct=int((ans & correct).sum()), n_hallucinated=int((ans & halluc).sum()),
                 n_hedged_correct=int((hed & correct).sum()), n_hedged_hallucinated=int((hed & halluc).sum()),
                 n_raw_correct=int(correct.sum()))


def raw_tally(outcomes: np.ndarray) -> RawTally:
    """The raw model's outcomes as a :class:`RawTally` (correct / hallucinated / abstained and its risk)."""
    outcomes = _enum_array(outcomes, Outcome)
    return RawTally(n=len(outcomes), n_correct=int((outcomes == Outcome.CORRECT).sum()),
                    n_hallucinated=int((outcomes == Outcome.HALLUCINATED).sum()),
                    n_abstained=int((outcomes == Outcome.ABSTAINED).sum()))


def tally_at_level(policy: RiskPolicy, alpha: float, scores: np.ndarray, declined: np.ndarray, outcomes: np.ndarray) -> Tally:
    """What a guard answers plainly at its certified level ``alpha``, from its decisions' ``scores``
    and ``declined`` (pre-check fired or the model declined): the :func:`tally` of answering where
    ``policy.answer_mask(scores, alpha)`` holds and nothing declined, abstaining elsewhere. Its
    plain-answer figures are those of ``Guard.decide(..., alpha=alpha)`` (hedges are not counted:
    they show as abstentions here)."""
    answered = policy.answer_mask(scores, alpha) & ~np.asarray(declined, dtype=bool)
    actions = np.full(answered.shape, ABSTAIN, dtype=object)  # members, not np.where's plain strings
    actions[answered] = ANSWER
    return tally(actions, outcomes)


def _enum_array(values, enum_cls) -> np.ndarray:
    """An object array of ``enum_cls`` members (string values coerced; unknown ones are a NescioError)."""
    items = list(np.asarray(values, dtype=object).ravel()) if not isinstance(values, (list, tuple)) else list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = [enum_cls.coerce(v) for v in items]
    return out
