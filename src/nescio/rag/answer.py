"""``--rag IDX`` for eval / ask / generate / serve: settings, question attachment, the support rule.

:class:`RagSettings` names an index and how to use it; ``settings.attach(questions)``
retrieves and filters. It is the ``retriever`` of :class:`nescio.pipeline.AnswerPipeline`,
which answers from the index through a guard (``nescio ask --rag``, ``serve --rag``,
:func:`nescio.pipeline.rag_answer`): abstaining without running the model when no passage
passes the filter and the policy says so, and on answers the kept evidence does not hold
(:func:`unsupported`).
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
    from nescio.types import check_question

    return settings.attach([Question(id=f"ask-{i}", text=check_question(t)) for i, t in enumerate(texts)])


def unsupported(generation) -> bool:
    """The hard support rule: the answer was generated from kept evidence that does not hold it
    (:func:`nescio.signals.retrieval.answer_in_evidence`); the model's own "I don't know" and
    closed-book answers (nothing kept) are not judged."""
    from nescio.grading import model_abstained
    from nescio.signals.retrieval import answer_in_evidence

    r = generation.question.retrieval
    return bool(r is not None and r.kept and not model_abstained(generation.text)
                and not answer_in_evidence(generation))
