"""The relevance filter: only sentences that are evidence for the question enter the prompt.

Each retrieved passage is cut into sentences (the passage title stays attached), and a
logistic regression (scikit-learn) predicts P(the sentence holds the answer) from
corpus-independent features of each (question, sentence) pair and their pairwise products:
the MiniLM cosine of the passage and of the sentence with the question, BM25 relative to
the query's best, the share of the question's content words the sentence (with its title)
covers and how many it misses, how many of the sentence's own words lie outside the
question (an answer adds one or two; a comparison with another entity adds many), how many
title words lie outside the question (a lookalike "North France" for "France") and the
share of the title in the question, and the passage's rank. Only the best ``max_kept``
sentences at or above the keep threshold enter the prompt: a 135M model copies the wrong
fact from a multi-fact passage or from a near-duplicate distractor, so one clear evidence
sentence serves it better than several passages.

Fitted on the built-in corpus's training questions (label: the sentence contains a gold
answer) with extra distractor passages for those questions as hard negatives, its keep
threshold is chosen on the calibration questions as the lowest one at which at least
``precision`` of the questions whose best sentence passes get a sentence that holds the
answer. Saved as a JSON + safetensors artifact; :func:`default_filter` fits it once and
caches it (roughly a quarter of an hour on a busy 2-core machine: MiniLM embeds every
candidate sentence).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.artifacts import read_artifact, write_artifact
from nescio.rag.index import Hit
from nescio.text import content_words
from nescio.types import NescioError

FILTER_SCHEMA_VERSION = 2
FEATURES = ("cosine_passage", "cosine_sentence", "bm25_relative", "question_words_in_sentence",
            "question_words_missing", "sentence_words_outside_question", "title_words_outside_question",
            "title_words_in_question", "reciprocal_rank")
# a sentence ends at . or ! after a lower-case letter or digit, before an upper-case letter
# ("U.S. Army" stays whole; a free-form fact "Who wrote X? Jane Austen." too: "?" does not end one;
# nor does an abbreviation: "Symphony No. 9", "St. Louis")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]][.!])\s+(?=[A-Z\"'(])")
_ABBREVIATION = re.compile(r"\b(?:no|st|mr|mrs|ms|dr|jr|sr|vs|mt|ft|prof|approx|etc|e\.g|i\.e)\.$", re.I)


def sentences(text: str) -> list[str]:
    """``text`` cut at sentence ends (empty pieces dropped)."""
    out: list[str] = []
    for piece in (s.strip() for s in _SENTENCE_END.split(text.strip())):
        if not piece:
            continue
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage: the unit the filter judges and the prompt shows."""

    hit: Hit
    rank: int  # the passage's rank, 1-based
    number: int  # the sentence's position in the passage, 0-based
    text: str

    @property
    def id(self) -> str:
        return f"{self.hit.passage.id}#{self.number}"

    @property
    def title(self) -> str:
        return self.hit.passage.title

    @property
    def shown_title(self) -> str:
        """The title as the prompt shows it: only when the sentence does not already name it (the
        model echoed a leading "Norway." instead of answering)."""
        return "" if content_words(self.title) <= content_words(self.text) else self.title


def candidates(hits: Sequence[Hit]) -> list[Candidate]:
    """Every sentence of the ranked hits, in rank then reading order."""
    return [Candidate(h, rank, j, s) for rank, h in enumerate(hits, 1) for j, s in enumerate(sentences(h.passage.text))]


def candidate_features(question: str, cands: Sequence[Candidate], q_vec: np.ndarray | None = None,
                       s_vecs: np.ndarray | None = None) -> np.ndarray:
    """``[len(cands), len(FEATURES)]`` features for one question's candidate sentences; ``q_vec`` /
    ``s_vecs``: unit embeddings of the question and of each ``title. sentence`` (see :func:`featurize`)."""
    q = content_words(question)
    rows = []
    for i, c in enumerate(cands):
        words = content_words(f"{c.title} {c.text}")
        title = content_words(c.title)
        rows.append([
            c.hit.cosine,
            float(s_vecs[i] @ q_vec) if s_vecs is not None else c.hit.cosine,
            c.hit.bm25_relative,
            len(q & words) / len(q) if q else 0.0,
            min(len(q - words), 5),
            min(len(content_words(c.text) - q), 10),
            min(len(title - q), 5),
            len(title & q) / len(title) if title else 1.0,
            1.0 / c.rank,
        ])
    return np.asarray(rows, dtype=float).reshape(len(cands), len(FEATURES))


def featurize(embedder, questions: Sequence[str], hits: Sequence[Sequence[Hit]]) -> list[tuple[list[Candidate], np.ndarray]]:
    """(candidates, features) per question; one embedder call for all questions and sentences."""
    cands = [candidates(h) for h in hits]
    texts = [f"{c.title}. {c.text}" if c.title else c.text for cs in cands for c in cs]
    vecs = np.asarray(embedder.encode(list(questions) + texts), dtype=float) if questions else np.zeros((0, 1))
    q_vecs, s_vecs = vecs[: len(questions)], vecs[len(questions):]
    out, start = [], 0
    for question, qv, cs in zip(questions, q_vecs, cands):
        out.append((cs, candidate_features(question, cs, qv, s_vecs[start : start + len(cs)])))
        start += len(cs)
    return out


def holds_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether a passage contains one of the gold aliases as whole words (case-insensitive)."""
    def words(s: str) -> str:
        return " " + " ".join(re.findall(r"\w+", s.lower())) + " "

    low = words(text)
    return any(words(a) in low for a in answers if words(a).strip())


def expand(X: np.ndarray, degree: int) -> np.ndarray:
    """The features and, for ``degree`` 2, every pairwise product ``x_i x_j`` (i ≤ j) — the order
    of scikit-learn's ``PolynomialFeatures(2, include_bias=False)``."""
    X = np.asarray(X, float).reshape(-1, len(FEATURES))
    if degree == 1:
        return X
    n = X.shape[1]
    return np.hstack([X] + [X[:, [i]] * X[:, i:] for i in range(n)])


class RelevanceFilter:
    """P(sentence is evidence), a keep threshold and how many passing sentences enter the prompt.
    ``degree`` 2: a logistic regression over the standardised features and their pairwise
    products (lets "all question words covered" and "no word from elsewhere" count together).
    scikit-learn conventions: ``fit`` returns self."""

    def __init__(self, precision: float = 0.9, C: float = 1.0, max_kept: int = 1, degree: int = 2,
                 random_state: int = 0):
        if max_kept < 1:
            raise NescioError(f"max_kept must be at least 1, got {max_kept}")
        if degree not in (1, 2):
            raise NescioError(f"degree must be 1 or 2, got {degree}")
        self.precision = precision
        self.C = C
        self.max_kept = max_kept
        self.degree = degree
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray, X_cal: np.ndarray, y_cal: np.ndarray,
            groups_cal: np.ndarray | None = None) -> RelevanceFilter:
        """Fit on (X, y); choose the threshold on the calibration candidates, grouped by question
        (``groups_cal``, one id per row; default: each row its own question) — only each
        question's best candidate counts, as only it is sure to enter the prompt."""
        from sklearn.linear_model import LogisticRegression

        y, y_cal = np.asarray(y, bool), np.asarray(y_cal, bool)
        if y.all() or not y.any():
            raise NescioError("the relevance filter needs both evidence and non-evidence passages to fit")
        Z = expand(X, self.degree)
        self.mean_, self.scale_ = Z.mean(0), Z.std(0)
        self.scale_[self.scale_ == 0] = 1.0
        lr = LogisticRegression(C=self.C, max_iter=3000, random_state=self.random_state).fit(
            (Z - self.mean_) / self.scale_, y)
        self.coef_ = lr.coef_[0].astype(float)
        self.intercept_ = float(lr.intercept_[0])
        p = self.predict_proba(X_cal)
        groups = np.arange(len(p)) if groups_cal is None else np.asarray(groups_cal)
        best_p, best_y = [], []
        for g in np.unique(groups):
            rows = np.flatnonzero(groups == g)
            top = rows[np.argmax(p[rows])]
            best_p.append(p[top])
            best_y.append(y_cal[top])
        best_p, best_y = np.asarray(best_p), np.asarray(best_y, bool)
        self.threshold_ = 0.5
        for t in np.unique(best_p):  # ascending: the lowest threshold meeting the precision target
            kept = best_p >= t
            if kept.any() and best_y[kept].mean() >= self.precision:
                self.threshold_ = float(t)
                break
        kept = best_p >= self.threshold_
        self.calibration_ = {"questions": int(len(best_p)), "candidates": int(len(p)), "passed": int(kept.sum()),
                             "precision": float(best_y[kept].mean()) if kept.any() else None,
                             "recall": float(kept[best_y].mean()) if best_y.any() else None}
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        z = (expand(X, self.degree) - self.mean_) / self.scale_ @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))

    def keep(self, X: np.ndarray) -> np.ndarray:
        """Which candidates (one question's, any order) enter the prompt: the ``max_kept`` most
        probable ones at or above the threshold."""
        p = self.predict_proba(X)
        out = np.zeros(len(p), dtype=bool)
        order = np.lexsort((np.arange(len(p)), -p))[: self.max_kept]
        out[order[p[order] >= self.threshold_]] = True
        return out

    def save(self, directory: str | os.PathLike) -> Path:
        meta = {"features": list(FEATURES), "params": {"precision": self.precision, "C": self.C,
                "max_kept": self.max_kept, "degree": self.degree, "random_state": self.random_state},
                "intercept": self.intercept_, "threshold": self.threshold_, "calibration": self.calibration_}
        return write_artifact(directory, "relevance_filter", artifact="relevance_filter",
                              version=FILTER_SCHEMA_VERSION, meta=meta,
                              arrays={"coef": self.coef_, "mean": self.mean_, "scale": self.scale_})

    @classmethod
    def load(cls, directory: str | os.PathLike) -> RelevanceFilter:
        meta, arrays = read_artifact(directory, "relevance_filter", artifact="relevance_filter",
                                     version=FILTER_SCHEMA_VERSION)
        if meta["features"] != list(FEATURES):
            raise NescioError(f"{directory}: relevance filter with features {meta['features']}; refit it")
        f = cls(**meta["params"])
        f.coef_, f.intercept_, f.threshold_ = np.asarray(arrays["coef"], float), meta["intercept"], meta["threshold"]
        f.mean_, f.scale_ = np.asarray(arrays["mean"], float), np.asarray(arrays["scale"], float)
        f.calibration_ = meta["calibration"]
        return f


def training_data(index, questions, k: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, labels, question number) of every candidate sentence retrieved for ``questions``;
    label: the question is answerable and the sentence holds a gold answer."""
    feats = featurize(index.embedder, [q.text for q in questions], index.search([q.text for q in questions], k=k))
    X = np.concatenate([f for _, f in feats])
    y = np.concatenate([[q.answerable and holds_answer(c.text, q.answers) for c in cs] for q, (cs, _) in zip(questions, feats)])
    g = np.concatenate([np.full(len(cs), i) for i, (cs, _) in enumerate(feats)])
    return X, y.astype(bool), g


DEFAULT_FIT = {"k": 8, "precision": 0.9, "max_kept": 1, "distractors": 5}


def fit_builtin_filter(index=None, k: int = 8, precision: float = 0.9, max_kept: int = 1,
                       distractors: int = 5) -> RelevanceFilter:
    """Fit the filter on the built-in corpus: training questions to fit, calibration to set the
    threshold. Without ``index`` it searches the built-in corpus plus ``distractors`` extra
    distractor passages per training and calibration question (hard negatives: lookalikes,
    comparisons, mentions with other years), so the filter learns to pass them over."""
    from nescio.data import builtin_questions
    from nescio.rag.builtin import builtin_corpus, extra_distractors
    from nescio.rag.index import Index

    train, cal = builtin_questions("train"), builtin_questions("calibration")
    if index is None:
        extra = extra_distractors(list(train) + list(cal), distractors) if distractors else []
        index = Index.build(list(builtin_corpus()) + extra, progress=False)
    X, y, _ = training_data(index, train, k)
    Xc, yc, gc = training_data(index, cal, k)
    return RelevanceFilter(precision=precision, max_kept=max_kept).fit(X, y, Xc, yc, gc)


def default_filter() -> RelevanceFilter:
    """The filter fitted on the built-in corpus, cached under the nescio cache directory and
    loaded once per process (``serve --rag`` asks for it on every request)."""
    from nescio.models.cache import cache_root
    from nescio.rag.index import default_embedder

    import hashlib

    recipe = f"{default_embedder().name}|{FILTER_SCHEMA_VERSION}|{FEATURES}|{DEFAULT_FIT}"
    tag = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    return _filter_in(str(Path(cache_root()) / "rag" / f"relevance-filter-{tag}"))


@functools.lru_cache(maxsize=2)
def _filter_in(directory: str) -> RelevanceFilter:
    """The default filter saved in ``directory``, fitted and saved there first if it is not."""
    d = Path(directory)
    if (d / "relevance_filter.json").is_file():
        try:
            return RelevanceFilter.load(d)
        except NescioError:
            pass
    f = fit_builtin_filter(**DEFAULT_FIT)
    f.save(d)
    return f
