"""Unanswerable questions of the ``wide`` benchmark: future events and false premises.

``FUTURE``: events in sports, elections, prices and markets, science, weather, company
results and culture, each dated at one of three horizons (2031–2035, 2036–2050,
2051–2099; dates after 2030 as in the built-in set, so the questions stay unanswerable
for years). ``false_premises(...)`` builds families from the fact tables: wrong
attributes, wrong relations, events that never happened, impossible superlatives and
anachronisms. Every family is a ``(key, maker)`` pair as in :mod:`.unknowable`.
"""

from __future__ import annotations

import random

from nescio.data.wide.unknowable import _CITIES, Maker, WideNames

_HORIZONS = ((2031, 2035), (2036, 2050), (2051, 2099))
_COUNTRIES = ("France", "Brazil", "India", "Japan", "Germany", "Canada", "Mexico", "Nigeria", "Argentina", "Kenya",
              "Indonesia", "Italy", "Spain", "Egypt", "Poland", "Chile", "Ghana", "Peru", "Vietnam", "Norway")
_COMPANIES = ("Apple", "Toyota", "Siemens", "Samsung Electronics", "Nestlé", "Unilever", "Microsoft", "Volkswagen",
              "Sony", "Shell", "Airbus", "Boeing", "Netflix", "Nintendo", "Heineken", "Nokia")
_DAYS = tuple(f"{d} {m}" for d in (1, 12, 20, 28) for m in ("January", "March", "May", "July", "October", "December"))
_MONTHS = ("January", "April", "July", "October")


def _future(template: str, entity: str, **fixed: tuple[str, ...]) -> Maker:
    """``{y}`` is a year at a random horizon; ``entity`` is a literal or ``{field}`` of ``fixed``."""

    def make(rng: random.Random, names: WideNames) -> tuple[str, str]:
        low, high = rng.choice(_HORIZONS)
        values = {k: rng.choice(v) for k, v in fixed.items()}
        values["y"] = str(rng.randint(low, high))
        return template.format(**values), entity.format(**values)

    return make


FUTURE: dict[str, Maker] = {
    "sport.world_cup": _future("Which nation will lift the FIFA World Cup trophy in {y}?", "FIFA World Cup"),
    "sport.wimbledon": _future("Which player will take the {s} singles title at Wimbledon in {y}?", "Wimbledon",
                               s=("men's", "women's")),
    "sport.marathon": _future("What will the winning time of the {c} Marathon be in {y}?", "{c} Marathon",
                              c=("Berlin", "London", "Boston", "Chicago", "Tokyo", "New York City")),
    "sport.league": _future("Which club will win the {l} in the {y} season?", "{l}",
                            l=("Premier League", "Bundesliga", "Serie A", "Eredivisie", "Primeira Liga")),
    "sport.tour": _future("Which rider will wear the yellow jersey at the end of the {y} Tour de France?",
                          "Tour de France"),
    "elect.president": _future("Who will win the presidential election in {c} in {y}?", "{c}", c=_COUNTRIES),
    "elect.head": _future("Who will lead the government of {c} on {d} {y}?", "{c}", c=_COUNTRIES, d=_DAYS),
    "elect.mayor": _future("Who will be elected mayor of {c} in {y}?", "{c}", c=_CITIES),
    "elect.turnout": _future("What will the turnout be in the general election held in {c} in {y}?", "{c}",
                             c=_COUNTRIES),
    "price.gold": _future("What will one troy ounce of gold cost in US dollars on {d} {y}?", "gold", d=_DAYS),
    "price.bitcoin": _future("What will the price of one bitcoin be on {d} {y}?", "bitcoin", d=_DAYS),
    "price.oil": _future("What will a barrel of Brent crude oil cost on {d} {y}?", "Brent crude oil", d=_DAYS),
    "price.exchange": _future("How many {cur} will one euro buy on {d} {y}?", "euro", d=_DAYS,
                              cur=("US dollars", "Japanese yen", "Swiss francs", "Indian rupees", "pounds sterling")),
    "price.index": _future("At what level will the {i} index close on {d} {y}?", "{i}", d=_DAYS,
                           i=("S&P 500", "FTSE 100", "Nikkei 225", "DAX", "Hang Seng")),
    "science.nobel": _future("Who will receive the Nobel Prize in {f} in {y}?", "Nobel Prize in {f}",
                             f=("Physics", "Chemistry", "Physiology or Medicine", "Literature", "Economic Sciences")),
    "science.supercomputer": _future("Which machine will top the TOP500 list of supercomputers in June {y}?",
                                     "TOP500"),
    "science.co2": _future("What will the carbon dioxide concentration measured at Mauna Loa be in {m} {y}?",
                           "Mauna Loa", m=_MONTHS),
    "weather.temperature": _future("What will the highest temperature in {c} be on {d} {y}?", "{c}", c=_CITIES,
                                   d=_DAYS),
    "weather.rain": _future("How many millimetres of rain will fall in {c} during {m} {y}?", "{c}", c=_CITIES,
                            m=_MONTHS),
    "weather.storms": _future("How many named storms will form in the Atlantic during the {y} hurricane season?",
                              "Atlantic"),
    "company.revenue": _future("What will the total revenue of {co} be for the fiscal year {y}?", "{co}", co=_COMPANIES),
    "company.ceo": _future("Who will be the chief executive of {co} on {d} {y}?", "{co}", co=_COMPANIES, d=_DAYS),
    "company.shares": _future("What will the share price of {co} be at the close of trading on {d} {y}?", "{co}",
                              co=_COMPANIES, d=_DAYS),
    "culture.oscar": _future("Which film will win Best Picture at the Academy Awards ceremony of {y}?",
                             "Academy Awards"),
    "culture.eurovision": _future("Which country will win the Eurovision Song Contest in {y}?", "Eurovision"),
    "culture.booker": _future("Which novel will win the Booker Prize in {y}?", "Booker Prize"),
    "people.population": _future("What will the population of {c} be on 1 January {y}?", "{c}", c=_COUNTRIES),
}

# ---------------------------------------------------------------- false premises

_PEACEFUL = ("Iceland", "Bhutan", "Uruguay", "Fiji", "Luxembourg", "Mongolia", "Malta", "Costa Rica", "Namibia",
             "Tonga", "Botswana", "Nepal", "Samoa", "Liechtenstein", "Barbados", "Mauritius")
_FIGURES = ("Julius Caesar", "Cleopatra", "Charlemagne", "Genghis Khan", "Joan of Arc", "Leonardo da Vinci",
            "William Shakespeare", "Galileo Galilei", "Isaac Newton", "Johann Sebastian Bach", "Confucius", "Aristotle",
            "Socrates", "Queen Elizabeth I", "Napoleon Bonaparte", "Wolfgang Amadeus Mozart", "Marco Polo",
            "Christopher Columbus", "Hannibal", "Alexander the Great", "Tutankhamun", "Attila the Hun", "Henry VIII",
            "Catherine the Great", "Louis XIV", "Michelangelo", "Nicolaus Copernicus", "Johannes Kepler",
            "René Descartes", "Rembrandt")
_MODERN = ("smartphone", "laptop computer", "electric car", "television set", "credit card", "video game console",
           "digital camera", "satellite navigation device", "microwave oven", "email account")
_BODIES = ("Mars", "Venus", "Mercury", "Jupiter", "Saturn", "Titan", "Europa", "Pluto", "the Sun", "Neptune")
_NATIONALITIES = ("American", "Russian", "Chinese", "Indian", "French", "Japanese", "German", "Brazilian",
                  "Canadian", "Italian", "British", "Nigerian")
_LANDLOCKED = ("Afghanistan", "Andorra", "Armenia", "Austria", "Belarus", "Bhutan", "Bolivia", "Botswana",
               "Burkina Faso", "Burundi", "Chad", "Ethiopia", "Hungary", "Laos", "Lesotho", "Liechtenstein",
               "Luxembourg", "Malawi", "Mali", "Moldova", "Mongolia", "Nepal", "Niger", "North Macedonia", "Paraguay",
               "Rwanda", "San Marino", "Serbia", "Slovakia", "South Sudan", "Switzerland", "Tajikistan", "Uganda",
               "Zambia", "Zimbabwe", "Kyrgyzstan")  # not Uzbekistan or Kazakhstan: the Aral "Sea"
# countries with land on a second continent (islands, overseas parts): no "wrong continent" premise
_OVERSEAS = {"ID", "TL", "PG", "PA", "TT", "ES", "FR", "YE", "DK", "NL", "PT", "US", "CL", "EC", "GB", "NZ", "AU", "NO",
             "MV", "MU", "SC", "CV", "ST", "KM", "MG"}
# names of one language (or of mutually intelligible standards): never a "wrong" language for each other
_SAME_LANGUAGE = ({"Persian", "Dari", "Farsi"}, {"Romanian", "Moldovan"}, {"Malay", "Indonesian"},
                  {"Serbian", "Croatian", "Bosnian", "Montenegrin"}, {"Chinese", "Mandarin", "Standard Chinese"},
                  {"Filipino", "Tagalog"}, {"Swati", "siSwati", "Swazi"}, {"Tswana", "Setswana"},
                  {"Southern Sotho", "Sesotho", "Northern Sotho", "Sepedi"}, {"Slovenian", "Slovene"},
                  {"Spanish", "Castilian"}, {"Norwegian", "Bokmål", "Nynorsk"}, {"Dhivehi", "Divehi", "Maldivian"},
                  {"Hindi", "Urdu"}, {"Ndebele", "North Ndebele"}, {"Creole", "Haitian Creole", "Seychellois Creole"},
                  {"Oromo", "Afaan Oromo"}, {"Tamazight", "Berber", "Central Atlas Tamazight"})
_CONTINENTS = ("Africa", "Asia", "Europe", "North America", "South America", "Oceania", "Antarctica")
# impossible superlatives and things that cannot exist, checked by hand; [entity] marks the entity
IMPOSSIBLE = """
What is the largest [prime number]?
What is the largest [whole number]?
What is the smallest [positive real number]?
What is the last digit of [pi]?
What is the largest [even prime number] greater than two?
What is the smallest [fraction] greater than zero?
Who is the tallest person who has ever lived on [the Moon]?
Which is the oldest [dinosaur] still alive today?
What is the deepest ocean in [Switzerland]?
Which is the highest mountain in [the Netherlands] above 3,000 metres?
Who was the first person to walk on the surface of [the Sun]?
What is the fastest speed faster than [the speed of light] in a vacuum?
Which is the coldest temperature below [absolute zero] ever measured?
What is the largest [square circle] ever drawn?
Who is the youngest [person] ever to have lived for over two hundred years?
Which country is the biggest country located entirely in [Antarctica]?
What is the longest [river on the Moon]?
Which is the most populous [city on Mars]?
What is the heaviest [object with no mass]?
Which is the highest-scoring [chess] game that ended in checkmate on the first move?
What is the longest [word with no letters]?
Which is the smallest planet larger than [Jupiter] in the Solar System?
What is the largest [negative number]?
Who was the first [emperor of Australia]?
Which is the oldest [skyscraper] built in ancient Rome?
"""


def false_premises(countries: list[list[str]], elements: list[list[str]], authors: list[tuple[str, str]],
                   composers: list[str], painters: list[str], legs: list[tuple[str, str]]) -> dict[str, Maker]:
    """Families built from the fact tables (rows as in :mod:`.answerable`)."""
    from nescio.data.wide.answerable import aliases

    capitals = [(r[1], aliases(r[4])) for r in countries if r[4]]
    single_currency = [(r[1], aliases(r[6])) for r in countries if r[6] and ";" not in r[6]]
    continents = [(r[1], aliases(r[5])) for r in countries if r[5] and r[0] not in _OVERSEAS]
    languages = [(r[1], aliases(r[7])) for r in countries if r[7]]
    all_languages = sorted({a for _, langs in languages for a in langs})
    symbols = [(aliases(r[2])[0], r[1], r[0]) for r in elements]

    def country(name: str) -> str:
        return name.removeprefix("the ")

    def wrong_capital(rng, names):
        (name, _), (_, other) = rng.sample(capitals, 2)
        return f"Since when has {other[0]} been the capital of {name}?", country(name)

    def capital_moved(rng, names):
        (name, right), (_, other) = rng.sample(capitals, 2)
        return f"Why did {name} move its capital from {other[0]} to {right[0]}?", country(name)

    def wrong_currency(rng, names):
        (name, right), (_, other) = rng.sample(single_currency, 2)
        if other[0].split()[-1].lower() == right[0].split()[-1].lower():
            return wrong_currency(rng, names)
        return f"Why do shops in {name} only accept the {other[0]}?", country(name)

    def wrong_continent(rng, names):
        name, right = rng.choice(continents)
        wrong = rng.choice([c for c in _CONTINENTS if c not in right])
        return f"Why is {name} counted as a country of {wrong}?", country(name)

    def wrong_language(rng, names):
        name, right = rng.choice(languages)
        same = {lang for group in _SAME_LANGUAGE if group & set(right) for lang in group}
        wrong = rng.choice([lang for lang in all_languages if lang not in right and lang not in same])
        return f"Why is {wrong} the only official language of {name}?", country(name)

    def wrong_symbol(rng, names):
        (el, _, _), (_, other, _) = rng.sample(symbols, 2)
        return f"Why is {other} the chemical symbol of {el}?", el

    def wrong_number(rng, names):
        el, _, number = rng.choice(symbols)
        wrong = int(number) + rng.choice((-7, -3, -2, 2, 3, 5, 9))
        if wrong < 1:
            return wrong_number(rng, names)
        return f"Why does {el} have the atomic number {wrong}?", el

    def wrong_author(rng, names):
        (work, right), (_, other) = rng.sample(authors, 2)
        if other == right:
            return wrong_author(rng, names)
        return f"What inspired {other} to write {work}?", work

    def wrong_legs(rng, names):
        animal, right = rng.choice(legs)
        wrong = rng.choice([n for n in range(13) if str(n) != right])
        return f"Why does {animal} have {wrong} legs?", animal

    def composer_novel(rng, names):
        who = rng.choice(composers)
        kind = rng.choice(("novel", "detective novel", "science-fiction novel", "novel about the sea"))
        return f"What is the title of the {kind} written by the composer {who}?", who

    def writer_symphony(rng, names):
        who = rng.choice(sorted({a for _, a in authors}))
        kind = rng.choice(("symphony", "piano concerto", "opera", "violin sonata"))
        return f"Which {kind} did the writer {who} compose?", who

    def writer_element(rng, names):
        who = rng.choice(sorted({a for _, a in authors}))
        return f"Which chemical element did the writer {who} discover?", who

    def painter_monarch(rng, names):
        who = rng.choice(painters)
        return f"Which country did the painter {who} rule as its monarch?", who

    def war(rng, names):
        a, b = rng.sample(_PEACEFUL, 2)
        return f"Who won the war between {a} and {b} in {rng.randint(1850, 2010)}?", a

    def winter_games(rng, names):
        year = rng.choice(range(1925, 2024, 2))  # odd years: no Olympic Games of any kind
        host = rng.choice(("Lagos", "Singapore", "Manila", "Jakarta", "Dakar", "Panama City", "Colombo", "Accra"))
        return (f"How many gold medals did {rng.choice(_COUNTRIES)} win at the {year} Winter Olympics in {host}?",
                f"{year} Winter Olympics")

    def first_walk(rng, names):
        body = rng.choice(_BODIES)
        return f"Which {rng.choice(_NATIONALITIES)} astronaut was the first to walk on {body}?", body

    def tech(rng, names):
        who, thing = rng.choice(_FIGURES), rng.choice(_MODERN)
        return f"Which brand of {thing} did {who} use?", who

    def flight(rng, names):
        who = rng.choice(_FIGURES)
        return f"Which airline did {who} fly with when travelling to {rng.choice(_CITIES)}?", who

    def broadcast(rng, names):
        who = rng.choice(_FIGURES)
        event = rng.choice(("funeral", "wedding", "most famous speech"))
        return f"Which television channel broadcast {who}'s {event} live?", who

    def followers(rng, names):
        who = rng.choice(_FIGURES)
        site = rng.choice(("social media", "Instagram", "Twitter", "YouTube"))
        return f"How many followers did {who} have on {site}?", who

    def coast(template):
        def make(rng, names):
            land = rng.choice(_LANDLOCKED)
            return template.format(c=land), land

        return make

    impossible = [line.strip() for line in IMPOSSIBLE.strip().splitlines()]

    def superlative(rng, names):
        line = rng.choice(impossible)
        return line.replace("[", "").replace("]", ""), line[line.index("[") + 1:line.index("]")]

    return {"wrong_attribute.capital": wrong_capital, "wrong_attribute.capital_moved": capital_moved,
            "wrong_attribute.currency": wrong_currency, "wrong_attribute.continent": wrong_continent,
            "wrong_attribute.language": wrong_language, "wrong_attribute.symbol": wrong_symbol,
            "wrong_attribute.atomic_number": wrong_number, "wrong_attribute.author": wrong_author,
            "wrong_attribute.legs": wrong_legs, "wrong_relation.composer_novel": composer_novel,
            "wrong_relation.writer_symphony": writer_symphony, "wrong_relation.writer_element": writer_element,
            "wrong_relation.painter_monarch": painter_monarch,
            "no_event.war": war, "no_event.winter_games": winter_games, "no_event.first_walk": first_walk,
            "anachronism.technology": tech, "anachronism.flight": flight, "anachronism.broadcast": broadcast,
            "anachronism.followers": followers, "impossible.seaport": coast("What is the busiest seaport of {c}?"),
            "impossible.beaches": coast("Which beaches on the sea coast of {c} are the most popular?"),
            "impossible.sea": coast("Which sea washes the coastline of {c}?"), "impossible.superlative": superlative}

