"""Word-level text helpers shared by retrieval (:mod:`nescio.rag`) and the retrieval signals
(:mod:`nescio.signals.retrieval`): one stop-word list, so the relevance filter and the support
signals agree on what a content word is. A leaf module (it imports nothing of nescio), so
either layer can use it without importing the other."""

from __future__ import annotations

import re

__all__ = ["STOP_WORDS", "content_words"]

STOP_WORDS = frozenset("""a an the of in on at to for by with from and or is are was were be been what which who whom whose
when where why how many much does do did has have had it its this that these those as into about than then there
their his her he she they them name called""".split())
"""Lower-case function words and question words that say nothing about the fact asked for."""


def content_words(text: str) -> set[str]:
    """The lower-cased words of ``text`` that are not stop words and longer than one character."""
    return {w for w in re.findall(r"\w+", text.lower()) if w not in STOP_WORDS and len(w) > 1}
