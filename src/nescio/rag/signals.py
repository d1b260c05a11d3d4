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
from nescio.types import Generation


def score_context_reliance(lm: Any, generations: Sequence[Generation], *, progress: bool = False) -> list[Generation]:
    """Re-score each RAG answer under the closed-book prompt (one teacher-forced forward pass per
    question) and return the generations with ``answer_logprob_without_passages`` filled."""
    import torch
    from tqdm.auto import tqdm

    out = []
    add_special = lm.prompt_format != "chat"
    with torch.inference_mode():
        for g in tqdm(list(generations), disable=not progress, desc="context reliance", unit="q"):
            r = g.question.retrieval
            if r is None or not g.token_ids:
                out.append(g)
                continue
            if not r.kept:
                value = float(sum(g.token_logprobs))
            else:
                prompt = lm.format_prompt(g.question.text)
                ids = lm.tokenizer(prompt, add_special_tokens=add_special)["input_ids"]
                full = torch.tensor([list(ids) + list(g.token_ids)], device=lm.device)
                logits = lm.model(full).logits[0, len(ids) - 1 : -1].float()
                lp = torch.log_softmax(logits, -1).gather(1, full[0, len(ids):, None])[:, 0]
                value = float(lp.sum())
            out.append(replace(g, question=replace(g.question, retrieval=replace(r, answer_logprob_without_passages=value))))
    return out
