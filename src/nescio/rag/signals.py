"""Retrieval-aware signals for nescio.rag: the registry entries live in
:mod:`nescio.signals.retrieval` (re-exported here); :func:`score_context_reliance` runs the
one extra forward pass ``rag_context_reliance`` reads."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from nescio.signals.retrieval import (  # noqa: F401  (re-exported)
    CHEAP_RAG_SIGNALS,
    RAG_SIGNALS,
    SIGNALS,
    rag_context_reliance,
    rag_passages_kept,
    rag_relevance_margin,
    rag_support_embedding,
    rag_support_lexical,
    rag_top_relevance,
)
from nescio.types import Generation, GenerationConfig


def score_context_reliance(backend: Any, generations: Sequence[Generation], *, progress: bool = False) -> list[Generation]:
    """Re-score each RAG answer under the closed-book prompt (teacher forcing through the backend:
    one batched prefill over prompt + answer) and return the generations with
    ``answer_logprob_without_passages`` filled. ``backend``: a Backend or LoadedModel."""
    from nescio.models.backend import as_backend

    gens = list(generations)
    todo = [i for i, g in enumerate(gens) if g.question.retrieval is not None and g.token_ids and g.question.retrieval.kept]
    values = {i: float(sum(g.token_logprobs)) for i, g in enumerate(gens)
              if g.question.retrieval is not None and g.token_ids and not g.question.retrieval.kept}
    if todo:
        closed = [replace(gens[i].question, retrieval=None) for i in todo]
        scored = as_backend(backend).score(closed, [gens[i].text for i in todo], GenerationConfig(top_k=1),
                                           token_ids=[gens[i].token_ids for i in todo], progress=progress)
        values.update({i: float(sum(s.token_logprobs)) for i, s in zip(todo, scored)})
    out = []
    for i, g in enumerate(gens):
        if i not in values:
            out.append(g)
            continue
        r = g.question.retrieval
        out.append(replace(g, question=replace(g.question, retrieval=replace(r, answer_logprob_without_passages=values[i]))))
    return out
