"""Saved artifacts: one ``<stem>.json`` (metadata) + ``<stem>.safetensors`` (arrays) pair.

Every fitted or computed thing nescio saves (probes, signal tables, guards) goes through
these two functions, so all of them carry the same header — ``artifact`` (what it is),
``schema_version`` (of that artifact) and ``nescio_schema_version`` — and all of them load
without executing code: JSON and safetensors only, never pickle.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from nescio.types import SCHEMA_VERSION, NescioError


def write_artifact(
    directory: str | os.PathLike,
    stem: str,
    *,
    artifact: str,
    version: int,
    meta: dict,
    arrays: dict[str, np.ndarray],
) -> Path:
    """Write ``<directory>/<stem>.safetensors`` then ``<stem>.json``; returns the directory.

    The JSON is written last, so a pair whose JSON exists is complete.
    """
    from safetensors.numpy import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(d / f"{stem}.safetensors"))
    header = {"artifact": artifact, "schema_version": version, "nescio_schema_version": SCHEMA_VERSION}
    (d / f"{stem}.json").write_text(json.dumps(header | meta, indent=1), encoding="utf-8")
    return d


def read_artifact(
    directory: str | os.PathLike, stem: str, *, artifact: str, version: int, required: tuple[str, ...] = ()
) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a pair written by :func:`write_artifact`: ``(meta, arrays)``.

    Every kind of damage is a one-line :class:`NescioError` naming the damaged file: a
    missing file, invalid JSON or JSON that is not an object, another artifact kind or
    schema version, a missing ``required`` metadata key, or a safetensors file that is
    truncated or not safetensors at all.
    """
    from safetensors.numpy import load_file

    d = Path(directory)
    meta_path, arrays_path = d / f"{stem}.json", d / f"{stem}.safetensors"
    missing = [p.name for p in (meta_path, arrays_path) if not p.is_file()]
    if missing:
        raise NescioError(f"{str(d)!r} is not a saved {artifact}: " + ", ".join(f"{m} missing" for m in missing))
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NescioError(f"{meta_path}: damaged, not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if not isinstance(meta, dict):
        raise NescioError(f"{meta_path}: damaged, expected a JSON object, got {type(meta).__name__}")
    if meta.get("artifact") != artifact or meta.get("schema_version") != version:
        raise NescioError(
            f"{meta_path}: a {meta.get('artifact')!r} artifact, schema version {meta.get('schema_version')}; "
            f"this nescio reads {artifact!r} version {version}"
        )
    absent = [k for k in required if k not in meta]
    if absent:
        raise NescioError(f"{meta_path}: damaged, missing field {absent[0]!r}")
    try:
        arrays = load_file(str(arrays_path))
    except Exception as exc:  # safetensors raises its own SafetensorError (and OSError, ValueError) on damage
        raise NescioError(f"{arrays_path}: damaged, not a readable safetensors file ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})") from None
    return meta, arrays


class ArtifactDamage(NescioError):
    """Raised by :func:`damaged` for a field that is present but unusable."""


def damaged(path: str | os.PathLike, exc: BaseException) -> NescioError:
    """A one-line NescioError for an artifact whose fields could not be used (``raise damaged(p, exc) from None``)."""
    return ArtifactDamage(f"{path}: damaged ({type(exc).__name__}: {exc})")
