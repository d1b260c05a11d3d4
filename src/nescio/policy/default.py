"""The default guard behind ``nescio ask``: load a given one, or fit and cache one per model."""

from __future__ import annotations

import hashlib
from pathlib import Path

from nescio.policy.guard import Guard
from nescio.types import NescioError
from nescio.models.embedded import DEFAULT_MODEL


def default_guard_dir(model_id: str) -> Path:
    """Where the default guard for ``model_id`` is cached (under the nescio cache root)."""
    from nescio.models.cache import cache_root

    return cache_root() / "guards" / hashlib.sha256(model_id.encode()).hexdigest()[:16]


def default_guard(model=DEFAULT_MODEL, guard_dir: str | Path | None = None, *, console=None) -> Guard:
    """A fitted guard for ``model`` (LoadedModel or spec): from ``guard_dir`` when given, else
    the cached default (fitted on the built-in train/calibration splits on first use, then saved)."""
    from nescio.data import builtin_questions
    from nescio.models.backend import as_backend

    if guard_dir is not None:
        guard = Guard.load(guard_dir)  # a damaged guard fails here, before the model is loaded
        guard.check_model(as_backend(model).model_id)
        return guard
    lm = as_backend(model)
    prompt = getattr(lm, "prompt", "default")  # another prompt changes the answers: its own guard
    dtype = getattr(lm, "dtype", "float32")  # another dtype: its own guard (float32 keeps the old place)
    d = default_guard_dir(str(lm.model_id) + ("" if prompt == "default" else f"|prompt={prompt}")
                          + ("" if dtype == "float32" else f"|dtype={dtype}"))
    if (d / "guard.json").is_file():
        try:
            return Guard.load(d, model_id=str(lm.model_id))
        except NescioError as exc:  # written by another nescio version, or damaged: refit
            if console is not None:
                console.print(f"cached default guard not usable ({exc}); refitting")
    if console is not None:
        console.print(f"fitting a default guard for {lm.spec} on the built-in train/calibration splits "
                      f"(first use only; cached in {d}) …")
    qs = builtin_questions()
    guard = Guard.from_model(lm, [q for q in qs if q.split in ("train", "calibration")], progress=console is not None)
    guard.save(d)
    return guard
