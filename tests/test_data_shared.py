"""Loaders on the real public files in ../shared/data (skipped when that folder is absent)."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from nescio.data import load_questions

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")


@pytest.mark.parametrize("spec, n, answerable", [
    ("triviaqa:triviaqa/triviaqa_1k.jsonl", 1000, 1000),
    ("nq_open:nq_open/NQ-open.dev.jsonl", 3610, 3610),
    ("selfaware:selfaware/SelfAware.json", 3369, 2337),
    ("nec:nec/NEC_answerable.jsonl", 2072, 2072),
    ("nec:nec/NEC_unanswerable.jsonl", 2078, 0),
    ("forecastbench:forecastbench/2026-08-16-llm.json", 500, 0),
])
def test_real_files_load_with_documented_counts(spec, n, answerable):
    name, _, rel = spec.partition(":")
    questions = load_questions(f"{name}:{SHARED / rel}")
    assert len(questions) == n
    assert sum(q.answerable for q in questions) == answerable
    assert len({q.id for q in questions}) == n


def test_falseqa_real_files():
    for split in ("train", "valid", "test"):
        questions = load_questions(f"falseqa:{SHARED / 'falseqa' / (split + '.csv')}")
        counts = collections.Counter(q.category for q in questions)
        assert set(counts) == {"false_premise", "valid_premise"}
