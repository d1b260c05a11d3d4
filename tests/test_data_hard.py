"""The hard-problems set: generated answers are right, splits are stable, the grader reads the final answer."""

from __future__ import annotations

import re

import pytest

from nescio.data import hard_questions, load_questions
from nescio.grading import final_answer_span, grade
from nescio.types import NescioError, Outcome, Question


def _evaluate(text: str) -> int:
    """Recompute an arithmetic question's answer from its text (independently of the generator)."""
    expr = re.search(r"What is (.+)\?", text).group(1).replace("×", "*").replace("times", "*")
    assert re.fullmatch(r"[\d\s+\-*()]+", expr)
    return eval(expr)  # noqa: S307 - digits and operators only, checked above


def test_sizes_splits_and_determinism():
    qs = hard_questions()
    assert len(qs) == 400 and len({q.id for q in qs}) == 400 and len({q.text for q in qs}) == 400
    assert {q.split for q in qs} == {"train", "calibration", "test"}
    for cat in ("hard/arithmetic", "hard/word_problem"):
        counts = {s: sum(q.category == cat and q.split == s for q in qs) for s in ("train", "calibration", "test")}
        assert counts == {"train": 100, "calibration": 50, "test": 50}
    assert [q.text for q in load_questions("hard:test")] == [q.text for q in hard_questions("test")]
    assert all(q.answerable and len(q.answers) == 1 for q in qs)
    with pytest.raises(NescioError, match="accepted: train, calibration, test"):
        load_questions("hard:dev")


def test_arithmetic_answers_are_exact():
    arithmetic = [q for q in hard_questions() if q.category == "hard/arithmetic"]
    assert len(arithmetic) == 200  # the checks below run on every one
    for q in arithmetic:
        assert int(q.answers[0]) == _evaluate(q.text), q.text


def test_word_problem_answers_are_positive_integers():
    problems = [q for q in hard_questions() if q.category == "hard/word_problem"]
    assert len(problems) == 200
    for q in problems:
        assert int(q.answers[0]) > 0, q.text


Q = Question(id="h", text="What is 347 times 28?", answers=("9716",), category="hard/arithmetic")


@pytest.mark.parametrize("text,outcome", [
    ("347 × 28 = 347 × 20 + 347 × 8 = 6940 + 2776 = 9716.\nAnswer: 9716", Outcome.CORRECT),
    ("First, 347 × 20 = 6940. Then 347 × 8 = 2776. So the answer is 9,716.", Outcome.CORRECT),
    ("6940 + 2776 = 9716", Outcome.CORRECT),  # no marker: the last number of the last sentence
    ("The result is 9716.", Outcome.CORRECT),
    ("9716 is close. Answer: 9700", Outcome.HALLUCINATED),  # the final answer counts, not a number on the way
    ("Answer: 9716 + 3 = 9719", Outcome.CORRECT),  # the first number after the marker
    ("9716 + 3 = 9719", Outcome.HALLUCINATED),
    ("First we multiply 347 by 20 which gives 6940 and then", Outcome.HALLUCINATED),  # cut off by the limit
    ("I don't know.", Outcome.ABSTAINED),
    ("Let me think. I cannot compute 347 times 28 in my head.", Outcome.ABSTAINED),
    ("I'm not sure, but it may be: 9716", Outcome.CORRECT),
    ("I'm not sure, but it may be: 9000", Outcome.HALLUCINATED),
    ("", Outcome.ABSTAINED),
])
def test_grader_reads_the_final_answer(text, outcome):
    assert grade(Q, text).outcome == outcome


def test_hedge_flag_and_span():
    assert grade(Q, "I'm not sure, but it may be: 9716").hedged
    assert not grade(Q, "Answer: 9716").hedged
    assert final_answer_span("Step one. Answer: 12. Check done.") == "Answer: 12."


def test_builtin_grading_unchanged_for_other_categories():
    fact = Question(id="f", text="What is 7 times 8?", answers=("56",), category="fact/numbers")
    # the built-in rule reads the first sentence, not the last
    assert grade(fact, "56. Some say 54.").outcome == Outcome.CORRECT
