"""Retrieval-augmented answering with retrieval-aware abstention.

- :mod:`~nescio.rag.corpus`: read .txt/.md directories or JSONL passages, chunk them;
- :mod:`~nescio.rag.index`: hybrid index (bm25s + MiniLM, reciprocal rank fusion), saved without pickle;
- :mod:`~nescio.rag.filter`: the calibrated relevance filter;
- :mod:`~nescio.rag.retrieve`: attach top-k passages (and the filter's verdict) to questions;
- :mod:`~nescio.rag.signals`: retrieval-aware signals for the guard;
- :mod:`~nescio.rag.builtin`: a corpus generated from the built-in facts, with gaps and distractors.

Heavy libraries (bm25s, sentence-transformers, torch) are imported inside functions.
"""

from __future__ import annotations

from nescio.lazy import lazy_getattr


_LAZY = {
    "Passage": "nescio.rag.corpus",
    "read_corpus": "nescio.rag.corpus",
    "Index": "nescio.rag.index",
    "build_index": "nescio.rag.index",
    "RelevanceFilter": "nescio.rag.filter",
    "default_filter": "nescio.rag.filter",
    "attach_retrieval": "nescio.rag.retrieve",
    "split_no_evidence": "nescio.rag.retrieve",
    "score_context_reliance": "nescio.rag.signals",
    "RAG_SIGNALS": "nescio.rag.signals",
    "builtin_corpus": "nescio.rag.builtin",
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
