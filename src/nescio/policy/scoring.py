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

from nescio.policy.risk import check_level
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
        if self.floor is not None:
            out[(s >= self.floor) & (s < self.threshold)] = HEDGE
        out[s >= self.threshold] = ANSWER
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


def tally(actions: np.ndarray, outcomes: np.ndarray) -> dict[str, float]:
    """Guarded rates over questions (fractions of n) plus ``kept`` and ``realised_risk``.

    ``actions``: :class:`Action` per question (the guard's choice);
    ``outcomes``: :class:`Outcome` per question (the raw model's graded outcome). Their
    string values are accepted; anything else is a NescioError (a typo is not an empty mask).
    A passed-through answer in which the model itself abstained counts as abstained.
    ``kept`` = share of the raw model's correct answers that the guard still gives
    unhedged; ``kept_incl_hedged`` counts hedged ones too; ``realised_risk`` =
    hallucinated / answered (unhedged); ``hedged_risk`` the same among hedged answers.
    """
    actions = _enum_array(actions, Action)
    outcomes = _enum_array(outcomes, Outcome)
    n = len(actions)
    ans = (actions == ANSWER) & (outcomes != "abstained")
    hed = (actions == HEDGE) & (outcomes != "abstained")
    correct = ans & (outcomes == "correct")
    halluc = ans & (outcomes == "hallucinated")
    raw_correct = int((outcomes == "correct").sum())
    d = max(n, 1)
    return {
        "n": n,
        "answered": ans.sum() / d,
        "correct": correct.sum() / d,
        "hallucinated": halluc.sum() / d,
        "abstained": (~ans & ~hed).sum() / d,
        "hedged": hed.sum() / d,
        "hedged_correct": (hed & (outcomes == "correct")).sum() / d,
        "hedged_hallucinated": (hed & (outcomes == "hallucinated")).sum() / d,
        "kept": correct.sum() / raw_correct if raw_correct else float("nan"),
        "kept_incl_hedged": (correct.sum() + (hed & (outcomes == "correct")).sum()) / raw_correct
        if raw_correct
        else float("nan"),
        "realised_risk": halluc.sum() / ans.sum() if ans.sum() else float("nan"),
        "hedged_risk": (hed & (outcomes == "hallucinated")).sum() / hed.sum() if hed.sum() else float("nan"),
    }


def raw_tally(outcomes: np.ndarray) -> dict[str, float]:
    """Raw model rates: correct / hallucinated / abstained (fractions) and its risk."""
    outcomes = _enum_array(outcomes, Outcome)
    n = len(outcomes)
    d = max(n, 1)
    c, h = int((outcomes == "correct").sum()), int((outcomes == "hallucinated").sum())
    return {
        "n": n,
        "correct": c / d,
        "hallucinated": h / d,
        "abstained": int((outcomes == "abstained").sum()) / d,
        "risk": h / (c + h) if c + h else 0.0,
    }


def _enum_array(values, enum_cls) -> np.ndarray:
    """An object array of ``enum_cls`` members (string values coerced; unknown ones are a NescioError)."""
    items = list(np.asarray(values, dtype=object).ravel()) if not isinstance(values, (list, tuple)) else list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = [enum_cls.coerce(v) for v in items]
    return out
