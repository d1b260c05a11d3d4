"""The grader against hand labels of real model answers (tests/data/grader_labels.jsonl)."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from nescio.grading import grade
from nescio.types import Outcome, Question

LABELS = Path(__file__).parent / "data" / "grader_labels.jsonl"


def _rows() -> list[dict]:
    return [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]


def test_label_file_is_well_formed():
    rows = _rows()
    assert len(rows) >= 300
    assert len({r["id"] + r["model"] for r in rows}) == len(rows)
    for r in rows:
        assert r["label"] in {o.value for o in Outcome}
        assert isinstance(r["answer"], str) and r["model"] and r["question"]
    sources = collections.Counter(r["source"] for r in rows)
    assert {"builtin", "triviaqa", "nq_open", "selfaware", "nec"} <= set(sources)
    assert all(n >= 20 for n in collections.Counter(r["label"] for r in rows).values())


def test_grader_agrees_with_hand_labels():
    per_class: dict[str, list[bool]] = collections.defaultdict(list)
    for r in _rows():
        q = Question(r["id"], r["question"], tuple(r["answers"]), r["answerable"], r["category"], r["source"], r.get("entity"))
        per_class[r["label"]].append(grade(q, r["answer"]).outcome.value == r["label"])
    overall = sum(sum(v) for v in per_class.values()) / sum(len(v) for v in per_class.values())
    rates = {c: sum(v) / len(v) for c, v in per_class.items()}
    assert overall >= 0.95, (overall, rates)
    assert min(rates.values()) >= 0.90, rates
