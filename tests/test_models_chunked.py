"""The chunked-GGUF assembler (Qwen2.5-Coder's 22 PyPI parts), on small fake chunks."""

from __future__ import annotations

import hashlib
import sys

import pytest

from nescio.models.chunked import ChunkedGGUF, assemble_chunks
from nescio.types import NescioError


def _chunks(tmp_path, n=3, size=1000):
    paths, h = [], hashlib.sha256()
    for i in range(1, n + 1):
        data = bytes((i * 7 + j) % 256 for j in range(size))
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(data)
        h.update(data)
        paths.append(p)
    return paths, h.hexdigest()


def test_assembles_in_order_and_verifies(tmp_path):
    paths, digest = _chunks(tmp_path)
    out = assemble_chunks(paths, tmp_path / "m.gguf", size=3000, sha256=digest)
    assert out.read_bytes() == b"".join(p.read_bytes() for p in paths)
    with pytest.raises(NescioError, match="sha256"):  # wrong order -> wrong hash
        assemble_chunks(paths[::-1], tmp_path / "r.gguf", size=3000, sha256=digest)
    assert not (tmp_path / "r.gguf").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_missing_or_damaged_chunk_is_refused(tmp_path):
    paths, digest = _chunks(tmp_path)
    with pytest.raises(NescioError, match="expected 3,000"):
        assemble_chunks(paths[:2], tmp_path / "m.gguf", size=3000, sha256=digest)
    paths[1].write_bytes(b"x" * 1000)  # same size, other bytes
    with pytest.raises(NescioError, match="damaged"):
        assemble_chunks(paths, tmp_path / "m.gguf", size=3000, sha256=digest)
    paths[2].unlink()
    with pytest.raises(NescioError, match="chunk file missing"):
        assemble_chunks(paths, tmp_path / "m.gguf", size=3000, sha256=digest)
    assert not (tmp_path / "m.gguf").exists()


def test_chunk_packages_are_located_not_imported(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    paths, digest = _chunks(tmp_path / "src")
    for i, p in enumerate(paths, start=1):
        pkg = tmp_path / "site" / f"fakeparts_{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(p.read_bytes())
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = ChunkedGGUF("fake.gguf", "fakeparts_{i}", "data/part{i:02d}.bin", 3, 3000, digest, "pip install fakeparts")
    got = spec.chunk_paths()
    assert [p.name for p in got] == ["part01.bin", "part02.bin", "part03.bin"]
    assert not any(m.startswith("fakeparts_") for m in sys.modules)
    missing = ChunkedGGUF("fake.gguf", "fakeparts_{i}", "data/part{i:02d}.bin", 4, 4000, digest, "pip install fakeparts")
    with pytest.raises(NescioError, match="'fakeparts_4' is not installed; pip install fakeparts"):
        missing.chunk_paths()


def test_qwen_is_an_embedded_model_found_through_the_chunk_table():
    from nescio.models.embedded import BY_NAME

    m = BY_NAME["qwen2.5-coder-1.5b-instruct"]
    assert m.prompt_format == "chat" and "make qwen" in m.description
