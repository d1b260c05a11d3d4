"""Reading UTF-8 text and JSONL files with one-line errors that name the file and line.

The one JSONL reader of nescio: question sets (:mod:`nescio.data.loaders`) and RAG corpora
(:mod:`nescio.rag.corpus`) read through it, so a file that is not UTF-8 or a line that is
not JSON fails the same way everywhere: ``PATH, line N: problem``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nescio.types import NescioError


def read_utf8(path: Path) -> str:
    """The whole file decoded as UTF-8; a byte that is not UTF-8 is an error naming its line."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise NescioError(f"{path}, line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None


def read_jsonl(path: Path, accepted: str | None = None) -> list[tuple[int, Any]]:
    """``(line number, parsed value)`` for every non-blank line of a UTF-8 JSONL file, read
    whole before returning. Lines end at ``\\n``, ``\\r\\n`` or ``\\r``; a line that is not
    JSON is an error naming the file and line (``accepted``, when given, says what the file
    should hold). What each value must be is the caller's to check."""
    text = read_utf8(path).replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            out.append((n, json.loads(line)))
        except json.JSONDecodeError as exc:
            hint = f"; accepted: {accepted}" if accepted else ""
            raise NescioError(f"{path}, line {n}: bad JSON ({exc.msg}){hint}") from None
    return out
