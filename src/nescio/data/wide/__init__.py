"""The ``wide`` benchmark: over 5,000 generated questions, split by whole template family.

``wide_questions(split=None)`` builds every question in pure Python (well under two
seconds), deterministically from ``SEED``:

- answerable facts (:mod:`.answerable`): countries (capitals both ways, continents,
  currencies both ways, official languages, calling codes, internet domains,
  neighbours; vendored by ``benchmarks/wide_vendor.py``), capitals of US states and of
  Canadian and Australian provinces, states and territories, the 118 chemical elements
  (symbols and atomic numbers, both ways), authors of works (the built-in table plus
  less popular works), painters, composers, years of events, sides, legs and team
  sizes. Each carries ``popularity`` ``"head"`` or ``"tail"``;
- unanswerable (:mod:`.unknowable`, :mod:`.premises`): fabricated entities of many
  kinds, random facts about private persons, future events across domains and
  horizons, false premises of many shapes.

Categories are the built-in benchmark's (``fact/<domain>`` and the four unanswerable
kinds), so the grader, the trainer's refusal targets and the reports treat them alike.
``Question.family`` names the template family (``capital.which_city``,
``fabricated.product.phone`` ...). Splits (train 50 %, calibration 25 %, test 25 % of
the questions) hold out *whole families*: within each category the families are
ordered by a seeded hash of their name and each goes to the split furthest below its
share, so no family is in two splits and every split has every category.
"""

from __future__ import annotations

import functools
import hashlib
import random

from nescio.types import NescioError, Question

SEED = 20261202
SPLITS = ("train", "calibration", "test")
SPLIT_SHARES = (0.5, 0.25, 0.25)
UNANSWERABLE_SIZES = {"fabricated": 690, "future": 690, "random_fact": 690, "false_premise": 690}
FACT_CATEGORIES = tuple(f"fact/{d}" for d in ("geography", "science", "literature_art", "history", "numbers"))
CATEGORIES = FACT_CATEGORIES + tuple(UNANSWERABLE_SIZES)


def fact_vocabulary() -> set[str]:
    """Every word of the built-in facts and of the wide tables: invented names avoid them all."""
    import re

    from nescio.data.builtin import _fact_vocabulary
    from nescio.data.wide import countries, curated, elements

    words = set(_fact_vocabulary())
    for module in (countries, curated, elements):
        for value in vars(module).values():
            if isinstance(value, str):
                words.update(w.lower() for w in re.findall(r"[A-Za-z]+", value))
    return words


def _unanswerable(seed: int) -> list:
    from nescio.data.builtin import parse_table
    from nescio.data.facts import literature_art, numbers
    from nescio.data.wide import premises, unknowable
    from nescio.data.wide.answerable import rows
    from nescio.data.wide.countries import COUNTRIES
    from nescio.data.wide.elements import ELEMENTS

    rng = random.Random(seed)
    names = unknowable.WideNames(random.Random(seed + 1), fact_vocabulary())
    composers = sorted({a[0] for _, a in parse_table(literature_art.COMPOSERS)})
    authors = [(w, a[0]) for w, a in parse_table(literature_art.AUTHORS)]
    painters = sorted({a[0] for _, a in parse_table(literature_art.PAINTERS)})
    legs = [(e, a[0]) for e, a in parse_table(numbers.LEGS)]
    families = {
        "fabricated": unknowable.FABRICATED,
        "future": premises.FUTURE,
        "random_fact": unknowable.RANDOM_FACTS,
        "false_premise": premises.false_premises(rows(COUNTRIES), rows(ELEMENTS), authors, composers, painters, legs),
    }
    seen: set[str] = set()
    out = []
    for category, size in UNANSWERABLE_SIZES.items():
        out += unknowable.deal(rng, names, category, category, families[category], size, seen)
    return out


def assign_splits(families_by_category: dict[str, dict[str, int]], seed: int = SEED) -> dict[str, str]:
    """Family -> split: per category, families in seeded-hash order, each to the split
    furthest below its share of the category's questions."""
    split_of: dict[str, str] = {}
    for category, sizes in families_by_category.items():
        total = sum(sizes.values())
        filled = dict.fromkeys(SPLITS, 0)
        for family in sorted(sizes, key=lambda f: hashlib.sha256(f"{seed}:{f}".encode()).hexdigest()):
            split = max(SPLITS, key=lambda s: SPLIT_SHARES[SPLITS.index(s)] * total - filled[s])
            split_of[family] = split
            filled[split] += sizes[family]
        if not all(filled.values()):
            raise ValueError(f"category {category!r} has too few families for three splits: {sizes}")
    return split_of


@functools.lru_cache(maxsize=1)
def _all_questions() -> tuple[Question, ...]:
    from nescio.data.wide.answerable import answerable

    items = answerable(SEED) + _unanswerable(SEED)
    by_category: dict[str, dict[str, int]] = {}
    for item in items:
        sizes = by_category.setdefault(item.category, {})
        sizes[item.family] = sizes.get(item.family, 0) + 1
    split_of = assign_splits(by_category)
    seen: set[str] = set()
    counters: dict[str, int] = {}
    out = []
    for item in items:
        if item.text in seen:
            raise ValueError(f"duplicate wide question: {item.text!r}")
        seen.add(item.text)
        if item.entity not in item.text:
            raise ValueError(f"entity {item.entity!r} not in question {item.text!r}")
        counters[item.category] = counters.get(item.category, 0) + 1
        short = item.category.replace("fact/", "")
        out.append(Question(
            id=f"wide-{short}-{counters[item.category]:05d}", text=item.text, answers=item.answers,
            answerable=bool(item.answers), category=item.category, source="wide", entity=item.entity,
            split=split_of[item.family], family=item.family, popularity=item.popularity,
        ))
    return tuple(out)


def wide_questions(split: str | None = None) -> list[Question]:
    """The wide benchmark, all of it or one split ("train", "calibration", "test")."""
    if split is not None and split not in SPLITS:
        raise NescioError(f"unknown wide split {split!r}; accepted: {', '.join(SPLITS)}")
    return [q for q in _all_questions() if split is None or q.split == split]
