"""Retrieval for questions: top-k passages, the relevance filter's verdict, the no-evidence policy.

:func:`attach_retrieval` returns the questions with a :class:`~nescio.types.Retrieval`
attached; generation then shows the kept passages in the prompt
(:func:`nescio.models.prompts.format_prompt`). Questions with no kept passage are
answered closed-book or abstained, as ``no_evidence`` says: :func:`split_no_evidence`
separates the ones to abstain on before any model runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from nescio.rag.filter import RelevanceFilter, pair_features
from nescio.rag.index import Index
from nescio.types import NO_EVIDENCE_POLICIES, NescioError, Question, Retrieval, RetrievedPassage


def attach_retrieval(
    index: Index,
    questions: Sequence[Question],
    *,
    k: int = 4,
    relevance_filter: RelevanceFilter | None = None,
    no_evidence: str = "closed_book",
) -> list[Question]:
    """Retrieve ``k`` passages per question; with a filter, only passages it keeps enter the
    prompt (``relevance_filter=None`` keeps all ``k``: naive RAG)."""
    if no_evidence not in NO_EVIDENCE_POLICIES:
        raise NescioError(f"unknown no-evidence policy {no_evidence!r}; accepted: {', '.join(NO_EVIDENCE_POLICIES)}")
    questions = list(questions)
    if not questions:
        return []
    out = []
    for q, hits in zip(questions, index.search([q.text for q in questions], k=k)):
        if relevance_filter is not None:
            p = relevance_filter.predict_proba(pair_features(q.text, hits))
            keep = p >= relevance_filter.threshold_
        else:
            p, keep = [None] * len(hits), [True] * len(hits)
        passages = tuple(
            RetrievedPassage(h.passage.id, h.passage.text, h.passage.title, h.score,
                             None if pi is None else float(pi), bool(ki))
            for h, pi, ki in zip(hits, p, keep)
        )
        out.append(replace(q, retrieval=Retrieval(passages, no_evidence)))
    return out


def abstains_without_evidence(q: Question) -> bool:
    """True when the question's retrieval kept nothing and the policy is to abstain."""
    r = q.retrieval
    return r is not None and not r.kept and r.no_evidence == "abstain"


def split_no_evidence(questions: Sequence[Question]) -> tuple[list[Question], list[Question]]:
    """(questions to generate for, questions to abstain on without generating)."""
    todo = [q for q in questions if not abstains_without_evidence(q)]
    skip = [q for q in questions if abstains_without_evidence(q)]
    return todo, skip
