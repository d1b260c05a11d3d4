"""Deterministic subsets of question lists, shared by evaluation (splits, ``--limit``) and training
(``nescio train --limit``): the same ``--limit`` picks the same questions everywhere."""

from __future__ import annotations

import hashlib

from nescio.types import Question

__all__ = ["hash01", "limit_questions"]


def hash01(text: str) -> float:
    """A stable number in [0, 1) from ``text`` (the first 48 bits of its SHA-256)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / float(16**12)


def limit_questions(questions: list[Question], limit: int | None) -> list[Question]:
    """A deterministic, category-mixed subset of at most ``limit`` questions (all of them when ``limit`` is None)."""
    if limit is None or len(questions) <= limit:
        return questions
    return sorted(questions, key=lambda q: hash01("limit:" + q.id))[:limit]
