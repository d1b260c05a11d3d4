"""The wide benchmark: size, template-family-disjoint splits, checked facts, invented names, loader, CLI."""

from __future__ import annotations

import collections
import re
import time
from dataclasses import asdict

import pytest
from typer.testing import CliRunner

from nescio.data import builtin_questions, load_questions, wide_questions
from nescio.data import wide as wide_module
from nescio.data.unanswerable import _WORK_WORDS, FIRST_NAMES
from nescio.data.wide import CATEGORIES, SPLITS, assign_splits, fact_vocabulary
from nescio.data.wide.answerable import aliases, rows
from nescio.data.wide.countries import COUNTRIES
from nescio.data.wide.elements import ELEMENTS
from nescio.types import UNANSWERABLE_CATEGORIES, NescioError, Question


@pytest.fixture(scope="module")
def qs() -> list[Question]:
    return wide_questions()


def _families(qs, category):
    return {q.family for q in qs if q.category == category}


def test_size_categories_and_balance(qs):
    assert len(qs) >= 5000
    assert len({q.id for q in qs}) == len(qs)
    assert len({q.text for q in qs}) == len(qs)
    counts = collections.Counter(q.category for q in qs)
    assert set(counts) == set(CATEGORIES)
    answerable = sum(q.answerable for q in qs) / len(qs)
    assert 0.4 <= answerable <= 0.6, answerable


def test_no_family_in_two_splits_and_every_split_has_every_category(qs):
    splits_of = collections.defaultdict(set)
    for q in qs:
        assert q.family, q
        splits_of[q.family].add(q.split)
    shared = {f: s for f, s in splits_of.items() if len(s) > 1}
    assert not shared, shared
    for category in CATEGORIES:
        assert {q.split for q in qs if q.category == category} == set(SPLITS), category
    share = collections.Counter(q.split for q in qs)
    assert abs(share["train"] / len(qs) - 0.5) < 0.04
    assert abs(share["calibration"] / len(qs) - 0.25) < 0.04
    assert abs(share["test"] / len(qs) - 0.25) < 0.04
    categories_of = collections.defaultdict(set)
    for q in qs:
        categories_of[q.family].add(q.category)
    assert all(len(c) == 1 for c in categories_of.values())  # no family straddles two categories


def test_assign_splits_keeps_families_whole_and_balances():
    sizes = {"cat": {f"fam{i}": 10 + i for i in range(12)}}
    split_of = assign_splits(sizes, seed=1)
    assert set(split_of) == set(sizes["cat"]) and set(split_of.values()) == set(SPLITS)
    per_split = collections.Counter()
    for family, split in split_of.items():
        per_split[split] += sizes["cat"][family]
    total = sum(sizes["cat"].values())
    assert abs(per_split["train"] / total - 0.5) < 0.1
    with pytest.raises(ValueError, match="too few families"):
        assign_splits({"cat": {"only": 5, "two": 5}})


def test_unanswerable_variety(qs):
    for category in UNANSWERABLE_CATEGORIES:
        assert len(_families(qs, category)) >= 8, category
    kinds = {f.split(".")[1] for f in _families(qs, "fabricated")}
    assert {"person", "place", "org", "work", "product", "species", "compound"} <= kinds
    randoms = {f.split(".")[1] for f in _families(qs, "random_fact")}
    assert {"phone", "isbn", "plate", "birthday", "account", "address"} <= randoms
    domains = {f.split(".")[1] for f in _families(qs, "future")}
    assert {"sport", "elect", "price", "science", "weather", "company"} <= domains
    years = [int(y) for q in qs if q.category == "future" for y in re.findall(r"\b(20\d\d)\b", q.text)]
    assert min(years) >= 2031 and max(years) > 2050 and sum(y <= 2035 for y in years) > 50
    shapes = {f.split(".")[1] for f in _families(qs, "false_premise")}
    assert {"wrong_attribute", "wrong_relation", "no_event", "impossible", "anachronism"} <= shapes


def test_fields_and_answers_are_checked(qs):
    for q in qs:
        assert q.source == "wide" and q.entity and q.entity in q.text, q
        if q.category.startswith("fact/"):
            assert q.answerable and q.answers, q
            assert all(a.strip() and a == a.strip() for a in q.answers), q
            assert len(set(q.answers)) == len(q.answers), q
            assert q.popularity in ("head", "tail"), q
        else:
            assert q.category in UNANSWERABLE_CATEGORIES
            assert not q.answerable and q.answers == () and q.popularity is None, q
    facts = [q for q in qs if q.answerable]
    tail = sum(q.popularity == "tail" for q in facts) / len(facts)
    assert 0.3 <= tail <= 0.8, tail  # the long tail is there, and so is the head
    for category in ("fact/geography", "fact/science", "fact/literature_art"):
        assert {q.popularity for q in qs if q.category == category} == {"head", "tail"}


def test_no_text_shared_with_the_builtin_benchmark(qs):
    builtin = {q.text for q in builtin_questions()}
    assert not [q.text for q in qs if q.text in builtin]


def test_invented_names_collide_with_no_fact_word(qs):
    vocabulary = fact_vocabulary()
    fixed = {w.lower() for w in (*FIRST_NAMES, *_WORK_WORDS)} | {
        "the", "of", "holdings", "industries", "group", "systems", "analytics", "foods", "shipping", "pharma",
        "university", "institute", "technology", "conservatory", "polytechnic", "party", "alliance", "movement",
        "chloride", "sulfate", "oxide", "nitrate", "acetate", "carbonate", "treaty"}
    checked = 0
    for q in qs:
        if q.category not in ("fabricated", "random_fact"):
            continue
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", q.entity)]
        invented = [w for w in words if w not in fixed and len(w) >= 4]  # "X17" in a model name is not a name
        assert invented, q  # every entity has an invented word ...
        assert not [w for w in invented if w in vocabulary], q  # ... that no fact table uses
        checked += 1
    assert checked >= 1300


def test_false_premises_are_false(qs):
    capitals = {r[1]: aliases(r[4]) for r in rows(COUNTRIES) if r[4]}
    symbols = {aliases(r[2])[0]: r[1] for r in rows(ELEMENTS)}
    n = 0
    for q in qs:
        if q.family == "false_premise.wrong_attribute.capital":
            city, country = re.fullmatch(r"Since when has (.+) been the capital of (.+)\?", q.text).groups()
            assert city not in capitals[country], q
            n += 1
        elif q.family == "false_premise.wrong_attribute.symbol":
            symbol, element = re.fullmatch(r"Why is (\w+) the chemical symbol of (.+)\?", q.text).groups()
            assert symbols[element] != symbol, q
            n += 1
    assert n >= 40


def test_vendored_tables_are_consistent():
    countries = rows(COUNTRIES)
    assert len(countries) == 193 and all(len(r) == 11 for r in countries)
    codes = {r[0] for r in countries}
    assert len(codes) == 193
    borders = {r[0]: set(r[10].split()) for r in countries}
    for code, neighbours in borders.items():
        assert neighbours <= codes and code not in neighbours
        for other in neighbours:
            assert code in borders[other], (code, other)  # borders are symmetric
    elements = rows(ELEMENTS)
    assert [int(r[0]) for r in elements] == list(range(1, 119))
    assert len({r[1] for r in elements}) == 118


def test_deterministic_fast_and_serialisable():
    wide_module._all_questions.cache_clear()
    start = time.perf_counter()
    a = wide_questions()
    elapsed = time.perf_counter() - start
    wide_module._all_questions.cache_clear()
    b = wide_questions()
    assert a == b
    assert elapsed < 5.0, elapsed  # about 0.5 s on an idle core
    q = a[0]
    assert Question(**asdict(q)) == q and asdict(q)["family"] == q.family


def test_loader_and_split_names():
    assert load_questions("wide") == wide_questions()
    test = load_questions("wide:test")
    assert test == wide_questions("test") and test and all(q.split == "test" for q in test)
    assert sum(len(wide_questions(s)) for s in SPLITS) == len(wide_questions())
    with pytest.raises(NescioError, match="accepted: train, calibration, test"):
        load_questions("wide:dev")


def test_data_list_shows_wide():
    from nescio.cli import app

    result = CliRunner().invoke(app, ["data", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"wide: {len(wide_questions())} questions" in result.output
    assert "template families" in result.output and "wide:SPLIT" in result.output


def test_data_show_wide_prints_the_family():
    from nescio.cli import app

    result = CliRunner().invoke(app, ["data", "show", "wide:test", "--category", "future", "--n", "3"],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "family" in result.output and result.output.count("wide-future-") == 3
    assert "future." in result.output


def test_every_alias_is_graded_correct_and_a_refusal_abstains(qs):
    from nescio.grading import grade
    from nescio.types import Outcome

    for q in qs:
        if q.answerable:
            for alias in q.answers:
                assert grade(q, f"{alias}.").outcome is Outcome.CORRECT, (q, alias)
        else:
            assert grade(q, "I don't know.").outcome is Outcome.ABSTAINED, q
