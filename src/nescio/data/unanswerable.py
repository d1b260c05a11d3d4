"""Question generators for the unanswerable built-in categories.

- ``fabricated``: invented people (with a profession), places, works, treaties, species.
  Names are built from syllables and rejected when any of their words appears in the
  curated fact tables (so an invented name never collides with a real fact).
- ``future``: events dated after 2030.
- ``random_fact``: facts about invented private persons that no pattern could predict
  (phone, employee and passport numbers, exact birthdays, licence plates, PINs).
- ``false_premise``: questions that presuppose something untrue, built from the fact
  tables (a wrong capital, a book given to the wrong author, ...) plus curated ones.

Every generator is a pure function of a ``random.Random`` and returns
``(text, entity)`` pairs; :mod:`nescio.data.builtin` turns them into ``Question``\\ s.
"""

from __future__ import annotations

import random
import re

FIRST_NAMES = (
    "Nina Marta Tomas Elena Jonas Ilse Rafael Petra Oskar Lena Aurelio Mirela Henrik Sofia Viktor Amara "
    "Dario Ines Lukas Noor Emil Talia Bruno Yara Anton Maelle Kasper Leona Felix Irina Matteo Greta Jonah "
    "Selma Ruben Alma Tobias Nadia Linus Eliska Joel Carmen Milan Freya Ivo Rosa Pavel Hanna Silas Vera"
).split()

_ONSETS = ("b br c d dr f g gr h k kl l m n p pr qu r s st t tr v w z").split()
_VOWELS = ("a e i o u ae ei ia ou").split()
_CODAS = ("", "", "n", "r", "l", "s", "th", "nd", "rk", "sk", "m", "x")
_ENDINGS = ("ova", "sson", "ick", "ard", "elli", "ham", "ski", "ert", "ane", "ow", "ey", "in", "ath", "ure")

PROFESSIONS = (
    "trapeze artist", "cellist", "novelist", "architect", "chess grandmaster", "marine biologist",
    "sculptor", "astronomer", "film director", "jazz saxophonist", "mountaineer", "economist",
    "opera singer", "fashion designer", "neuroscientist", "poet", "racing driver", "ballet dancer",
)

CITIES = (
    "Lyon Porto Ghent Leipzig Bergen Tampere Brno Graz Cork Aarhus Utrecht Malmo Bologna Seville Krakow "
    "Dresden Turin Bilbao Lausanne Gdansk"
).split()

_WORK_WORDS = (
    "Glass Orchard Lantern Silent Harbour Amber Winter Clockmaker Salt Meadow Hollow Crown Paper Tide "
    "Iron Garden Willow Ember Lighthouse Northern Velvet Mirror Ashen Quiet River Copper Moth"
).split()


def _word(rng: random.Random, n_syllables: int) -> str:
    parts = []
    for _ in range(n_syllables):
        parts.append(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS))
    return "".join(parts)


class NameMaker:
    """Invents capitalised names that collide with no word of the curated facts."""

    def __init__(self, rng: random.Random, forbidden: set[str]) -> None:
        self.rng = rng
        self.forbidden = {w.lower() for w in forbidden}
        self.used: set[str] = set()

    def _ok(self, name: str) -> bool:
        words = re.findall(r"[a-z]+", name.lower())
        if name.lower() in self.used or any(w in self.forbidden for w in words):
            return False
        if any(len(w) < 4 for w in words):
            return False
        self.used.add(name.lower())
        return True

    def surname(self) -> str:
        while True:
            name = (_word(self.rng, self.rng.choice((1, 2))) + self.rng.choice(_ENDINGS)).capitalize()
            if self._ok(name):
                return name

    def place(self) -> str:
        suffixes = ("ville", "holt", "mere", "stad", "burg", "ora", "vik", "ford", "dale", "esti")
        while True:
            name = (_word(self.rng, self.rng.choice((1, 2))) + self.rng.choice(suffixes)).capitalize()
            if self._ok(name):
                return name

    def person(self) -> str:
        while True:
            name = f"{self.rng.choice(FIRST_NAMES)} {self.surname()}"
            if self._ok(name):
                return name

    def binomial(self) -> str:
        while True:
            genus = (_word(self.rng, 2) + self.rng.choice(("us", "ia", "ops", "ax", "odon"))).capitalize()
            species = _word(self.rng, 2) + self.rng.choice(("ensis", "ii", "ata", "ica", "ora"))
            name = f"{genus} {species}"
            if self._ok(name):
                return name

    def title(self) -> str:
        while True:
            a, b = self.rng.sample(_WORK_WORDS, 2)
            name = f"The {a} {b} of {self.place()}"
            if name.lower() not in self.used:
                self.used.add(name.lower())
                return name


def fabricated(rng: random.Random, names: NameMaker, n: int) -> list[tuple[str, str]]:
    person_templates = (
        "How old is the famous {p} {e}?",
        "What is the {p} {e} best known for?",
        "In which city was the {p} {e} born?",
        "Which award did the {p} {e} win in 2011?",
        "Who was the teacher of the {p} {e}?",
    )
    place_templates = (
        "What is the population of the town of {e}?",
        "In which country is the city of {e}?",
        "Which river runs through the town of {e}?",
        "Who founded the village of {e}?",
    )
    work_templates = (
        "Who wrote the novel '{e}'?",
        "In what year was the opera '{e}' first performed?",
        "Who painted '{e}'?",
        "Who directed the film '{e}'?",
    )
    treaty_templates = (
        "In what year was the Treaty of {e} signed?",
        "Which countries signed the Treaty of {e}?",
        "What did the Treaty of {e} establish?",
    )
    species_templates = (
        "What does the animal {e} eat?",
        "Where does the species {e} live?",
        "How long does the {e} beetle live?",
        "What colour are the flowers of the plant {e}?",
    )
    kinds = ("person", "person", "place", "work", "treaty", "species")
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "person":
            e = names.person()
            out.append((rng.choice(person_templates).format(p=rng.choice(PROFESSIONS), e=e), e))
        elif kind == "place":
            e = names.place()
            out.append((rng.choice(place_templates).format(e=e), e))
        elif kind == "work":
            e = names.title()
            out.append((rng.choice(work_templates).format(e=e), e))
        elif kind == "treaty":
            e = names.place()
            out.append((rng.choice(treaty_templates).format(e=e), f"Treaty of {e}"))
        else:
            e = names.binomial()
            out.append((rng.choice(species_templates).format(e=e), e))
    return out


_FUTURE_COUNTRIES = (
    "Russia France Brazil India Japan Germany Canada Mexico Nigeria Argentina Kenya Indonesia Italy Spain Egypt"
).split()
_FUTURE_TEMPLATES = (
    ("Who will be the president of {c} in {y}?", "c"),
    ("Who will be the head of government of {c} on 1 January {y}?", "c"),
    ("Who will win the {y} FIFA World Cup?", "FIFA World Cup"),
    ("Which city will host the {y} Summer Olympics?", "Summer Olympics"),
    ("Who will win the Nobel Prize in Physics in {y}?", "Nobel Prize in Physics"),
    ("Who will win the Nobel Prize in Literature in {y}?", "Nobel Prize in Literature"),
    ("What will the price of one ounce of gold be in US dollars on 1 March {y}?", "gold"),
    ("What will the population of {c} be in {y}?", "c"),
    ("Which film will win the Academy Award for Best Picture in {y}?", "Academy Award for Best Picture"),
    ("Who will win the men's singles title at Wimbledon in {y}?", "Wimbledon"),
    ("What will be the closing value of the S&P 500 index on 30 June {y}?", "S&P 500"),
    ("Which team will win the {y} Tour de France?", "Tour de France"),
    ("What will the average global temperature be in {y}?", "global temperature"),
    ("Who will be the Secretary-General of the United Nations in {y}?", "United Nations"),
    ("Which country will win the most gold medals at the {y} Winter Olympics?", "Winter Olympics"),
    ("Who will be the richest person in the world in {y}?", "richest person"),
)


def future(rng: random.Random, n: int) -> list[tuple[str, str]]:
    out, seen = [], set()
    while len(out) < n:
        template, entity = rng.choice(_FUTURE_TEMPLATES)
        c, y = rng.choice(_FUTURE_COUNTRIES), rng.randrange(2031, 2100)
        text = template.format(c=c, y=y)
        if text in seen:
            continue
        seen.add(text)
        out.append((text, c if entity == "c" else entity))
    return out


_RANDOM_TEMPLATES = (
    "What is the mobile phone number of {e}, a {j} who lives in {c}?",
    "What is the employee number of {e}, who works as a {j} in {c}?",
    "What is the passport number of {e}, a {j} from {c}?",
    "On what exact date was {e}, a {j} from {c}, born?",
    "What is the licence plate number of the car owned by {e}, a {j} in {c}?",
    "What is the PIN of the bank card of {e}, a {j} in {c}?",
    "What is the home street address of {e}, a {j} living in {c}?",
    "What is the national insurance number of {e}, a {j} in {c}?",
)
_JOBS = ("bus driver", "nurse", "plumber", "bookkeeper", "school teacher", "baker", "postal worker",
         "pharmacist", "electrician", "librarian", "dental hygienist", "warehouse clerk")


def random_facts(rng: random.Random, names: NameMaker, n: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        e = names.person()
        template = _RANDOM_TEMPLATES[i % len(_RANDOM_TEMPLATES)]
        out.append((template.format(e=e, j=rng.choice(_JOBS), c=rng.choice(CITIES)), e))
    return out


CURATED_FALSE_PREMISES = """
Why is the [Sun] cold?
How many moons does [Venus] have, and what are they called?
In what year did [Albert Einstein] walk on the Moon?
Which ocean borders [Switzerland]?
What is the name of the main seaport of [Mongolia]?
Why do [penguins] live at the North Pole?
When did [Isaac Newton] win the Nobel Prize in Physics?
Why is the [Great Wall of China] visible from the Moon with the naked eye?
What year did [Napoleon Bonaparte] become king of England?
Why do [humans] have three lungs?
How many legs does a [snake] use for walking?
Which element has the chemical symbol [Xy]?
Why is [Antarctica] the hottest continent?
When did [William Shakespeare] write the novel Moby-Dick?
What colour is the blood of [mammals] that is naturally blue inside the body?
Why does [the Moon] produce its own light?
Which river flows through [Saudi Arabia] all year round as its longest permanent river?
In what year did [Leonardo da Vinci] paint The Starry Night?
Why did [Abraham Lincoln] send emails during the Civil War?
How did [Marie Curie] win the Nobel Prize in Literature?
Why do [spiders] have six legs?
Why is [Australia] part of Europe?
What is the name of the capital of [the Pacific Ocean]?
How many wheels does a [horse] have?
Why did [Charles Darwin] invent the telephone?
What year did [the Titanic] arrive safely in New York?
Why is [water] made of carbon and nitrogen?
When did [Mount Everest] become the shortest mountain in Asia?
Which Beatles album did [Mozart] produce?
What did [Julius Caesar] tweet before his assassination?
Why did [Jane Austen] write Harry Potter?
Why is [gold] a gas at room temperature?
What is the name of the king of [the United States]?
Why does [ice] sink in water?
In what year did [Brazil] stop speaking Spanish?
Why is [Mars] the largest planet in the Solar System?
How long did [Neil Armstrong] live on Mars?
Why did [the Roman Empire] use smartphones?
When did [Canada] join the European Union?
Which desert covers most of [Ireland]?
"""

_LANDLOCKED = ("Switzerland", "Austria", "Mongolia", "Nepal", "Bolivia", "Hungary", "Kazakhstan", "Mali",
               "Paraguay", "Laos", "Slovakia", "Zambia", "Uganda", "Rwanda", "Bhutan")


def false_premises(rng: random.Random, capitals: list[tuple[str, str]], authors: list[tuple[str, str]],
                   n: int) -> list[tuple[str, str]]:
    """Curated premises first, then premises built from the fact tables, until ``n``."""
    out = []
    for line in CURATED_FALSE_PREMISES.strip().splitlines():
        entity = re.search(r"\[(.+?)\]", line).group(1)
        out.append((line.replace("[", "").replace("]", ""), entity))
    builders = ("capital", "author", "coast")
    seen = {t for t, _ in out}
    while len(out) < n:
        kind = rng.choice(builders)
        if kind == "capital":
            (country, _), (_, wrong) = rng.sample(capitals, 2)
            text, entity = f"Why is {wrong} the capital of {country}?", wrong
        elif kind == "author":
            (work, right), (_, wrong) = rng.sample(authors, 2)
            if wrong == right:
                continue
            text, entity = f"In what year did {wrong} write {work}?", work
        else:
            country = rng.choice(_LANDLOCKED)
            template = rng.choice(("What is the largest seaport of {c}?", "Which sea forms the coastline of {c}?",
                                   "What are the most popular beaches on the coast of {c}?"))
            text, entity = template.format(c=country), country
        if text not in seen:
            seen.add(text)
            out.append((text, entity))
    return out[:n]
