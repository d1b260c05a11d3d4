"""Retrieval for questions: top-k passages, the relevance filter's verdict, the no-evidence policy.

:func:`attach_retrieval` returns the questions with a :class:`~nescio.types.Retrieval`
attached. Without a filter (naive RAG) it holds the top-k passages, all kept; with the
filter it holds the candidate sentences of those passages, most probable evidence first,
and only the best ``max_kept`` that pass the threshold are kept. Generation then shows
the kept passages (or sentences) in the prompt
(:func:`nescio.models.prompts.format_prompt`). Questions with no kept passage are
answered closed-book or abstained, as ``no_evidence`` says: :func:`split_no_evidence`
separates the ones to abstain on before any model runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from nescio.rag.filter import RelevanceFilter, featurize
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
    """Retrieve ``k`` passages per question; with a filter, only the sentences it keeps enter the
    prompt (``relevance_filter=None`` keeps all ``k`` passages: naive RAG)."""
    if no_evidence not in NO_EVIDENCE_POLICIES:
        raise NescioError(f"unknown no-evidence policy {no_evidence!r}; accepted: {', '.join(NO_EVIDENCE_POLICIES)}")
    questions = list(questions)
    if not questions:
        return []
    hits = index.search([q.text for q in questions], k=k)
    if relevance_filter is None:  # naive RAG: every retrieved passage enters the prompt
        return [replace(q, retrieval=Retrieval(tuple(RetrievedPassage(h.passage.id, h.passage.text, h.passage.title,
                                                                      h.score) for h in hs), no_evidence))
                for q, hs in zip(questions, hits)]
    out = []
    for q, (cands, X) in zip(questions, featurize(index.embedder, [q.text for q in questions], hits)):
        p, keep = relevance_filter.predict_proba(X), relevance_filter.keep(X)
        order = np.lexsort((np.arange(len(p)), -p))
        passages = tuple(RetrievedPassage(cands[i].id, cands[i].text, cands[i].shown_title, cands[i].hit.score,
                                          float(p[i]), bool(keep[i])) for i in order)
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
