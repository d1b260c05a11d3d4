"""The on-disk cache of dequantised GGUF models.

Dequantising a GGUF is slow (tens of seconds), so the first load writes the result
(safetensors weights + config + tokenizer) under ``<cache>/models/gguf-<sha256>/`` and
later loads read it. The cache root is ``$NESCIO_CACHE_DIR`` or the platform user cache
directory (``platformdirs.user_cache_dir("nescio")``).

Safety: an entry is built in a temporary directory and renamed into place only after
a manifest (every file's size and sha256) is written last, so a crash leaves at most
an ignored ``.tmp-*`` directory. A cached entry is used only when its manifest exists
and every file matches it; otherwise it is rebuilt, never silently used.
GGUF hashes are memoised in ``<cache>/gguf-hashes.json`` by (resolved path, size,
mtime_ns), so a 100 MB file is hashed once, not on every load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable

MANIFEST = "nescio-manifest.json"
CACHE_FORMAT = 1


def cache_root() -> Path:
    env = os.environ.get("NESCIO_CACHE_DIR")
    if env:
        root = Path(env)
    else:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("nescio"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _write_json_atomic(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, memoised by (resolved path, size, mtime_ns) in the cache root."""
    path = Path(path).resolve()
    st = path.stat()
    memo_path = cache_root() / "gguf-hashes.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    entry = memo.get(str(path))
    if entry and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
        return entry["sha256"]
    digest = _sha256_file(path)
    memo[str(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
    _write_json_atomic(memo_path, memo)
    return digest


def entry_dir(key: str) -> Path:
    return cache_root() / "models" / key


def is_complete(directory: Path, *, verify_hashes: bool = False) -> bool:
    """True when ``directory`` has a manifest and every listed file has its size (and hash)."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        if manifest.get("format") != CACHE_FORMAT:
            return False
        for name, info in manifest["files"].items():
            p = directory / name
            if p.stat().st_size != info["size"]:
                return False
            if verify_hashes and _sha256_file(p) != info["sha256"]:
                return False
        return bool(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def build_entry(key: str, write: Callable[[Path], None], source: dict) -> Path:
    """Run ``write(tmp_dir)``, add the manifest last, then rename into place atomically.

    A damaged entry already in place is moved aside and deleted first.
    """
    final = entry_dir(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write(tmp)
        files = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                files[str(p.relative_to(tmp))] = {"size": p.stat().st_size, "sha256": _sha256_file(p)}
                with open(p, "rb") as f:
                    os.fsync(f.fileno())
        _write_json_atomic(tmp / MANIFEST, {"format": CACHE_FORMAT, "source": source, "files": files})
        if final.exists():
            trash = final.parent / f".trash-{key}-{uuid.uuid4().hex[:8]}"
            os.replace(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:  # another process finished the same entry first: use theirs
            if not is_complete(final):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
