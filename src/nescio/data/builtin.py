"""The built-in benchmark: curated known facts plus generated unanswerable questions.

``builtin_questions(split=None)`` builds every question in pure Python (a few
milliseconds), deterministically from ``SEED``; splits are stratified by category
(50% train, 25% calibration, 25% test), each question placed by a seeded hash of
its text, so editing one table does not reshuffle the others.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import random
import re

from nescio.types import NescioError, Question

SEED = 20260101
SPLITS = ("train", "calibration", "test")
SPLIT_SHARES = (0.5, 0.25, 0.25)
FACT_CATEGORIES = tuple(f"fact/{d}" for d in ("geography", "science", "literature_art", "history", "numbers"))
UNANSWERABLE_SIZES = {"fabricated": 160, "future": 140, "random_fact": 140, "false_premise": 140}
CATEGORIES = FACT_CATEGORIES + tuple(UNANSWERABLE_SIZES)


def parse_table(table: str) -> list[tuple[str, tuple[str, ...]]]:
    """The ``entity | alias; alias`` lines of a fact table as (entity, aliases) pairs (``#`` lines skipped)."""
    rows = []
    for line in table.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        left, _, right = line.partition("|")
        aliases = tuple(a.strip() for a in right.split(";") if a.strip())
        if not left.strip() or not aliases:
            raise ValueError(f"bad fact line: {line!r}")
        rows.append((left.strip(), aliases))
    return rows


def fact_rows(domain: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(question text, entity, aliases)`` for one fact domain, in table order."""
    module = importlib.import_module(f"nescio.data.facts.{domain}")
    rows = []
    for template, table in module.TEMPLATES:
        for entity, aliases in parse_table(table):
            rows.append((template.format(e=entity), entity, aliases))
    for marked, aliases in parse_table(module.FACTS):
        match = re.search(r"\[(.+?)\]", marked)
        if match is None:
            raise ValueError(f"fact question without [entity]: {marked!r}")
        rows.append((marked.replace("[", "").replace("]", ""), match.group(1), aliases))
    return rows


def _fact_vocabulary() -> set[str]:
    """Every word of every fact question and alias: invented names must avoid them."""
    from nescio.data.facts import DOMAINS

    words: set[str] = set()
    for domain in DOMAINS:
        for text, _, aliases in fact_rows(domain):
            for chunk in (text, *aliases):
                words.update(w.lower() for w in re.findall(r"[A-Za-z]+", chunk))
    return words


@functools.lru_cache(maxsize=1)
def _all_questions() -> tuple[Question, ...]:
    from nescio.data import unanswerable as un
    from nescio.data.facts import DOMAINS
    from nescio.data.facts import geography, literature_art

    rng = random.Random(SEED)
    items: list[tuple[str, str, str, tuple[str, ...]]] = []  # category, text, entity, answers
    for domain in DOMAINS:
        for text, entity, aliases in fact_rows(domain):
            items.append((f"fact/{domain}", text, entity, aliases))

    names = un.NameMaker(random.Random(SEED + 1), _fact_vocabulary())
    capitals = [(c, a[0]) for c, a in parse_table(geography.CAPITALS)]
    authors = [(w, a[0]) for w, a in parse_table(literature_art.AUTHORS)]
    generated = {
        "fabricated": un.fabricated(rng, names, UNANSWERABLE_SIZES["fabricated"]),
        "future": un.future(rng, UNANSWERABLE_SIZES["future"]),
        "random_fact": un.random_facts(rng, names, UNANSWERABLE_SIZES["random_fact"]),
        "false_premise": un.false_premises(rng, capitals, authors, UNANSWERABLE_SIZES["false_premise"]),
    }
    for category, pairs in generated.items():
        items.extend((category, text, entity, ()) for text, entity in pairs)

    questions = []
    counters: dict[str, int] = {}
    by_category: dict[str, list[int]] = {}
    for i, (category, *_rest) in enumerate(items):
        by_category.setdefault(category, []).append(i)
    split_of: dict[int, str] = {}
    for category, indices in by_category.items():
        # order by a seeded hash of the text: stratified, deterministic, and stable when
        # questions are added or removed elsewhere in the tables
        order = sorted(indices, key=lambda i: hashlib.sha256(f"{SEED}:{items[i][1]}".encode()).hexdigest())
        n_train = round(len(order) * SPLIT_SHARES[0])
        n_cal = round(len(order) * SPLIT_SHARES[1])
        for rank, i in enumerate(order):
            split_of[i] = "train" if rank < n_train else "calibration" if rank < n_train + n_cal else "test"
    seen: set[str] = set()
    for i, (category, text, entity, answers) in enumerate(items):
        if text in seen:
            raise ValueError(f"duplicate built-in question: {text!r}")
        seen.add(text)
        if entity not in text:
            raise ValueError(f"entity {entity!r} not in question {text!r}")
        counters[category] = counters.get(category, 0) + 1
        short = category.replace("fact/", "")
        questions.append(Question(
            id=f"builtin-{short}-{counters[category]:04d}",
            text=text,
            answers=answers,
            answerable=bool(answers),
            category=category,
            source="builtin",
            entity=entity,
            split=split_of[i],
        ))
    return tuple(questions)


def builtin_questions(split: str | None = None) -> list[Question]:
    """The built-in benchmark, all of it or one split ("train", "calibration", "test")."""
    if split is not None and split not in SPLITS:
        raise NescioError(f"unknown built-in split {split!r}; accepted: {', '.join(SPLITS)}")
    questions = _all_questions()
    return [q for q in questions if split is None or q.split == split]
