"""``--rag IDX`` for eval / ask / generate / serve: settings, question attachment, guarded answers.

:class:`RagSettings` names an index and how to use it; ``settings.attach(questions)``
retrieves and filters; :func:`rag_answer` answers through a fitted guard, abstaining without
running the model when no passage passes the filter and the policy says so. ``nescio serve
--rag`` runs the same steps (:func:`rag_questions`, the retrieval prompt, the no-evidence
policy, :func:`with_context_reliance`, ``guard.decide``) inside its batching worker.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from nescio.types import NO_EVIDENCE_POLICIES, NescioError, Question

NO_EVIDENCE_REASON = "no retrieved passage passed the relevance filter; abstained without answering"
UNSUPPORTED_REASON = "the answer is not in the retrieved evidence; abstained"


def _load_index(path: str):
    from nescio.rag.index import load_index

    return load_index(path)  # cached by the index's checksum: a rebuilt index is picked up


@dataclass(frozen=True)
class RagSettings:
    """An index directory, top-k, whether to filter, and the policy when nothing passes the filter."""

    index: str
    k: int = 4
    use_filter: bool = True
    no_evidence: str = "closed_book"
    require_support: bool = True  # abstain when the answer is not in the kept evidence

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
        from nescio.rag.filter import FILTER_SCHEMA_VERSION

        # not require_support: it acts after generation, so stores stay shared
        text = json.dumps([meta.get("passages_sha256"), self.k, self.use_filter, self.no_evidence,
                           FILTER_SCHEMA_VERSION if self.use_filter else None])
        return hashlib.sha256(text.encode()).hexdigest()[:10]


def rag_questions(settings: RagSettings, texts: Sequence[str]) -> list[Question]:
    """The questions ``texts`` (checked as the guard checks them) with their retrieval attached:
    the one retrieval step of ``ask --rag`` and ``serve --rag``."""
    from nescio.policy.guard import check_question

    return settings.attach([Question(id=f"ask-{i}", text=check_question(t)) for i, t in enumerate(texts)])


def with_context_reliance(lm, guard, generations: Sequence) -> list:
    """``generations`` with the answer re-scored without the passages when ``guard`` reads
    ``rag_context_reliance`` (one extra forward pass each), else unchanged."""
    from nescio.rag.signals import score_context_reliance

    gens = list(generations)
    if guard is not None and "rag_context_reliance" in guard.signal_names_ and gens:
        return score_context_reliance(lm, gens)
    return gens


def unsupported(generation) -> bool:
    """The hard support rule: the answer was generated from kept evidence that does not hold it
    (:func:`nescio.signals.retrieval.answer_in_evidence`); the model's own "I don't know" and
    closed-book answers (nothing kept) are not judged."""
    from nescio.policy.answering import model_abstained
    from nescio.signals.retrieval import answer_in_evidence

    r = generation.question.retrieval
    return bool(r is not None and r.kept and not model_abstained(generation.text)
                and not answer_in_evidence(generation))


def rag_answer(model, guard, settings: RagSettings, texts: Sequence[str], *, alpha: float | None = None,
               progress: bool = False):
    """Answer questions from the index through ``guard`` (as :func:`nescio.policy.answering.answer`,
    with retrieval): questions whose retrieval kept no passage under the ``abstain`` policy are
    abstained on without running the model; the rest are generated with their passages and
    decided by ``guard.decide``; with ``settings.require_support`` an answer the kept evidence
    does not hold is abstained on (:func:`unsupported`). Returns a
    :class:`~nescio.types.DecisionBatch` in input order (``answers`` keep the model's text)."""
    from dataclasses import replace

    import numpy as np

    from nescio.models import generate
    from nescio.policy.answering import _merge, ensure_model
    from nescio.policy.scoring import ABSTAIN_TEXT
    from nescio.rag.retrieve import abstains_without_evidence
    from nescio.types import Action

    guard._check_fitted()
    guard.policy_.thresholds(alpha)  # fail on an uncertified α before any work
    lm = ensure_model(model)
    guard.check_model(str(lm.model_id))
    questions = rag_questions(settings, texts)
    blocked = np.array([abstains_without_evidence(q) for q in questions], dtype=bool)
    todo = [q for q, b in zip(questions, blocked) if not b]
    gens = generate(lm, todo, guard.generation_config_, progress=progress) if todo else []
    gens = with_context_reliance(lm, guard, gens)
    batch = _merge(questions, blocked, np.full(len(questions), np.nan), guard.decide(gens, alpha=alpha))
    drop = np.zeros(len(questions), dtype=bool)
    if settings.require_support:
        drop[np.flatnonzero(~blocked)] = [unsupported(g) for g in gens]
    reasons = tuple(NO_EVIDENCE_REASON if b else UNSUPPORTED_REASON if u else r
                    for b, u, r in zip(blocked, drop, batch.reasons))
    return replace(batch, reasons=reasons, precheck_fired=np.asarray(batch.precheck_fired, bool) & ~blocked,
                   actions=tuple(Action.ABSTAIN if u else a for u, a in zip(drop, batch.actions)),
                   texts=tuple(ABSTAIN_TEXT if u else t for u, t in zip(drop, batch.texts)))


def rag_ask_default(question: str, model, guard_dir, settings: RagSettings, *, console=None):
    """``nescio ask --rag``: one question through ``guard_dir`` (or the cached default guard)."""
    from nescio.policy.answering import ensure_model
    from nescio.policy.default import default_guard

    lm = ensure_model(model)
    guard = default_guard(lm, guard_dir, console=console)
    return rag_answer(lm, guard, settings, [question])[0]
