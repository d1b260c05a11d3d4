"""``--rag IDX`` for eval / ask / generate: settings, question attachment, guarded answers.

:class:`RagSettings` names an index and how to use it; ``settings.attach(questions)``
retrieves and filters; :func:`rag_answer` answers through a fitted guard, abstaining without
running the model when no passage passes the filter and the policy says so.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from nescio.types import NO_EVIDENCE_POLICIES, NescioError, Question

NO_EVIDENCE_REASON = "no retrieved passage passed the relevance filter; abstained without answering"


@functools.lru_cache(maxsize=4)
def _load_index(path: str):
    from nescio.rag.index import Index

    return Index.load(path)


@dataclass(frozen=True)
class RagSettings:
    """An index directory, top-k, whether to filter, and the policy when nothing passes the filter."""

    index: str
    k: int = 4
    use_filter: bool = True
    no_evidence: str = "closed_book"

    def __post_init__(self) -> None:
        if self.no_evidence not in NO_EVIDENCE_POLICIES:
            raise NescioError(f"unknown no-evidence policy {self.no_evidence!r}; accepted: {', '.join(NO_EVIDENCE_POLICIES)}")
        if self.k < 1:
            raise NescioError(f"--rag-k must be at least 1, got {self.k}")
        object.__setattr__(self, "index", str(self.index))

    def attach(self, questions: Sequence[Question]) -> list[Question]:
        from nescio.rag.filter import default_filter
        from nescio.rag.retrieve import attach_retrieval

        return attach_retrieval(_load_index(self.index), questions, k=self.k,
                                relevance_filter=default_filter() if self.use_filter else None,
                                no_evidence=self.no_evidence)

    def key(self) -> str:
        """Identity of what retrieval puts in prompts (index contents, k, filter, policy): keys generation stores."""
        meta = json.loads((Path(self.index) / "index.json").read_text(encoding="utf-8")) if (
            Path(self.index) / "index.json").is_file() else {}
        text = json.dumps([meta.get("passages_sha256"), self.k, self.use_filter, self.no_evidence])
        return hashlib.sha256(text.encode()).hexdigest()[:10]


def rag_answer(model, guard, settings: RagSettings, texts: Sequence[str], *, alpha: float | None = None,
               progress: bool = False):
    """Answer questions from the index through ``guard`` (as :func:`nescio.policy.answering.answer`,
    with retrieval): questions whose retrieval kept no passage under the ``abstain`` policy are
    abstained on without running the model; the rest are generated with their passages and
    decided by ``guard.decide``. Returns a :class:`~nescio.types.DecisionBatch` in input order."""
    from dataclasses import replace

    import numpy as np

    from nescio.models import generate
    from nescio.policy.answering import _merge, ensure_model
    from nescio.policy.guard import check_question
    from nescio.rag.retrieve import abstains_without_evidence
    from nescio.rag.signals import score_context_reliance

    guard._check_fitted()
    guard.policy_.thresholds(alpha)  # fail on an uncertified α before any work
    lm = ensure_model(model)
    guard.check_model(str(lm.model_id))
    questions = settings.attach([Question(id=f"ask-{i}", text=check_question(t)) for i, t in enumerate(texts)])
    blocked = np.array([abstains_without_evidence(q) for q in questions], dtype=bool)
    todo = [q for q, b in zip(questions, blocked) if not b]
    gens = generate(lm, todo, guard.generation_config_, progress=progress) if todo else []
    if "rag_context_reliance" in guard.signal_names_:
        gens = score_context_reliance(lm, gens)
    batch = _merge(questions, blocked, np.full(len(questions), np.nan), guard.decide(gens, alpha=alpha))
    return replace(batch, reasons=tuple(NO_EVIDENCE_REASON if b else r for b, r in zip(blocked, batch.reasons)),
                   precheck_fired=np.asarray(batch.precheck_fired, bool) & ~blocked)


def rag_ask_default(question: str, model, guard_dir, settings: RagSettings, *, console=None):
    """``nescio ask --rag``: one question through ``guard_dir`` (or the cached default guard)."""
    from nescio.policy.answering import ensure_model
    from nescio.policy.default import default_guard

    lm = ensure_model(model)
    guard = default_guard(lm, guard_dir, console=console)
    return rag_answer(lm, guard, settings, [question])[0]
