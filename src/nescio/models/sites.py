"""Where each capture site lives in each architecture: one small table, not a file per model.

A site is read off two kinds of module per decoder layer:

- ``resid``: the decoder layer's output (residual stream after layer L),
- ``mlp_act`` and ``cett``: the FFN's ``down_proj`` (its input is the intermediate
  activation z; its output h is the FFN's contribution to the residual stream).
"""

from __future__ import annotations

from typing import Any

from nescio.types import NescioError

# architecture -> (candidate paths of the decoder-layer list, down_proj path inside a layer)
SITE_TABLE: dict[str, tuple[tuple[str, ...], str]] = {
    "llama": (("model.layers",), "mlp.down_proj"),
    "mistral": (("model.layers",), "mlp.down_proj"),
    "qwen2": (("model.layers",), "mlp.down_proj"),
    "qwen3": (("model.layers",), "mlp.down_proj"),
    "gemma2": (("model.layers",), "mlp.down_proj"),
    "gemma3": (("model.layers", "model.language_model.layers", "language_model.model.layers"), "mlp.down_proj"),
    "phi3": (("model.layers",), "mlp.down_proj"),
}

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
    """The module a site's hook attaches to: the decoder layer (resid) or its down_proj."""
    layers = decoder_layers(model, architecture)
    if not 0 <= layer < len(layers):
        raise NescioError(f"capture layer {layer} out of range; this model has layers 0..{len(layers) - 1}")
    if site == "resid":
        return layers[layer]
    path = SITE_TABLE[normalize_architecture(architecture)][1]
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
    layers, down = SITE_TABLE[arch]
    return {
        "resid": f"{layers[0]}[L] output",
        "mlp_act": f"{layers[0]}[L].{down} input",
        "cett": f"{layers[0]}[L].{down} input, weight and output",
    }
