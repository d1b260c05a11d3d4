"""Answerable questions of the ``wide`` benchmark: relations over checked fact tables.

A *relation* (``capital``, ``capital_of``, ``symbol`` …) is a list of facts; each has
several phrasings, and each phrasing is a *template family* (``capital.which_city``).
Every fact of a relation is asked exactly once, in one phrasing: facts are dealt to
the phrasings round-robin after a seeded shuffle, so a test family holds facts (and a
wording) the train families never asked that way. Relations that invert one another
(``capital`` and ``capital_of``) do ask the same pair in both directions.
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

from nescio.data.builtin import parse_table


class Item(NamedTuple):
    category: str
    family: str
    text: str
    entity: str
    answers: tuple[str, ...]
    popularity: str | None


def rows(table: str) -> list[list[str]]:
    """Cells of a ``a | b | c`` table (comments and blank lines skipped)."""
    out = []
    for line in table.strip().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            out.append([cell.strip() for cell in line.split("|")])
    return out


def aliases(cell: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.strip() for a in cell.split(";") if a.strip()))


def _fill(template: str, entity: str, **values: str) -> tuple[str, str]:
    """The question text (first letter capitalised) and the entity as it appears in it."""
    text = template.format(**values)
    text = text[0].upper() + text[1:]
    if entity not in text and entity[:1].upper() + entity[1:] in text:
        entity = entity[:1].upper() + entity[1:]
    return text, entity


def relation(seed: int, category: str, name: str, phrasings: dict[str, str],
             facts: list[tuple[dict[str, str], str, tuple[str, ...], str | None]]) -> list[Item]:
    """Deal ``facts`` (template values, entity, answers, popularity) to the phrasings."""
    from nescio.grading import normalize_answer

    order = list(facts)
    random.Random(f"{seed}:{name}").shuffle(order)
    keys = list(phrasings)
    out = []
    for i, (values, entity, answers, popularity) in enumerate(order):
        key = keys[i % len(keys)]
        text, shown = _fill(phrasings[key], entity, **values)
        # an alias the question already contains cannot be graded as an answer (the grader
        # discounts phrases copied from the question): drop it, and the fact if none is left
        asked = f" {normalize_answer(text)} "
        answers = tuple(a for a in answers if f" {normalize_answer(a)} " not in asked)
        if answers:
            out.append(Item(category, f"{name}.{key}", text, shown, answers, popularity))
    return out


# ---------------------------------------------------------------- geography: countries

_CAPITAL = {"which_city": "Which city is the capital of {c}?", "name": "Name the capital city of {c}.",
            "serves": "What city serves as the capital of {c}?", "is_which": "The capital of {c} is which city?",
            "tell": "Tell me the capital of {c}."}
_CAPITAL_OF = {"which_country": "{city} is the capital of which country?",
               "name": "Name the country whose capital is {city}.",
               "nation": "Of which nation is {city} the capital city?",
               "has": "What country has {city} as its capital?"}
_CONTINENT = {"which": "Which continent is {c} in?", "located": "On what continent is {c} located?",
              "name": "Name the continent where {c} lies.", "part": "{c} is part of which continent?"}
_CURRENCY = {"which": "Which currency is used in {c}?", "name": "Name the official currency of {c}.",
             "pay": "What money do people pay with in {c}?", "tender": "What is the legal tender of {c}?",
             "called": "What is the currency called in {c}?"}
_CURRENCY_OF = {"uses": "Which country uses the {u} as its currency?",
                "name": "Name the country whose currency is the {u}.",
                "is_of": "The {u} is the currency of which country?"}
_LANGUAGE = {"name": "Name an official language of {c}.", "which": "Which language is an official language of {c}?",
             "status": "What language has official status in {c}?", "give": "Give an official language of {c}."}
_CALLING = {"dialling": "What is the international dialling code of {c}?",
            "telephone": "Which telephone country code does {c} use?",
            "prefix": "What country code do you dial to phone {c} from abroad?",
            "give": "Give the country calling code for {c}."}
_TLD = {"domain": "What is the internet country-code top-level domain of {c}?",
        "websites": "Websites from {c} usually end in which country-code domain?",
        "name": "Name the top-level internet domain assigned to {c}."}
_BORDERS = {"name": "Name a country that shares a land border with {c}.",
            "which": "Which country is a neighbour of {c} by land?", "give": "Give one country bordering {c}.",
            "nation": "Which nation borders {c}?"}
# country-code domains that are also English words: any sentence would match them
_WORD_TLDS = {"is", "it", "me", "no", "to", "by", "in", "am", "at", "be", "do", "my", "so", "us", "an", "as", "or",
              "on", "he", "we", "hi", "go", "id", "ma", "pa", "la", "de", "es", "et", "al", "ad", "ag", "ar", "ae",
              "ie", "mu", "ne", "ml", "tv", "uk"}
# reverse questions whose answer alias would also match a neighbouring name ("Guinea" in
# "Equatorial Guinea", "Sudan" in "South Sudan", "Republic of the Congo" in its neighbour's name)
_NO_REVERSE = {"GN", "SD", "CG"}


_CURRENCY_EXTRA = {"US Dollar": ("United States dollar",), "West African CFA Franc": ("CFA franc",),
                   "Central African CFA Franc": ("CFA franc",)}


def _unit(name: str) -> str:
    """The unit word of a currency name: "Bhutanese Ngultrum" -> "ngultrum"."""
    return re.sub(r"[^\w' ]", "", name).split()[-1].lower()


def countries(seed: int) -> list[Item]:
    from nescio.data.wide.countries import COUNTRIES

    table = rows(COUNTRIES)
    names = {r[0]: (r[1], aliases(r[2])) for r in table}
    units: dict[str, set[str]] = {}
    for r in table:
        for cur in aliases(r[6]):
            units.setdefault(_unit(cur), set()).add(r[0])
    facts: dict[str, list] = {k: [] for k in ("capital", "capital_of", "continent", "currency", "currency_of",
                                              "language", "calling", "tld", "borders")}
    for code, name, _names, pop, capital, continent, currency, language, calling, tld, borders in table:
        entity = name.removeprefix("the ")
        c = {"c": name}
        if capital:
            facts["capital"].append((c, entity, aliases(capital), pop))
            city = aliases(capital)[0]
            if code not in _NO_REVERSE and entity not in city and city not in entity:
                facts["capital_of"].append(({"city": city}, city, names[code][1], pop))
        if continent:
            facts["continent"].append((c, entity, aliases(continent), pop))
        if currency:
            curs = aliases(currency)
            curs += tuple(extra for cur in curs for extra in _CURRENCY_EXTRA.get(cur, ()) if extra not in curs)
            unique = [_unit(x) for x in curs if len(units[_unit(x)]) == 1]
            facts["currency"].append((c, entity, tuple(dict.fromkeys((*curs, *unique))), pop))
            for unit in unique:
                if code not in _NO_REVERSE and len(curs) == 1:
                    facts["currency_of"].append(({"u": unit}, unit, names[code][1], pop))
        if language:
            facts["language"].append((c, entity, aliases(language), pop))
        if calling:
            facts["calling"].append((c, entity, aliases(calling), pop))
        if tld and aliases(tld)[-1] not in _WORD_TLDS:
            facts["tld"].append((c, entity, aliases(tld), pop))
        if borders:
            neighbours = tuple(dict.fromkeys(a for b in borders.split() for a in names[b][1]))
            facts["borders"].append((c, entity, neighbours, pop))
    phrasings = {"capital": _CAPITAL, "capital_of": _CAPITAL_OF, "continent": _CONTINENT, "currency": _CURRENCY,
                 "currency_of": _CURRENCY_OF, "language": _LANGUAGE, "calling": _CALLING, "tld": _TLD,
                 "borders": _BORDERS}
    out: list[Item] = []
    for rel, items in facts.items():
        out += relation(seed, "fact/geography", rel, phrasings[rel], items)
    return out


def subdivisions(seed: int) -> list[Item]:
    from nescio.data.wide.curated import SUBDIVISIONS

    forward = {"serves": "Which city serves as the capital of the {kind} of {e}?",
               "which_city": "Which city is the capital of the {kind} of {e}?",
               "name": "Name the capital city of the {kind} of {e}."}
    reverse = {"which": "{city} is the capital of which {kind}?", "name": "Name the {kind} whose capital is {city}."}
    fwd, rev = [], []
    for kind, name, capital in rows(SUBDIVISIONS):
        city = aliases(capital)[0]
        entity = name.removeprefix("the ")
        fwd.append(({"kind": kind, "e": entity}, entity, aliases(capital), "tail"))
        if entity not in city:
            rev.append(({"kind": kind, "city": city}, city, (entity,), "tail"))
    return (relation(seed, "fact/geography", "region_capital", forward, fwd)
            + relation(seed, "fact/geography", "region_capital_of", reverse, rev))


# ---------------------------------------------------------------- science: elements


def elements(seed: int) -> list[Item]:
    from nescio.data.wide.elements import ELEMENTS

    symbol = {"of": "What is the chemical symbol of {e}?",
              "stands": "Which symbol stands for the element {e} on the periodic table?",
              "give": "Give the one- or two-letter symbol of the element {e}."}
    symbol_of = {"which": "Which element has the chemical symbol {s}?",
                 "stands": "The symbol {s} stands for which chemical element?",
                 "name": "Name the element whose symbol is {s}."}
    number = {"protons": "How many protons does an atom of {e} have?",
              "which": "Which atomic number does {e} have?",
              "give": "Give the atomic number of the element {e}.", "what": "{e} has what atomic number?"}
    number_of = {"which": "Which element has atomic number {n}?",
                 "name": "Name the chemical element with atomic number {n}.",
                 "protons": "What element has {n} protons in its nucleus?"}
    facts: dict[str, list] = {"symbol": [], "symbol_of": [], "number": [], "number_of": []}
    for n, sym, name, pop in rows(ELEMENTS):
        names = aliases(name)
        if sym != "I":  # "I" would match the pronoun in any answer
            facts["symbol"].append(({"e": names[0]}, names[0], (sym,), pop))
        facts["symbol_of"].append(({"s": sym}, sym, names, pop))
        facts["number"].append(({"e": names[0]}, names[0], (n,), pop))
        facts["number_of"].append(({"n": n}, n, names, pop))
    phrasings = {"symbol": symbol, "symbol_of": symbol_of, "number": number, "number_of": number_of}
    return [item for rel, items in facts.items() for item in relation(seed, "fact/science", rel, phrasings[rel], items)]


# ---------------------------------------------------------------- literature, history, numbers


def works(seed: int) -> list[Item]:
    from nescio.data.facts import literature_art
    from nescio.data.wide.curated import MINOR_WORKS

    author = {"which_author": "Which author wrote {e}?", "name": "Name the author of {e}.",
              "written_by": "{e} was written by whom?", "writer": "Which writer is the author of {e}?",
              "who_is": "Who is the author of {e}?"}
    painter = {"artist": "Which artist painted {e}?", "name": "Name the painter of {e}.",
               "by_whom": "{e} is a painting by which artist?"}
    composer = {"which": "Which composer wrote {e}?", "name": "Name the composer of {e}.",
                "by_whom": "{e} was composed by whom?"}
    known = parse_table(literature_art.AUTHORS)
    titles = {w for w, _ in known}
    books = [({"e": w}, w, a, "head") for w, a in known]
    books += [({"e": w}, w, a, "tail") for w, a in parse_table(MINOR_WORKS) if w not in titles]
    paintings = [({"e": w}, w, a, "head") for w, a in parse_table(literature_art.PAINTERS)]
    pieces = [({"e": w}, w, a, "head") for w, a in parse_table(literature_art.COMPOSERS)]
    return (relation(seed, "fact/literature_art", "author", author, books)
            + relation(seed, "fact/literature_art", "painter", painter, paintings)
            + relation(seed, "fact/literature_art", "composer", composer, pieces))


def history(seed: int) -> list[Item]:
    from nescio.data.facts import history as facts

    year = {"take_place": "In which year did {e} take place?", "what_year": "What year was {e}?",
            "give": "Give the year of {e}.", "happened": "{e} happened in which year?"}
    return relation(seed, "fact/history", "year", year, [({"e": e}, e, a, "head") for e, a in parse_table(facts.YEARS)])


def numbers(seed: int) -> list[Item]:
    from nescio.data.facts import numbers as facts
    from nescio.data.wide.curated import TEAM_SIZES

    sides = {"has": "How many sides has {e} got?", "count": "{e} has how many sides?",
             "number": "What is the number of sides of {e}?"}
    legs = {"walks": "On how many legs does {e} walk?", "count": "{e} has how many legs?",
            "number": "What is the number of legs of {e}?"}
    team = {"field": "How many players does a {e} team have on the field at once?",
            "side": "In {e}, how many players are on each side during play?",
            "number": "What is the number of players per team in {e}?"}
    return (relation(seed, "fact/numbers", "sides", sides, [({"e": e}, e, a, "head") for e, a in parse_table(facts.SIDES)])
            + relation(seed, "fact/numbers", "legs", legs, [({"e": e}, e, a, "head") for e, a in parse_table(facts.LEGS)])
            + relation(seed, "fact/numbers", "team_size", team,
                       [({"e": e}, e, a, "tail") for e, a in parse_table(TEAM_SIZES)]))


def answerable(seed: int) -> list[Item]:
    return (countries(seed) + subdivisions(seed) + elements(seed) + works(seed) + history(seed) + numbers(seed))
