"""Loading models (embedded names, HF dirs, GGUF files, hub ids) and generating with capture.

Heavy libraries (torch, transformers) are imported inside the functions that use them,
so importing this package stays cheap.
"""

from __future__ import annotations

from nescio.lazy import lazy_getattr


from nescio.models.embedded import DEFAULT_MODEL, EMBEDDED_MODELS

_LAZY = {
    "Backend": "nescio.models.backend",
    "HFBackend": "nescio.models.backend",
    "BACKENDS": "nescio.models.backend",
    "as_backend": "nescio.models.backend",
    "score": "nescio.models.teacher",
    "LoadedModel": "nescio.models.load",
    "load_model": "nescio.models.load",
    "generate": "nescio.models.generation",
    "encode_questions": "nescio.models.generation",
    "sample_completions": "nescio.models.generation",
    "Completion": "nescio.models.generation",
    "CompletionGroup": "nescio.models.generation",
    "Prompt": "nescio.models.decode",
    "encode_prompts": "nescio.models.decode",
    "prefill": "nescio.models.decode",
    "decode_step": "nescio.models.decode",
    "decode_steps": "nescio.models.decode",
    "DecodeState": "nescio.models.decode",
    "DecodedRow": "nescio.models.decode",
    "StepOutput": "nescio.models.decode",
    "DecodeCapture": "nescio.models.decode",
    "join_states": "nescio.models.batching",
    "save_generations": "nescio.models.io",
    "load_generations": "nescio.models.io",
    "GenerationStore": "nescio.models.io",
    "generate_resumable": "nescio.models.io",
    "tiny_model": "nescio.models.tiny",
    "capture_sites": "nescio.models.sites",
}

__all__ = ["DEFAULT_MODEL", "EMBEDDED_MODELS", *_LAZY]


__getattr__ = lazy_getattr(__name__, _LAZY)
