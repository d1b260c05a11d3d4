"""Unanswerable questions of the ``wide`` benchmark: fabricated entities and random facts.

Each template family is a ``(key, maker)`` pair: ``maker(rng, names)`` returns one
``(text, entity)``. :func:`deal` asks the families in turn until ``n`` distinct
questions exist, so families are about equally large (a family that cannot make a new
question in 100 draws, such as a short curated list, drops out). Invented names come from
:class:`WideNames`, a :class:`nescio.data.unanswerable.NameMaker` (every word of every
name is checked against the words of the fact tables) with more kinds of names.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from nescio.data.unanswerable import CITIES, FIRST_NAMES, PROFESSIONS, NameMaker, _word
from nescio.data.wide.answerable import Item

Maker = Callable[[random.Random, "WideNames"], tuple[str, str]]


class WideNames(NameMaker):
    """Invented names of more kinds: brands, products, medicines, compounds, organisations."""

    def word(self) -> str:
        while True:
            name = _word(self.rng, self.rng.choice((2, 3))).capitalize()
            if self._ok(name):
                return name

    def product(self) -> str:
        return f"{self.word()} {self.rng.choice('XZQVKR')}{self.rng.randrange(2, 99)}"

    def medicine(self) -> str:
        while True:
            name = _word(self.rng, 2) + self.rng.choice(("azole", "mab", "pril", "vastin", "oxetine", "cillin"))
            if self._ok(name):
                return name

    def compound(self) -> str:
        while True:
            stem = _word(self.rng, 2) + self.rng.choice(("ium", "ane", "ene", "ol", "yl"))
            if self._ok(stem):
                return f"{stem} {self.rng.choice(('chloride', 'sulfate', 'oxide', 'nitrate', 'acetate', 'carbonate'))}"


def deal(rng: random.Random, names: WideNames, category: str, prefix: str, families: dict[str, Maker], n: int,
         seen: set[str]) -> list[Item]:
    """``n`` questions, the families taken in turn; texts already in ``seen`` are redrawn."""
    out: list[Item] = []
    keys = list(families)
    i = 0
    while len(out) < n:
        if not keys:
            raise ValueError(f"the {prefix} families cannot make {n} distinct questions")
        key = keys[i % len(keys)]
        for _ in range(100):
            text, entity = families[key](rng, names)
            if text not in seen:
                seen.add(text)
                out.append(Item(category, f"{prefix}.{key}", text, entity, (), None))
                i += 1
                break
        else:  # a small family (a curated list) is used up: the others go on
            keys.remove(key)
    return out


def _ask(template: str, kind: str, **fixed: tuple[str, ...]) -> Maker:
    """A maker filling ``{e}`` with a new name of ``kind`` and other fields from ``fixed``."""

    def make(rng: random.Random, names: WideNames) -> tuple[str, str]:
        entity = getattr(names, kind)()
        values = {k: rng.choice(v) for k, v in fixed.items()}
        return template.format(e=entity, **values), entity

    return make


def _titled(template: str) -> Maker:
    def make(rng: random.Random, names: WideNames) -> tuple[str, str]:
        entity = names.title()
        return template.format(e=entity), entity

    return make


def _suffixed(template: str, suffixes: tuple[str, ...]) -> Maker:
    """An organisation: an invented word plus a kind ("Holdings", "University" …), all the entity."""

    def make(rng: random.Random, names: WideNames) -> tuple[str, str]:
        entity = f"{names.word()} {rng.choice(suffixes)}"
        return template.format(e=entity), entity

    return make


_YEARS = tuple(str(y) for y in range(1950, 2024))
_COMPANY = ("Holdings", "Industries", "Group", "Systems", "Analytics", "Foods", "Shipping", "Pharma")

FABRICATED: dict[str, Maker] = {
    "person.known_for": _ask("What is the {p} {e} most famous for?", "person", p=PROFESSIONS),
    "person.born": _ask("Where was the renowned {p} {e} born?", "person", p=PROFESSIONS),
    "person.award": _ask("Which prize did the {p} {e} receive in {y}?", "person", p=PROFESSIONS, y=_YEARS),
    "person.spouse": _ask("Who is the celebrated {p} {e} married to?", "person", p=PROFESSIONS),
    "person.debut": _ask("What was the first major work of the acclaimed {p} {e}?", "person", p=PROFESSIONS),
    "place.population": _ask("How many people live in the town of {e}?", "place"),
    "place.country": _ask("Which country is the city of {e} in?", "place"),
    "place.mountain": _ask("How high is Mount {e}?", "place"),
    "place.lake": _ask("How deep is Lake {e}?", "place"),
    "place.island": _ask("What is the largest town on the island of {e}?", "place"),
    "org.founded": _suffixed("In what year was {e} founded?", _COMPANY),
    "org.ceo": _suffixed("Who is the chief executive of {e}?", _COMPANY),
    "org.university": _suffixed("In which city is {e} located?", ("University", "Institute of Technology",
                                                                  "Conservatory", "Polytechnic")),
    "org.band": _ask("Who is the lead singer of the band {e}?", "word"),
    "org.party": _suffixed("Who leads the {e}?", ("Party", "Alliance", "Movement")),
    "work.novel": _titled("Which author wrote the novel '{e}'?"),
    "work.film": _titled("Who was the director of the film '{e}'?"),
    "work.album": _titled("Which musician released the album '{e}'?"),
    "work.painting": _titled("In which museum does the painting '{e}' hang?"),
    "work.opera": _titled("Who composed the opera '{e}'?"),
    "product.phone": _ask("How much does the {e} smartphone cost?", "product"),
    "product.car": _ask("What is the top speed of the {e} car?", "product"),
    "product.medicine": _ask("What is the usual adult dose of the medicine {e}?", "medicine"),
    "product.software": _ask("Which company makes the accounting program {e}?", "word"),
    "species.diet": _ask("What does the animal {e} feed on?", "binomial"),
    "species.habitat": _ask("In which region is the species {e} found?", "binomial"),
    "species.bird": _ask("What is the wingspan of the bird {e}?", "binomial"),
    "species.plant": _ask("In which month does the plant {e} flower?", "binomial"),
    "compound.formula": _ask("What is the chemical formula of {e}?", "compound"),
    "compound.boiling": _ask("At what temperature does {e} boil?", "compound"),
    "compound.use": _ask("What is {e} used for in industry?", "compound"),
    "compound.discovery": _ask("Who first synthesised the compound {e}?", "compound"),
    "event.treaty": _ask("When was the Treaty of {e} signed?", "place"),
    "event.battle": _ask("Who won the Battle of {e}?", "place"),
    "event.festival": _ask("In which month is the {e} Lantern Festival held?", "place"),
}

_JOBS = ("a bus driver", "a nurse", "a plumber", "a bookkeeper", "a school teacher", "a baker", "a postal worker",
         "a pharmacist", "an electrician", "a librarian", "a dental hygienist", "a warehouse clerk", "a taxi driver",
         "a hairdresser", "a gardener", "a carpenter", "a receptionist", "a cook", "a security guard", "a florist",
         "an accountant", "an optician")
_CITIES = tuple(CITIES) + ("Nantes", "Rotterdam", "Linz", "Tartu", "Pecs", "Varna", "Split", "Kaunas", "Odense",
                           "Uppsala", "Salamanca", "Coimbra", "Antwerp", "Basel", "Innsbruck", "Plovdiv")
_DATES = tuple(f"{d} {m} {y}" for d in (3, 9, 14, 21, 27) for m in ("January", "April", "June", "September", "November")
               for y in (2009, 2014, 2019))


def _private(template: str, **fixed: tuple[str, ...]) -> Maker:
    """A question about an invented private person ``{e}`` with a job ``{j}`` ("a nurse") in a city ``{c}``."""

    def make(rng: random.Random, names: WideNames) -> tuple[str, str]:
        entity = f"{rng.choice(FIRST_NAMES)} {names.surname()}"
        values = {k: rng.choice(v) for k, v in fixed.items()}
        return template.format(e=entity, j=rng.choice(_JOBS), c=rng.choice(_CITIES), **values), entity

    return make


RANDOM_FACTS: dict[str, Maker] = {
    "phone": _private("What is the mobile number of {e}, {j} in {c}?"),
    "isbn": _private("What is the ISBN of the self-published memoir by {e}, {j} from {c}?"),
    "plate": _private("What is the registration plate of the van driven by {e}, {j} in {c}?"),
    "birthday": _private("On which day of the year does {e}, {j} from {c}, celebrate their birthday?"),
    "account": _private("What is the bank account number of {e}, who works as a {j} in {c}?"),
    "iban": _private("Which IBAN does {e}, {j} in {c}, have their salary paid into?"),
    "address": _private("What is the home address of {e}, {j} living in {c}?"),
    "email": _private("What is the personal email address of {e}, {j} in {c}?"),
    "wifi": _private("What is the wifi password in the flat of {e}, {j} in {c}?"),
    "passport": _private("Which number is printed in the passport of {e}, {j} from {c}?"),
    "staff_id": _private("What is the staff ID of {e}, {j} at a firm in {c}?"),
    "breakfast": _private("What did {e}, {j} from {c}, eat for breakfast on {d}?", d=_DATES),
    "seat": _private("Which seat did {e}, {j} from {c}, sit in on their flight of {d}?", d=_DATES),
    "parcel": _private("What was the tracking number of the parcel that {e}, {j} in {c}, received on {d}?",
                       d=_DATES),
    "mother": _private("What is the maiden name of the mother of {e}, {j} in {c}?"),
    "pet": _private("What is the name of the cat owned by {e}, {j} in {c}?"),
    "shoe": _private("What shoe size does {e}, {j} from {c}, wear?"),
    "locker": _private("What is the combination of the gym locker of {e}, {j} in {c}?"),
    "exam": _private("What mark did {e}, {j} from {c}, get in the final maths exam at school?"),
}
