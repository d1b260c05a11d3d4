"""The relevance filter: only passages that are evidence for the question enter the prompt.

A logistic regression (scikit-learn) over corpus-independent features of a (question,
passage) pair — MiniLM cosine, BM25 relative to the query's best, the share of the
question's content words in the passage, the share of the passage title's words in the
question, the fused rank — predicts P(the passage holds the answer). Fitted on the
built-in corpus's training questions (label: the passage contains a gold answer), its
keep threshold is then chosen on the calibration questions as the lowest one at which at
least ``precision`` of the kept passages hold the answer. Saved as a JSON + safetensors
artifact; :func:`default_filter` fits it once and caches it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.artifacts import read_artifact, write_artifact
from nescio.rag.index import Hit
from nescio.types import NescioError

FILTER_SCHEMA_VERSION = 1
FEATURES = ("cosine", "bm25_relative", "question_words_in_passage", "title_words_in_question", "reciprocal_rank")
_STOP = frozenset("""a an the of in on at to for by with from and or is are was were be been what which who whom whose
when where why how many much does do did has have had it its this that these those as into about than then there
their his her he she they them name called""".split())


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if w not in _STOP and len(w) > 1}


def pair_features(question: str, hits: Sequence[Hit]) -> np.ndarray:
    """``[len(hits), len(FEATURES)]`` features for one question's ranked hits."""
    q = content_words(question)
    rows = []
    for rank, h in enumerate(hits, 1):
        words = content_words(f"{h.passage.title} {h.passage.text}")
        title = content_words(h.passage.title)
        rows.append([
            h.cosine,
            h.bm25_relative,
            len(q & words) / len(q) if q else 0.0,
            len(title & q) / len(title) if title else 1.0,
            1.0 / rank,
        ])
    return np.asarray(rows, dtype=float).reshape(len(hits), len(FEATURES))


def holds_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether a passage contains one of the gold aliases as whole words (case-insensitive)."""
    def words(s: str) -> str:
        return " " + " ".join(re.findall(r"\w+", s.lower())) + " "

    low = words(text)
    return any(words(a) in low for a in answers if words(a).strip())


class RelevanceFilter:
    """P(passage is evidence) and a keep threshold. scikit-learn conventions: ``fit`` returns self."""

    def __init__(self, precision: float = 0.8, C: float = 1.0, random_state: int = 0):
        self.precision = precision
        self.C = C
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray, X_cal: np.ndarray, y_cal: np.ndarray) -> RelevanceFilter:
        from sklearn.linear_model import LogisticRegression

        y, y_cal = np.asarray(y, bool), np.asarray(y_cal, bool)
        if y.all() or not y.any():
            raise NescioError("the relevance filter needs both evidence and non-evidence passages to fit")
        lr = LogisticRegression(C=self.C, max_iter=1000, random_state=self.random_state).fit(X, y)
        self.coef_ = lr.coef_[0].astype(float)
        self.intercept_ = float(lr.intercept_[0])
        p = self.predict_proba(X_cal)
        self.threshold_ = 0.5
        for t in np.unique(p):  # ascending: the lowest threshold meeting the precision target
            kept = p >= t
            if kept.any() and y_cal[kept].mean() >= self.precision:
                self.threshold_ = float(t)
                break
        kept = p >= self.threshold_
        self.calibration_ = {"n": int(len(p)), "kept": int(kept.sum()),
                             "precision": float(y_cal[kept].mean()) if kept.any() else None,
                             "recall": float(kept[y_cal].mean()) if y_cal.any() else None}
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        z = np.asarray(X, float) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))

    def keep(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X) >= self.threshold_

    def save(self, directory: str | os.PathLike) -> Path:
        meta = {"features": list(FEATURES), "params": {"precision": self.precision, "C": self.C,
                "random_state": self.random_state}, "intercept": self.intercept_, "threshold": self.threshold_,
                "calibration": self.calibration_}
        return write_artifact(directory, "relevance_filter", artifact="relevance_filter",
                              version=FILTER_SCHEMA_VERSION, meta=meta, arrays={"coef": self.coef_})

    @classmethod
    def load(cls, directory: str | os.PathLike) -> RelevanceFilter:
        meta, arrays = read_artifact(directory, "relevance_filter", artifact="relevance_filter",
                                     version=FILTER_SCHEMA_VERSION)
        if meta["features"] != list(FEATURES):
            raise NescioError(f"{directory}: relevance filter with features {meta['features']}; refit it")
        f = cls(**meta["params"])
        f.coef_, f.intercept_, f.threshold_ = np.asarray(arrays["coef"], float), meta["intercept"], meta["threshold"]
        f.calibration_ = meta["calibration"]
        return f


def fit_builtin_filter(index=None, k: int = 8, precision: float = 0.8) -> RelevanceFilter:
    """Fit the filter on the built-in corpus: training questions to fit, calibration to set the threshold."""
    from nescio.data import builtin_questions
    from nescio.rag.builtin import builtin_corpus
    from nescio.rag.index import Index

    index = index or Index.build(builtin_corpus(), progress=False)
    data = {}
    for split in ("train", "calibration"):
        qs = builtin_questions(split)
        hits = index.search([q.text for q in qs], k=k)
        X = np.concatenate([pair_features(q.text, h) for q, h in zip(qs, hits)])
        y = np.concatenate([[q.answerable and holds_answer(x.passage.text, q.answers) for x in h]
                            for q, h in zip(qs, hits)])
        data[split] = (X, y)
    return RelevanceFilter(precision=precision).fit(*data["train"], *data["calibration"])


def default_filter() -> RelevanceFilter:
    """The filter fitted on the built-in corpus, cached under the nescio cache directory."""
    from nescio.models.cache import cache_root
    from nescio.rag.index import default_embedder

    import hashlib

    tag = hashlib.sha256(f"{default_embedder().name}|{FILTER_SCHEMA_VERSION}|{FEATURES}".encode()).hexdigest()[:12]
    d = Path(cache_root()) / "rag" / f"relevance-filter-{tag}"
    if (d / "relevance_filter.json").is_file():
        try:
            return RelevanceFilter.load(d)
        except NescioError:
            pass
    f = fit_builtin_filter()
    f.save(d)
    return f
