"""Retrieval-aware signals (family ``retrieval``); the registry lists them (``nescio.rag.signals`` re-exports them).

All read ``generation.question.retrieval`` and are oriented higher = riskier; a question
asked without retrieval gives NaN. Costs are extra *model* forward passes per question:
0 for all but ``rag_context_reliance`` (1: the answer re-scored without the passages, by
:func:`nescio.rag.signals.score_context_reliance`). The embedding support signal runs the MiniLM embedder
(not the model) over the answer and the kept passages.

- ``rag_top_relevance``: 1 − the filter's P(evidence) of the best passage;
- ``rag_relevance_margin``: 1 − (best − second-best P(evidence)): no clear winner is riskier;
- ``rag_passages_kept``: 1 / (1 + passages that passed the filter);
- ``rag_support_lexical``: 1 − the largest share of the answer's content words found in one kept passage;
- ``rag_support_embedding``: 1 − the largest MiniLM cosine between "question answer" and a kept passage;
- ``rag_context_reliance``: −(mean answer-token log-prob with the passages − without): an answer
  the passages do not make more likely is riskier.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

import re

from nescio.signals.spec import SignalInfo
from nescio.text import STOP_WORDS, content_words
from nescio.types import Generation

RAG_SIGNALS = ("rag_top_relevance", "rag_relevance_margin", "rag_passages_kept", "rag_support_lexical",
               "rag_support_embedding", "rag_context_reliance")
CHEAP_RAG_SIGNALS = RAG_SIGNALS[:-1]
SUPPORT_MIN_SHARE = 0.0  # answer_in_evidence: any of the answer's new words in one kept passage
NAN = float("nan")


def _relevances(g: Generation) -> list[float] | None:
    r = g.question.retrieval
    if r is None:
        return None
    rel = sorted((p.relevance for p in r.passages if p.relevance is not None), reverse=True)
    return rel or None  # no filter ran: relevance signals are missing


def rag_top_relevance(generations: Sequence[Generation]) -> np.ndarray:
    out = []
    for g in generations:
        rel = _relevances(g)
        out.append(NAN if rel is None else 1.0 - (rel[0] if rel else 0.0))
    return np.array(out, dtype=float)


def rag_relevance_margin(generations: Sequence[Generation]) -> np.ndarray:
    out = []
    for g in generations:
        rel = _relevances(g)
        if rel is None:
            out.append(NAN)
        else:
            rel = rel + [0.0, 0.0]
            out.append(1.0 - (rel[0] - rel[1]))
    return np.array(out, dtype=float)


def rag_passages_kept(generations: Sequence[Generation]) -> np.ndarray:
    return np.array([NAN if g.question.retrieval is None else 1.0 / (1 + len(g.question.retrieval.kept))
                     for g in generations], dtype=float)


_FILLER = frozenset({"answer", "question", "passage", "passages", "according"})


def _words(text: str) -> set[str]:
    """Normalised words of ``text`` (the grader's normaliser: case, accents, number words) without
    stop words; digits count ("4 legs")."""
    from nescio.grading import normalize_answer

    return {w for w in normalize_answer(text).split() if w not in STOP_WORDS and w not in _FILLER}


def _answer_words(g: Generation) -> set[str]:
    """The words of the answer span (the grader's) that the question does not already hold (all
    of them if none is new)."""
    from nescio.grading import answer_span

    words = _words(answer_span(g.text))
    return (words - _words(g.question.text)) or words


def _support(g: Generation) -> float:
    """The largest share of the answer's words found in one kept passage (title included)."""
    words = _answer_words(g)
    kept = g.question.retrieval.kept
    if not words or not kept:
        return 0.0
    return max(len(words & _words(f"{p.title} {p.text}")) / len(words) for p in kept)


def answer_in_evidence(g: Generation, min_share: float = SUPPORT_MIN_SHARE) -> bool:
    """Whether more than ``min_share`` of the answer's new words appear in one kept passage — the
    hard support rule (an answer the evidence does not hold is abstained on). False without
    retrieval or without a kept passage."""
    r = g.question.retrieval
    return r is not None and _support(g) > min_share


def rag_support_lexical(generations: Sequence[Generation]) -> np.ndarray:
    return np.array([NAN if g.question.retrieval is None else 1.0 - _support(g) for g in generations], dtype=float)


def rag_support_embedding(generations: Sequence[Generation]) -> np.ndarray:
    from nescio.signals.sampling import embed_answers

    out = np.full(len(generations), NAN)
    claims, passages, owners = [], [], []
    for i, g in enumerate(generations):
        r = g.question.retrieval
        if r is None:
            continue
        if not r.kept or not g.text.strip():
            out[i] = 1.0
            continue
        claims.append(f"{g.question.text} {g.text.strip()}")
        passages.append([f"{p.title}. {p.text}" if p.title else p.text for p in r.kept])
        owners.append(i)
    if owners:
        c = embed_answers(claims)
        for j, i in enumerate(owners):
            out[i] = 1.0 - float((embed_answers(passages[j]) @ c[j]).max())
    return out


def rag_context_reliance(generations: Sequence[Generation]) -> np.ndarray:
    out = []
    for g in generations:
        r = g.question.retrieval
        if r is None or r.answer_logprob_without_passages is None or not g.token_logprobs:
            out.append(NAN)
        elif not r.kept:
            out.append(0.0)  # the answer was generated without passages: no reliance to measure
        else:
            n = len(g.token_logprobs)
            out.append(-(sum(g.token_logprobs) - r.answer_logprob_without_passages) / n)
    return np.array(out, dtype=float)


SIGNALS = (
    SignalInfo("rag_top_relevance", "retrieval", "1 - the relevance filter's P(evidence) of the best retrieved passage", compute=rag_top_relevance, cost=0.0),
    SignalInfo("rag_relevance_margin", "retrieval", "1 - (best - second-best passage P(evidence)): no clear best passage is riskier", compute=rag_relevance_margin, cost=0.0),
    SignalInfo("rag_passages_kept", "retrieval", "1 / (1 + number of retrieved passages that passed the relevance filter)", compute=rag_passages_kept, cost=0.0),
    SignalInfo("rag_support_lexical", "retrieval", "1 - the largest share of the answer's content words found in one kept passage", compute=rag_support_lexical, cost=0.0),
    SignalInfo("rag_support_embedding", "retrieval", "1 - the largest MiniLM cosine between 'question answer' and a kept passage", compute=rag_support_embedding, cost=0.0),
    SignalInfo("rag_context_reliance", "retrieval", "-(mean answer-token log-prob with the passages - without them); "
                             "needs score_context_reliance (one extra forward pass)", compute=rag_context_reliance, cost=1.0),
)
