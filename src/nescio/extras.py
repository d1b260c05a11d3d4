"""Optional extras (pyproject's ``[project.optional-dependencies]``): fail at once, in one line.

A command that needs an extra calls :func:`require` before any work, so that a missing
``peft`` is an error naming the extra to install, not a ``ModuleNotFoundError`` after ten
minutes of generation. The check only looks for the modules (``importlib.util.find_spec``);
it imports nothing. (``hf:`` question sets, the ``hub`` extra, already fail in one line
where ``datasets`` is imported, the first thing they do.)
"""

from __future__ import annotations

import importlib.util

from nescio.types import NescioError

__all__ = ["EXTRAS", "missing", "require"]

EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("peft", "trl", "datasets"),  # LoRA, the SFT / GRPO trainers, their Dataset
    "serve": ("fastapi", "uvicorn", "prometheus_client"),
    "rag": ("bm25s",),
    "upstream": ("httpx",),  # UpstreamBackend: an OpenAI-compatible server (vLLM, llama.cpp, SGLang) generates
    "hub": ("datasets",),
}
"""Extra -> the import names of its packages (tests check them against pyproject.toml)."""


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be found."""
    if extra not in EXTRAS:
        raise NescioError(f"unknown extra {extra!r}; accepted: {', '.join(EXTRAS)}")
    return [m for m in EXTRAS[extra] if not _present(m)]


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # already imported without a spec (a stand-in module): present
        return True


def require(extra: str, what: str) -> None:
    """Raise a one-line NescioError when a module of ``extra`` is missing. ``what``: what needs it,
    as the user typed it (``"`nescio train sft`"``)."""
    lost = missing(extra)
    if lost:
        raise NescioError(f"{what} needs the '{extra}' extra: pip install 'nescio[{extra}]' (missing: {', '.join(lost)})")
