"""Counts of the ``wide`` benchmark, computed from the code that builds it.

    PYTHONPATH=src python benchmarks/wide_stats.py   # -> benchmarks/results/wide_stats.json

Per category and split: questions and template families; per family: its split and
size; popularity (head/tail) of the answerable facts per category; and one example
question per family. docs/data.md quotes these figures.
"""

import collections
import harness
from nescio.data import wide as wide_module
from nescio.data.wide import CATEGORIES, SEED, SPLITS, wide_questions

OUT = harness.RESULTS_DIR / "wide_stats.json"


def main() -> None:
    wide_module._all_questions.cache_clear()
    qs = wide_questions()
    by_category = {}
    for category in CATEGORIES:
        rows = [q for q in qs if q.category == category]
        by_category[category] = {
            "answerable": rows[0].answerable,
            "questions": {s: sum(q.split == s for q in rows) for s in SPLITS} | {"total": len(rows)},
            "families": {s: len({q.family for q in rows if q.split == s}) for s in SPLITS}
            | {"total": len({q.family for q in rows})},
            "popularity": dict(collections.Counter(q.popularity for q in rows if q.popularity)),
        }
    families = {}
    for q in qs:
        entry = families.setdefault(q.family, {"category": q.category, "split": q.split, "questions": 0,
                                               "example": q.text})
        entry["questions"] += 1
    result = {
        "seed": SEED,
        "questions": len(qs),
        "answerable": sum(q.answerable for q in qs),
        "unanswerable": sum(not q.answerable for q in qs),
        "template_families": len(families),
        "splits": {s: {"questions": sum(q.split == s for q in qs),
                       "families": len({q.family for q in qs if q.split == s})} for s in SPLITS},
        "families_in_two_splits": sum(len({q.split for q in qs if q.family == f}) > 1 for f in families),
        "by_category": by_category,
        "families": dict(sorted(families.items())),
    }
    harness.write_results(OUT, result, ensure_ascii=False)
    print(f"{len(qs)} questions, {len(families)} families -> {OUT}")


if __name__ == "__main__":
    main()
