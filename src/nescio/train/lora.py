"""LoRA adapters: which modules they wrap, their hash, merging, and the tuned model's identity.

``lora_config(lm)`` wraps the attention (q/k/v/o) and MLP (gate/up/down) projections of
every decoder layer. After training, :func:`merge_adapter` loads the base model again,
applies the saved adapter with peft, merges it (``merge_and_unload``) and writes an HF
model directory plus ``nescio_model.json``, which :func:`nescio.models.load_model` reads:
the tuned model's ``model_id`` is ``<base model_id>+lora-sha256:<hash of
adapter_model.safetensors>`` and its prompt format is the base model's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from nescio.models.load import MODEL_IDENTITY_FILE, MODEL_IDENTITY_VERSION
from nescio.types import NescioError

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def expose_backbone(model: Any) -> Any:
    """Make ``model.base_model`` the decoder backbone, as trl's fused LM head expects.

    trl (1.16) computes the training loss through ``model.base_model(...).last_hidden_state``.
    ``Gemma3ForCausalLM`` (transformers 4.57) names its prefix ``language_model`` but keeps the
    backbone in ``.model``, so ``base_model`` falls back to the causal-LM wrapper itself and
    training the embedded Gemma 3 failed with "no attribute 'last_hidden_state'". Setting the
    prefix on this instance (not the class) fixes the lookup; saving and merging use a fresh model.
    """
    backbone = getattr(model, "model", None)
    if model.base_model is model and backbone is not None and hasattr(backbone, "layers"):
        model.base_model_prefix = "model"
    return model


def lora_config(lm: Any, *, r: int = 16, alpha: int = 32, dropout: float = 0.0, targets: tuple[str, ...] = LORA_TARGETS):
    """A peft ``LoraConfig`` over the attention and MLP projections present in ``lm``'s model."""
    from peft import LoraConfig

    if r < 1 or alpha <= 0 or not 0.0 <= dropout < 1.0:
        raise NescioError(f"LoRA needs r >= 1, alpha > 0 and 0 <= dropout < 1; got r={r}, alpha={alpha}, dropout={dropout}")
    names = {n.rsplit(".", 1)[-1] for n, _ in lm.model.named_modules()}
    present = [t for t in targets if t in names]
    if not present:
        raise NescioError(
            f"none of the LoRA target modules {', '.join(targets)} exist in this {lm.architecture!r} model"
        )
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=present, bias="none",
                      task_type="CAUSAL_LM")


def adapter_sha256(adapter_dir: str | Path) -> str:
    """sha256 of the adapter weights file (what makes two tuned models different)."""
    path = Path(adapter_dir) / ADAPTER_WEIGHTS
    if not path.is_file():
        raise NescioError(f"{adapter_dir} is not a PEFT adapter directory ({ADAPTER_WEIGHTS} missing)")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tuned_model_id(base_model_id: str, adapter_hash: str) -> str:
    return f"{base_model_id}+lora-sha256:{adapter_hash}"


def save_adapter(peft_model: Any, adapter_dir: str | Path) -> str:
    """Save a peft model's adapter (safetensors + adapter_config.json); return its sha256."""
    peft_model.save_pretrained(str(adapter_dir), safe_serialization=True)
    return adapter_sha256(adapter_dir)


def merge_adapter(base: Any, adapter_dir: str | Path, merged_dir: str | Path, *, method: str = "lora") -> str:
    """Merge the adapter into a fresh copy of the base model; write ``merged_dir``; return its model_id.

    ``base``: the base model's spec (loaded again here) or a callable returning a fresh
    :class:`~nescio.models.load.LoadedModel` (tests use the tiny in-memory model).
    """
    import shutil

    from peft import PeftModel

    from nescio.models.load import load_model

    lm = base() if callable(base) else load_model(str(base))
    digest = adapter_sha256(adapter_dir)
    model = PeftModel.from_pretrained(lm.model, str(adapter_dir)).merge_and_unload()
    merged_dir = Path(merged_dir)
    tmp = merged_dir.with_name(merged_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    lm.tokenizer.save_pretrained(str(tmp))
    model_id = tuned_model_id(lm.model_id, digest)
    identity = {
        "artifact": "nescio.tuned_model",
        "schema_version": MODEL_IDENTITY_VERSION,
        "model_id": model_id,
        "base_model": lm.spec,
        "base_model_id": lm.model_id,
        "adapter_sha256": digest,
        "method": method,
        "prompt_format": lm.prompt_format,
        "architecture": lm.architecture,
    }
    (tmp / MODEL_IDENTITY_FILE).write_text(json.dumps(identity, indent=1), encoding="utf-8")
    shutil.rmtree(merged_dir, ignore_errors=True)
    tmp.rename(merged_dir)
    return model_id
