"""Where each capture site lives in each architecture: one small table, not a file per model.

A site is read off two kinds of module per decoder layer:

- ``resid``: the decoder layer's output (residual stream after layer L),
- ``mlp_act`` and ``cett``: the FFN's ``down_proj`` (its input is the intermediate
  activation z; its output h is the FFN's contribution to the residual stream),
- ``attn_logdiag``: the layer's self-attention module (its attention function's query and
  key states are read there: :mod:`nescio.models.attention`).
"""

from __future__ import annotations

from typing import Any

from nescio.types import NescioError

# architecture -> (candidate paths of the decoder-layer list, down_proj path, self-attention path inside a layer)
SITE_TABLE: dict[str, tuple[tuple[str, ...], str, str]] = {
    "llama": (("model.layers",), "mlp.down_proj", "self_attn"),
    "mistral": (("model.layers",), "mlp.down_proj", "self_attn"),
    "qwen2": (("model.layers",), "mlp.down_proj", "self_attn"),
    "qwen3": (("model.layers",), "mlp.down_proj", "self_attn"),
    "gemma2": (("model.layers",), "mlp.down_proj", "self_attn"),
    "gemma3": (("model.layers", "model.language_model.layers", "language_model.model.layers"), "mlp.down_proj",
               "self_attn"),
    "phi3": (("model.layers",), "mlp.down_proj", "self_attn"),
}
ATTENTION_SITES = ("attn_logdiag",)

ARCH_ALIASES = {"gemma3_text": "gemma3", "smollm3": "llama"}


def normalize_architecture(model_type: str) -> str:
    return ARCH_ALIASES.get(model_type, model_type)


def _get(root: Any, path: str) -> Any:
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def decoder_layers(model: Any, architecture: str) -> list[Any]:
    """The decoder layer modules of ``model`` in order."""
    arch = normalize_architecture(architecture)
    if arch not in SITE_TABLE:
        raise NescioError(
            f"capture is not mapped for architecture {architecture!r}; accepted: {', '.join(sorted(SITE_TABLE))}"
        )
    for path in SITE_TABLE[arch][0]:
        try:
            return list(_get(model, path))
        except AttributeError:
            continue
    raise NescioError(f"could not find the decoder layers of this {architecture!r} model at {SITE_TABLE[arch][0]}")


def site_module(model: Any, architecture: str, site: str, layer: int) -> Any:
    """The module a site's hook attaches to: the decoder layer (resid), its down_proj or its self-attention."""
    layers = decoder_layers(model, architecture)
    if not 0 <= layer < len(layers):
        raise NescioError(f"capture layer {layer} out of range; this model has layers 0..{len(layers) - 1}")
    if site == "resid":
        return layers[layer]
    path = SITE_TABLE[normalize_architecture(architecture)][2 if site in ATTENTION_SITES else 1]
    try:
        return _get(layers[layer], path)
    except AttributeError:
        raise NescioError(
            f"site {site!r} needs {path!r}, which architecture {architecture!r} lacks; accepted sites here: resid"
        ) from None


def capture_sites(architecture: str) -> dict[str, str]:
    """Site name -> module path template for an architecture (for docs and errors)."""
    arch = normalize_architecture(architecture)
    if arch not in SITE_TABLE:
        raise NescioError(f"unknown architecture {architecture!r}; accepted: {', '.join(sorted(SITE_TABLE))}")
    layers, down, attn = SITE_TABLE[arch]
    return {
        "resid": f"{layers[0]}[L] output",
        "mlp_act": f"{layers[0]}[L].{down} input",
        "cett": f"{layers[0]}[L].{down} input, weight and output",
        "attn_logdiag": f"{layers[0]}[L].{attn} attention function's query and key",
    }
