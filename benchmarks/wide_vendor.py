"""Vendor the country and element facts of the ``wide`` benchmark into curated tables.

Run once, by hand, when the tables should be refreshed; the output is committed and the
benchmark itself needs none of these packages:

    pip install --target /tmp/wide_pkgs babel==2.19.0 countryinfo==1.0.1 periodictable==2.1.0
    PYTHONPATH=/tmp/wide_pkgs:src python benchmarks/wide_vendor.py

Sources: capitals, regions, calling codes, top-level domains, borders and populations from
``countryinfo``; currencies legal on 2026-01-01 and official languages from ``babel``
(CLDR); element names, symbols and numbers from ``periodictable``. Every row was read by
hand after generation; the ``OVERRIDES`` below are the corrections that reading made
(each with its reason), and ``EXCLUDE`` lists facts left out because the answer is
disputed or ambiguous. Writes ``src/nescio/data/wide/countries.py`` and ``elements.py``.
"""

from __future__ import annotations

import datetime
from pathlib import Path

UN_MEMBERS = """AF AL DZ AD AO AG AR AM AU AT AZ BS BH BD BB BY BE BZ BJ BT BO BA BW BR BN BG BF BI CV KH CM CA CF
TD CL CN CO KM CG CD CR CI HR CU CY CZ DK DJ DM DO EC EG SV GQ ER EE SZ ET FJ FI FR GA GM GE DE GH GR GD GT GN GW GY
HT HN HU IS IN ID IR IQ IE IL IT JM JP JO KZ KE KI KP KR KW KG LA LV LB LS LR LY LI LT LU MG MW MY MV ML MT MH MR MU
MX FM MD MC MN ME MA MZ MM NA NR NP NL NZ NI NE NG MK NO OM PK PW PA PG PY PE PH PL PT QA RO RU RW KN LC VC WS SM ST
SA SN RS SC SL SG SK SI SB SO ZA SS ES LK SD SR SE CH SY TJ TZ TH TL TG TO TT TN TR TM TV UG UA AE GB US UY UZ VU VE
VN YE ZM ZW""".split()  # noqa: SIM905 - a block of codes reads better than a list literal

# display name (with "the" where English uses it) and extra names a reverse question accepts
NAMES = {
    "BS": ("the Bahamas", "Bahamas"), "GM": ("the Gambia", "Gambia"), "NL": ("the Netherlands", "Holland"),
    "GB": ("the United Kingdom", "UK; Britain; Great Britain"), "US": ("the United States", "USA; United States of America; America"),
    "PH": ("the Philippines", ""), "CZ": ("the Czech Republic", "Czechia"), "MV": ("the Maldives", "Maldives"),
    "MH": ("the Marshall Islands", ""), "SB": ("the Solomon Islands", ""), "KM": ("the Comoros", "Comoros"),
    "SC": ("the Seychelles", "Seychelles"), "CF": ("the Central African Republic", ""),
    "CD": ("the Democratic Republic of the Congo", "DR Congo; DRC; Congo-Kinshasa"),
    "CG": ("the Republic of the Congo", "Congo-Brazzaville"), "DO": ("the Dominican Republic", ""),
    "AE": ("the United Arab Emirates", "UAE"), "CI": ("Ivory Coast", "Côte d'Ivoire; Cote d'Ivoire"),
    "SZ": ("Eswatini", "Swaziland"), "MK": ("North Macedonia", "Macedonia"), "TL": ("East Timor", "Timor-Leste"),
    "MM": ("Myanmar", "Burma"), "CV": ("Cape Verde", "Cabo Verde"), "TR": ("Turkey", "Türkiye"),
    "FM": ("the Federated States of Micronesia", "Micronesia"), "VA": ("Vatican City", ""),
    "KN": ("Saint Kitts and Nevis", "St Kitts and Nevis"), "LC": ("Saint Lucia", "St Lucia"),
    "VC": ("Saint Vincent and the Grenadines", "St Vincent and the Grenadines"),
    "ST": ("São Tomé and Príncipe", "Sao Tome and Principe"), "KR": ("South Korea", "Republic of Korea"),
    "KP": ("North Korea", "DPRK"), "LA": ("Laos", "Lao PDR"), "BN": ("Brunei", ""), "RU": ("Russia", "Russian Federation"),
}
# corrections made by reading the generated rows (reason in the comment)
OVERRIDES = {
    ("BO", "capital"): "Sucre; La Paz",  # constitutional capital and seat of government
    ("SZ", "capital"): "Mbabane; Lobamba",  # administrative and legislative capitals
    ("KZ", "capital"): "Astana; Nur-Sultan",  # renamed back to Astana in 2022
    ("LK", "capital"): "Sri Jayawardenepura Kotte; Kotte; Colombo",  # legislative and executive capitals
    ("ZA", "capital"): "Pretoria; Cape Town; Bloemfontein",  # three capitals
    ("BI", "capital"): "Gitega; Bujumbura",  # political capital since 2019; economic capital
    ("ID", "capital"): "Jakarta; Nusantara",  # the move to Nusantara is under way
    ("YE", "capital"): "Sanaa; Sana'a",
    ("KI", "capital"): "South Tarawa; Tarawa", ("BR", "capital"): "Brasília; Brasilia",
    ("CO", "capital"): "Bogotá; Bogota", ("PY", "capital"): "Asunción; Asuncion", ("CR", "capital"): "San José; San Jose",
    ("CM", "capital"): "Yaoundé; Yaounde", ("MD", "capital"): "Chișinău; Chisinau", ("MV", "capital"): "Malé; Male",
    ("TG", "capital"): "Lomé; Lome", ("IS", "capital"): "Reykjavík; Reykjavik", ("UA", "capital"): "Kyiv; Kiev",
    ("ST", "capital"): "São Tomé; Sao Tome", ("US", "capital"): "Washington, D.C.; Washington",
    ("SM", "capital"): "San Marino; City of San Marino", ("GD", "capital"): "St. George's; Saint George's",
    ("AG", "capital"): "Saint John's; St. John's", ("MM", "capital"): "Naypyidaw; Nay Pyi Taw; Naypyitaw",
    ("MN", "capital"): "Ulaanbaatar; Ulan Bator", ("TO", "capital"): "Nuku'alofa; Nukualofa",
    ("TD", "capital"): "N'Djamena; Ndjamena", ("CN", "capital"): "Beijing; Peking",
    ("GY", "currency"): "Guyanese dollar", ("TT", "currency"): "Trinidad and Tobago dollar",
    ("ST", "currency"): "São Tomé and Príncipe dobra; dobra", ("BW", "currency"): "Botswana pula; pula",
    ("BA", "currency"): "Bosnia and Herzegovina convertible mark; convertible mark",
    ("BG", "currency"): "euro; Bulgarian lev; lev",  # the euro replaced the lev on 1 January 2026
    ("ZW", "currency"): "Zimbabwe gold; ZiG; US dollar; United States dollar",
    ("GB", "currency"): "pound sterling; British pound; pound; sterling",
    ("US", "currency"): "US dollar; United States dollar; dollar",
    ("CH", "language"): "German; French; Italian; Romansh",  # CLDR lists Swiss German, omits Romansh
    ("LI", "language"): "German",
    ("BD", "language"): "Bengali; Bangla", ("MW", "language"): "Chichewa; Nyanja; Chewa; English",
    ("MV", "language"): "Dhivehi; Divehi; Maldivian", ("BI", "language"): "Kirundi; Rundi; French; English",
    ("SZ", "language"): "English; Swazi; siSwati; Swati", ("NR", "language"): "Nauruan; English",
    ("TV", "language"): "Tuvaluan; English", ("NO", "language"): "Norwegian; Bokmål; Nynorsk",
    ("BA", "language"): "Bosnian; Croatian; Serbian", ("ME", "language"): "Montenegrin",
    ("RS", "language"): "Serbian", ("AZ", "language"): "Azerbaijani; Azeri", ("UZ", "language"): "Uzbek",
    ("BN", "language"): "Malay", ("PG", "language"): "Tok Pisin; English; Hiri Motu",
    ("MA", "language"): "Arabic; Tamazight; Berber", ("UA", "language"): "Ukrainian",
    ("ER", "language"): "Tigrinya; Arabic; English",  # no de jure official language; working languages
    ("CI", "capital"): "Yamoussoukro",
    # official languages CLDR lists incompletely or wrongly
    ("ZA", "language"): "English; Zulu; Xhosa; Afrikaans; Northern Sotho; Sepedi; Tswana; Setswana; Southern Sotho; "
                        "Sesotho; Tsonga; Xitsonga; Swati; siSwati; Venda; Tshivenda; Ndebele; South African Sign Language",
    ("DZ", "language"): "Arabic; Tamazight; Berber",  # French is not official
    ("TN", "language"): "Arabic",  # French is not official
    ("NG", "language"): "English",  # Hausa, Igbo and Yoruba are national, not official, languages
    ("IQ", "language"): "Arabic; Kurdish",
    ("MK", "language"): "Macedonian; Albanian",  # Albanian co-official since 2019
    ("ET", "language"): "Amharic; Oromo; Afaan Oromo; Tigrinya; Somali; Afar",  # federal working languages since 2020
    ("AF", "language"): "Dari; Persian; Pashto", ("IR", "language"): "Persian; Farsi",
    ("CN", "language"): "Chinese; Mandarin; Standard Chinese", ("PH", "language"): "Filipino; Tagalog; English",
    ("KM", "language"): "Comorian; Shikomori; Arabic; French", ("RW", "language"): "Kinyarwanda; English; French; Swahili",
    ("PE", "language"): "Spanish; Quechua; Aymara", ("SC", "language"): "Seychellois Creole; Creole; English; French",
    ("ES", "language"): "Spanish; Castilian; Catalan; Basque; Galician",  # Spanish, and co-official regional ones
    ("NL", "language"): "Dutch; Frisian; West Frisian", ("PT", "language"): "Portuguese; Mirandese",
    ("MD", "language"): "Romanian; Moldovan", ("LS", "language"): "Southern Sotho; Sesotho; English",
    ("BW", "language"): "English; Tswana; Setswana", ("SI", "language"): "Slovenian; Slovene",
    ("ZW", "language"): "English; Shona; Ndebele; North Ndebele",
}
# (code, relation) pairs left out: disputed, ambiguous, or a single-digit answer
EXCLUDE = {
    ("IL", "capital"), ("NR", "capital"),  # Jerusalem's status disputed; Nauru has no official capital
    ("NZ", "language"),  # English is official de facto only: any answer would be graded unfairly
    ("BF", "language"), ("ML", "language"), ("NE", "language"),  # French demoted 2023-2025: in flux
    ("US", "calling"), ("CA", "calling"), ("RU", "calling"), ("KZ", "calling"),  # +1 and +7: one digit
    ("TT", "continent"),  # on South America's shelf, counted with North America: either answer is defensible
}
# land borders that countryinfo gets wrong (found by the symmetry test in tests/test_data_wide.py);
# applied both ways
BORDERS_REMOVE = {("TD", "SS"), ("IN", "AF"), ("MM", "BT"), ("KW", "IR"),  # no such border
                  ("CY", "GB"), ("RS", "AL")}  # only via the UK's bases / Kosovo: left out as disputed
BORDERS_ADD = {("TD", "SD"), ("IN", "MM"), ("IQ", "KW"), ("NP", "CN"),  # real borders the data lacks
               ("FR", "BR"), ("FR", "SR"), ("FR", "NL")}  # French Guiana; Saint Martin
TRANSCONTINENTAL = {"RU", "TR", "EG", "KZ", "AZ", "GE", "AM", "CY", "IR"}
SOUTH_AMERICA = {"AR", "BO", "BR", "CL", "CO", "EC", "GY", "PY", "PE", "SR", "UY", "VE"}
CENTRAL_AMERICA = {"BZ", "CR", "SV", "GT", "HN", "NI", "PA"}
HEAD_POPULATION = 20_000_000  # countryinfo's figure: at least this many people = "head" (well known)


def _continent(code: str, region: str, subregion: str) -> str:
    if region == "Americas":
        if code in SOUTH_AMERICA:
            return "South America"
        return "North America; Central America" if code in CENTRAL_AMERICA else "North America"
    if code in ("AU",):
        return "Australia; Oceania"
    return {"Africa": "Africa", "Europe": "Europe", "Asia": "Asia", "Oceania": "Oceania"}[region]


def countries() -> list[str]:
    import babel.languages
    import babel.numbers
    from babel import Locale
    from countryinfo import CountryInfo

    en = Locale("en")
    infos = {code: CountryInfo(code).info() for code in UN_MEMBERS}
    alpha3 = {info["ISO"]["alpha3"]: code for code, info in infos.items()}
    borders_of = {code: {alpha3[b] for b in info.get("borders", []) if b in alpha3} for code, info in infos.items()}
    for a, b in BORDERS_REMOVE:
        borders_of[a].discard(b), borders_of[b].discard(a)
    for a, b in BORDERS_ADD:
        borders_of[a].add(b), borders_of[b].add(a)
    lines = []
    for code, info in infos.items():
        name, extra = NAMES.get(code, (en.territories[code].replace(" & ", " and "), ""))
        fields = {"capital": info["capital"]}
        if code not in TRANSCONTINENTAL:
            fields["continent"] = _continent(code, info["region"], info["subregion"])
        currencies = babel.numbers.get_territory_currencies(code, datetime.date(2026, 1, 1), tender=True)
        fields["currency"] = "; ".join(babel.numbers.get_currency_name(c, locale="en").replace("&", "and")
                                       for c in currencies)
        langs = babel.languages.get_official_languages(code) or babel.languages.get_official_languages(code, de_facto=True)
        fields["language"] = "; ".join(dict.fromkeys(en.languages[lang] for lang in langs if lang in en.languages))
        calling = [c for c in info.get("callingCodes", []) if c.isdigit()]
        if len(calling) == 1 and not (calling[0].startswith("1") and len(calling[0]) == 4):
            fields["calling"] = f"+{calling[0]}; {calling[0]}"
        tld = [t for t in info.get("tld", []) if t.isascii()]
        if tld:
            fields["tld"] = f"{tld[0]}; {tld[0].lstrip('.')}"
        fields["borders"] = " ".join(sorted(borders_of[code]))
        for (c, rel), value in OVERRIDES.items():
            if c == code:
                fields[rel] = value
        for rel in list(fields):
            if (code, rel) in EXCLUDE:
                del fields[rel]
        popularity = "head" if (info.get("population") or 0) >= HEAD_POPULATION else "tail"
        names = "; ".join(dict.fromkeys(n for n in (name.removeprefix("the "), *extra.split("; ")) if n))
        cells = [code, name, names, popularity] + [fields.get(r, "") for r in
                                                   ("capital", "continent", "currency", "language", "calling", "tld",
                                                    "borders")]
        lines.append(" | ".join(cells))
    return lines


HEAD_ELEMENTS = set(range(1, 21)) | {22, 24, 25, 26, 27, 28, 29, 30, 35, 36, 47, 50, 53, 54, 74, 78, 79, 80, 82, 86, 88,
                                     92, 94}
NAME_ALIASES = {"aluminum": "aluminium; aluminum", "cesium": "caesium; cesium", "sulfur": "sulfur; sulphur"}


def elements() -> list[str]:
    import periodictable

    lines = []
    for el in periodictable.elements:
        if el.number == 0:
            continue
        name = NAME_ALIASES.get(el.name, el.name)
        lines.append(f"{el.number} | {el.symbol} | {name} | {'head' if el.number in HEAD_ELEMENTS else 'tail'}")
    return lines


def _write(path: Path, doc: str, header: str, name: str, lines: list[str]) -> None:
    body = "\n".join(lines)
    path.write_text(f'"""{doc}"""\n\n# {header}\n{name} = """\n{body}\n"""\n', encoding="utf-8")


def main() -> None:
    import babel
    import countryinfo
    import periodictable

    out = Path(__file__).resolve().parents[1] / "src" / "nescio" / "data" / "wide"
    versions = f"babel {babel.__version__}, countryinfo {countryinfo.__version__}, periodictable {periodictable.__version__}"
    _write(out / "countries.py",
           "The 193 UN member states: facts vendored by benchmarks/wide_vendor.py (" + versions + "), read by hand.",
           "code | name | names a reverse question accepts | popularity | capital | continent | currency | "
           "official language | calling code | top-level domain | bordering codes  (; separates aliases, "
           "an empty cell = fact left out)", "COUNTRIES", countries())
    _write(out / "elements.py",
           "The 118 chemical elements: vendored by benchmarks/wide_vendor.py (" + versions + ").",
           "atomic number | symbol | name aliases | popularity", "ELEMENTS", elements())
    print("wrote", out / "countries.py", out / "elements.py")


if __name__ == "__main__":
    main()
