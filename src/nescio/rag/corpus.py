"""Reading a local corpus into passages: a directory of .txt/.md files or JSONL ``{"id", "title", "text"}``.

Files are read as UTF-8; a file that is not, or a JSONL line that is not a JSON object
with a non-empty ``text``, raises :class:`~nescio.types.NescioError` naming the file and
line. Long documents are cut into passages of about ``max_words`` words with
``overlap`` words shared between neighbours, at sentence ends where possible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from nescio import jsonl
from nescio.types import NescioError

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl",)
ACCEPTED = "a directory of .txt/.md files, or a .jsonl file of {\"id\", \"title\", \"text\"} lines"


@dataclass(frozen=True)
class Passage:
    """One retrievable unit: ``id`` is unique in an index (``<doc id>#<chunk>`` for chunks)."""

    id: str
    title: str
    text: str


def read_jsonl(path: Path) -> list[Passage]:
    """Passages from a JSONL file; ``id`` defaults to ``<file stem>:<line>``, ``title`` to ""."""
    out = []
    for n, obj in jsonl.read_jsonl(path, accepted=ACCEPTED):
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            raise NescioError(f"{path}, line {n}: expected an object with a non-empty \"text\" string; accepted: {ACCEPTED}")
        title = obj.get("title") or ""
        if not isinstance(title, str):
            raise NescioError(f"{path}, line {n}: \"title\" must be a string")
        out.append(Passage(str(obj.get("id") or f"{path.stem}:{n}"), title, obj["text"].strip()))
    return out


def read_documents(source: str | Path) -> list[Passage]:
    """Whole documents (not yet chunked) from a directory, a .txt/.md file or a .jsonl file."""
    path = Path(source)
    if not path.exists():
        raise NescioError(f"{str(path)!r} does not exist; accepted: {ACCEPTED}")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES + JSONL_SUFFIXES)
        if not files:
            raise NescioError(f"{str(path)!r} holds no .txt, .md or .jsonl files; accepted: {ACCEPTED}")
    else:
        files = [path]
    docs: list[Passage] = []
    for f in files:
        suffix = f.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            docs.extend(read_jsonl(f))
        elif suffix in TEXT_SUFFIXES:
            text = jsonl.read_utf8(f).strip()
            if text:
                rel = f.relative_to(path) if path.is_dir() else Path(f.name)
                docs.append(Passage(rel.as_posix(), _title_of(f, text), text))
        else:
            raise NescioError(f"{f}: unsupported file type {suffix or '(none)'!r}; accepted: {ACCEPTED}")
    if not docs:
        raise NescioError(f"{str(path)!r}: the corpus is empty (no non-empty passages); accepted: {ACCEPTED}")
    return docs


def _title_of(path: Path, text: str) -> str:
    first = text.splitlines()[0].strip()
    if path.suffix.lower() == ".md" and first.startswith("#"):
        return first.lstrip("#").strip()
    return path.stem.replace("_", " ").replace("-", " ")


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def chunk(doc: Passage, max_words: int = 120, overlap: int = 20) -> list[Passage]:
    """Cut a document into passages of at most ~``max_words`` words (whole sentences where a
    sentence fits), neighbours sharing about ``overlap`` words. Short documents stay whole."""
    if max_words < 10 or not 0 <= overlap < max_words // 2:
        raise NescioError("chunking needs max_words ≥ 10 and 0 ≤ overlap < max_words / 2")
    words = doc.text.split()
    if len(words) <= max_words:
        return [doc]
    pieces: list[str] = []
    for sentence in _SENTENCE.split(doc.text):
        w = sentence.split()
        while len(w) > max_words:  # a sentence longer than a passage: cut by words
            pieces.append(" ".join(w[:max_words]))
            w = w[max_words:]
        if w:
            pieces.append(" ".join(w))
    chunks: list[list[str]] = [[]]
    for piece in pieces:
        current = chunks[-1]
        if current and len(" ".join(current).split()) + len(piece.split()) > max_words:
            tail = " ".join(current).split()[-overlap:] if overlap else []
            chunks.append(([" ".join(tail)] if tail else []) + [piece])
        else:
            current.append(piece)
    return [Passage(f"{doc.id}#{i}", doc.title, " ".join(c)) for i, c in enumerate(chunks)]


def iter_passages(docs: Iterable[Passage], max_words: int = 120, overlap: int = 20) -> Iterator[Passage]:
    for d in docs:
        yield from chunk(d, max_words, overlap)


def read_corpus(source: str | Path, max_words: int = 120, overlap: int = 20) -> list[Passage]:
    """Passages ready to index: :func:`read_documents` then :func:`chunk`."""
    return list(iter_passages(read_documents(source), max_words, overlap))
