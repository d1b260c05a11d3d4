"""Rewards for RL: ordering properties, length penalty, finiteness, bad input."""

from __future__ import annotations

import math

import pytest

from nescio.policy.scoring import ABSTAIN_TEXT, HEDGE_TEMPLATE
from nescio.train.rewards import Reward, parse_reward, reward_names, reward_parameters
from nescio.types import NescioError, Question

FACT = Question(id="f", text="What is the capital of France?", answers=("Paris",), category="fact/geography")
HARD = Question(id="h", text="What is 347 times 28?", answers=("9716",), category="hard/arithmetic")
FUTURE = Question(id="u", text="Who will win the 2090 World Cup?", answerable=False, category="future")
MAX = 128


def r(reward: Reward, q: Question, text: str, n: int = 5) -> float:
    return reward(q, text, n, max_tokens=MAX)


SHAPED_FAMILY = [Reward("shaped"), Reward("shaped", {"r_abstain": 0.2, "lam": 2.0}), Reward("confidence_target"),
                 parse_reward("confidence_target(0.5)"), parse_reward("confidence_target:t=0.9")]


@pytest.mark.parametrize("reward", SHAPED_FAMILY, ids=lambda x: x.spec)
@pytest.mark.parametrize("q,right,wrong", [(FACT, "Paris", "Lyon"), (HARD, "Answer: 9716", "Answer: 9000")])
def test_correct_beats_abstain_beats_wrong(reward, q, right, wrong):
    correct, abstain, bad = r(reward, q, right), r(reward, q, ABSTAIN_TEXT), r(reward, q, wrong)
    assert correct > abstain > bad


@pytest.mark.parametrize("reward", SHAPED_FAMILY, ids=lambda x: x.spec)
def test_hedged_answers_score_between(reward):
    correct, abstain, wrong = r(reward, FACT, "Paris"), r(reward, FACT, ABSTAIN_TEXT), r(reward, FACT, "Lyon")
    hedged_right = r(reward, FACT, HEDGE_TEMPLATE.format(answer="Paris"))
    hedged_wrong = r(reward, FACT, HEDGE_TEMPLATE.format(answer="Lyon"))
    assert correct > hedged_right > abstain > hedged_wrong > wrong


def test_binary_scores_abstain_like_wrong_and_ignores_length():
    b = Reward("binary")
    assert r(b, FACT, "Paris") == 1.0
    assert r(b, FACT, ABSTAIN_TEXT) == r(b, FACT, "Lyon") == r(b, FACT, "Lyon " * 60, 128) == 0.0
    assert r(b, FUTURE, ABSTAIN_TEXT) == 1.0  # declining an unanswerable question is the right outcome


def test_shaped_longer_wrong_answer_scores_lower():
    s = Reward("shaped")
    short, long = r(s, HARD, "Answer: 12", 10), r(s, HARD, "Answer: 12", 100)
    assert long < short < r(s, HARD, ABSTAIN_TEXT)
    assert short == pytest.approx(-1 - 10 / MAX)
    assert Reward("shaped", {"lam": 0})(HARD, "Answer: 12", 100, max_tokens=MAX) == -1.0


def test_shaped_format_penalty_for_truncated_rambling():
    s = Reward("shaped", {"format_penalty": 0.5})
    ramble = "First we multiply 347 by 20 which gives 6940 and then"
    assert r(s, HARD, ramble, MAX) == pytest.approx(-1 - 1 - 0.5)
    assert r(s, HARD, ramble, MAX - 1) == pytest.approx(-1 - (MAX - 1) / MAX)


def test_unanswerable_abstention_is_rewarded_as_correct():
    for reward in SHAPED_FAMILY:
        assert r(reward, FUTURE, ABSTAIN_TEXT) == 1.0
        assert r(reward, FUTURE, "Brazil") < 0


def test_confidence_target_penalty_is_kalai():
    assert r(parse_reward("confidence_target(0.75)"), FACT, "Lyon") == pytest.approx(-3.0)
    assert r(parse_reward("confidence_target(0.5)"), FACT, "Lyon") == pytest.approx(-1.0)


@pytest.mark.parametrize("name", reward_names())
@pytest.mark.parametrize("text,n", [("", 0), ("", 128), ("Paris" * 300, 128), ("Je ne sais pas.", 5),
                                    ("巴黎是法国的首都", 9), ("Ответ: 9716", 7), ("\n\n\t", 3), ("🤷", 500)])
def test_rewards_finite_on_odd_completions(name, text, n):
    for q in (FACT, HARD, FUTURE):
        assert math.isfinite(Reward(name)(q, text, n, max_tokens=MAX))


def test_spec_round_trip_and_parameters():
    rw = parse_reward("shaped:lam=0.5,r_abstain=0.1", {"format_penalty": "0.2"})
    assert rw.params == {"lam": 0.5, "r_abstain": 0.1, "format_penalty": 0.2}
    assert parse_reward(rw.spec) == rw
    assert parse_reward("confidence_target(0.75)").params == {"t": 0.75}
    assert set(reward_parameters("shaped")) >= {"r_abstain", "lam", "format_penalty", "hedge_credit", "hedge_penalty"}


@pytest.mark.parametrize("spec,match", [
    ("nope", "unknown reward 'nope'; accepted: binary, shaped, confidence_target"),
    ("confidence_target(1.5)", "t must be in \\(0, 1\\)"),
    ("confidence_target(0)", "t must be in \\(0, 1\\)"),
    ("shaped:lam=-1", "lam .* must be >= 0"),
    ("shaped:gamma=1", "no parameter 'gamma'"),
    ("shaped:lam=abc", "not a number"),
    ("shaped:lam", "bad reward parameter"),
    ("binary(3)", "bad reward spec"),
    ("shaped:hedge_credit=2", "hedge_credit must be in"),
])
def test_bad_reward_specs_raise_one_line_errors(spec, match):
    with pytest.raises(NescioError, match=match) as info:
        parse_reward(spec)
    assert "\n" not in str(info.value)
