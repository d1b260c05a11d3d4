"""The built-in benchmark: size, categories, determinism, splits, entities, name collisions."""

from __future__ import annotations

import collections
import re

import pytest

from nescio.data import CATEGORIES, builtin_questions, load_questions
from nescio.data.builtin import UNANSWERABLE_SIZES, _fact_vocabulary
from nescio.types import UNANSWERABLE_CATEGORIES, NescioError


def test_size_and_categories():
    qs = builtin_questions()
    assert len(qs) >= 1200
    counts = collections.Counter(q.category for q in qs)
    assert set(counts) == set(CATEGORIES)
    assert set(UNANSWERABLE_CATEGORIES) <= set(counts)
    assert all(n >= 80 for n in counts.values()), counts
    assert len({q.id for q in qs}) == len(qs)
    assert len({q.text for q in qs}) == len(qs)


def test_fields_are_consistent():
    for q in builtin_questions():
        assert q.source == "builtin"
        assert q.entity and q.entity in q.text, q
        if q.category.startswith("fact/"):
            assert q.answerable and q.answers, q
        else:
            assert q.category in UNANSWERABLE_CATEGORIES
            assert not q.answerable and q.answers == ()


def test_deterministic_and_stratified_splits():
    a = builtin_questions()
    from nescio.data import builtin as builtin_module

    builtin_module._all_questions.cache_clear()
    b = builtin_questions()
    assert a == b
    for category in CATEGORIES:
        rows = [q for q in a if q.category == category]
        share = collections.Counter(q.split for q in rows)
        assert abs(share["train"] / len(rows) - 0.5) < 0.02
        assert abs(share["calibration"] / len(rows) - 0.25) < 0.03
        assert abs(share["test"] / len(rows) - 0.25) < 0.03
    test = builtin_questions("test")
    assert test and all(q.split == "test" for q in test)
    assert load_questions("builtin:calibration") == builtin_questions("calibration")
    assert sum(len(builtin_questions(s)) for s in ("train", "calibration", "test")) == len(a)


def test_unknown_split_is_a_named_error():
    with pytest.raises(NescioError, match="accepted: train, calibration, test"):
        builtin_questions("dev")
    with pytest.raises(NescioError):
        load_questions("builtin:dev")


def test_invented_names_do_not_collide_with_facts():
    vocabulary = _fact_vocabulary()
    invented_ones = [q for q in builtin_questions() if q.category in ("fabricated", "random_fact")]
    assert len(invented_ones) == UNANSWERABLE_SIZES["fabricated"] + UNANSWERABLE_SIZES["random_fact"]
    for q in invented_ones:
        name = q.entity.removeprefix("Treaty of ").removeprefix("The ")
        invented = [w for w in re.findall(r"[A-Za-z]+", name) if w[0].isupper() or q.category == "fabricated"]
        # first names are ordinary first names; the invented part is the surname / place / binomial
        assert any(w.lower() not in vocabulary for w in invented), q


def test_future_questions_are_after_2030():
    future = [q for q in builtin_questions() if q.category == "future"]
    assert len(future) == UNANSWERABLE_SIZES["future"]
    for q in future:
        years = [int(y) for y in re.findall(r"\b(\d{4})\b", q.text)]
        assert years and min(years) > 2030, q
