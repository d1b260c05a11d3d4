"""A built-in corpus generated from the built-in fact tables, with deliberate gaps and distractors.

One short encyclopedia-style passage per entity, holding one sentence per fact about it
("The capital of France is Paris. The currency of France is the euro."). Deliberate
**gaps**: a seeded ``GAP_SHARE`` of the facts is left out, so their questions are not
answerable from the corpus (the unanswerable built-in questions — fabricated entities,
future events, … — are not in it either). **Distractors**: for a seeded share of entities
a *lookalike* passage (a similar entity, "North France", with another entity's answer)
and a *comparison* passage that names the entity beside another one and the other one's
answer ("France is often compared with Germany, whose capital is Berlin.").
:func:`extra_distractors` makes ``n`` more of these per question, for the noise benchmark.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re

from dataclasses import dataclass

from nescio.rag.corpus import Passage
from nescio.types import Question

SEED = 20260214
GAP_SHARE = 0.25
DISTRACTOR_SHARE = 0.3
PREFIXES = ("North", "New", "Upper", "Little", "Old", "East", "Greater")

# template → (fact sentence, comparison clause) with {e} entity, {a} answer, {o} other entity
SENTENCES = {
    "What is the capital of {e}?": ("The capital of {e} is {a}.", "whose capital is {a}"),
    "On which continent is {e}?": ("{E} lies in {a}.", "which lies in {a}"),
    "What is the currency of {e}?": ("The currency of {e} is the {a}.", "whose currency is the {a}"),
    "What is the official language of {e}?": ("The official language of {e} is {a}.", "whose official language is {a}"),
    "In what year was {e}?": ("{E} was in {a}.", "which was in {a}"),
    "Who wrote {e}?": ("{E} was written by {a}.", "which was written by {a}"),
    "Who painted {e}?": ("{E} was painted by {a}.", "which was painted by {a}"),
    "Who composed {e}?": ("{E} was composed by {a}.", "which was composed by {a}"),
    "How many sides does {e} have?": ("{E} has {a} sides.", "which has {a} sides"),
    "How many legs does {e} have?": ("{E} has {a} legs.", "which has {a} legs"),
    "What is the chemical symbol for {e}?": ("The chemical symbol for {e} is {a}.", "whose chemical symbol is {a}"),
    "What is the atomic number of {e}?": ("The atomic number of {e} is {a}.", "whose atomic number is {a}"),
}


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _hash01(text: str) -> float:
    return int(hashlib.sha256(f"{SEED}:{text}".encode()).hexdigest()[:12], 16) / 16**12


def _sentence(template: str | None, question: str, entity: str, answer: str) -> str:
    if template in SENTENCES:
        return SENTENCES[template][0].format(e=entity, E=_cap(entity), a=answer)
    return f"{question} {answer}."  # free-form facts: the question with its answer


def _lookalike(entity: str, rng: random.Random) -> str:
    if entity.isdigit():
        return str(int(entity) + rng.choice((-3, -2, 2, 3)))
    core = re.sub(r"^(the|a|an) ", "", entity)
    return f"{rng.choice(PREFIXES)} {core}"


SOURCES = ("a local newspaper", "a town record", "a club newsletter", "a museum catalogue", "a school yearbook")


@dataclass(frozen=True)
class Fact:
    question: str
    template: str | None  # None for free-form facts
    entity: str
    answer: str
    domain: str

    @property
    def gap(self) -> bool:
        """Left out of the corpus on purpose."""
        return _hash01("gap:" + self.question) < GAP_SHARE


@functools.lru_cache(maxsize=1)
def facts() -> tuple[Fact, ...]:
    """Every built-in fact with its template (same order as the built-in benchmark)."""
    import importlib

    from nescio.data.builtin import parse_table
    from nescio.data.facts import DOMAINS

    out = []
    for domain in DOMAINS:
        module = importlib.import_module(f"nescio.data.facts.{domain}")
        for template, table in module.TEMPLATES:
            for entity, aliases in parse_table(table):
                out.append(Fact(template.format(e=entity), template, entity, aliases[0], domain))
        for marked, aliases in parse_table(module.FACTS):
            entity = re.search(r"\[(.+?)\]", marked).group(1)
            out.append(Fact(marked.replace("[", "").replace("]", ""), None, entity, aliases[0], domain))
    return tuple(out)


def _facts_by_question() -> dict[str, Fact]:
    return {f.question: f for f in facts()}


def corpus_group(question: Question) -> str:
    """``"in_corpus"`` (its fact is in the built-in corpus), ``"gap"`` (a known fact left out) or
    ``"unanswerable"`` (no answer exists)."""
    fact = _facts_by_question().get(question.text)
    if fact is None:
        return "unanswerable"
    return "gap" if fact.gap else "in_corpus"


def _other(fact: Fact, rng: random.Random) -> Fact:
    same = [f for f in facts() if (f.template == fact.template if fact.template else f.domain == fact.domain)
            and f.answer != fact.answer and f.template == fact.template]
    return rng.choice(same or [f for f in facts() if f.answer != fact.answer])


def _lookalike_sentence(fact: Fact, rng: random.Random) -> tuple[str, str]:
    variant = _lookalike(fact.entity, rng)
    wrong = _other(fact, rng).answer
    if fact.template in SENTENCES:
        return variant, _sentence(fact.template, "", variant, wrong)
    return variant, f"{fact.question.replace(fact.entity, variant)} {wrong}."


def _compare_sentence(fact: Fact, rng: random.Random) -> str | None:
    if fact.template not in SENTENCES:
        return None
    other = _other(fact, rng)
    return f"{_cap(fact.entity)} is often compared with {other.entity}, {SENTENCES[fact.template][1].format(a=other.answer)}."


def _mention(entity: str, rng: random.Random) -> str:
    return f"{_cap(entity)} was mentioned in {rng.choice(SOURCES)} in {rng.randint(1890, 2020)}."


@functools.lru_cache(maxsize=1)
def builtin_corpus() -> tuple[Passage, ...]:
    """The built-in corpus: entity passages (gaps left out) plus the built-in distractors."""
    rng = random.Random(SEED)
    by_entity: dict[str, list[Fact]] = {}
    for f in facts():
        by_entity.setdefault(f.entity, []).append(f)
    out = []
    for n, (entity, fs) in enumerate(by_entity.items()):
        kept = [f for f in fs if not f.gap]
        if kept:
            out.append(Passage(f"fact-{n:04d}", _cap(entity), " ".join(
                _sentence(f.template, f.question, f.entity, f.answer) for f in kept)))
        if _hash01("distract:" + entity) < DISTRACTOR_SHARE:
            variant, sentence = _lookalike_sentence(fs[0], rng)
            out.append(Passage(f"lookalike-{n:04d}", _cap(variant), sentence))
            compare = _compare_sentence(fs[0], rng)
            if compare:
                out.append(Passage(f"compare-{n:04d}", _cap(entity), compare))
    return tuple(out)


def extra_distractors(questions: list[Question], n: int = 5) -> list[Passage]:
    """``n`` more distractor passages per question (lookalike entities with wrong answers,
    comparisons naming the entity beside another's answer, mentions with unrelated years);
    none holds a question's answer about its own entity."""
    by_q = _facts_by_question()
    out = []
    for q in questions:
        if not q.entity:
            continue
        rng = random.Random(f"{SEED}:extra:{q.id}")
        fact = by_q.get(q.text)
        for j in range(n):
            kind = j % 3 if fact is not None else 2
            text = None
            if kind == 0:
                title, text = _lookalike_sentence(fact, rng)
            elif kind == 1:
                title, text = q.entity, _compare_sentence(fact, rng)
            if text is None:
                title, text = q.entity, _mention(q.entity, rng)
            out.append(Passage(f"extra-{q.id}-{j}", _cap(title), text))
    return out
