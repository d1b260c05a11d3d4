"""Self-attention weights (the attention diagonal) read in the forward passes that generate.

The ``attn_logdiag`` capture site holds, per token t and head h of one layer, log a_tt: the
log of the attention weight of token t to itself (what LM-Polygraph's ``AttentionScore`` and
LLM-Check's attention score read; :mod:`nescio.signals.attention`).

nescio loads every model with SDPA attention, which returns no weights; asking transformers
for them (``output_attentions``) needs eager attention in *every* layer and materialises
every ``[B, H, q, k]`` matrix. Instead, :func:`tap_attention` puts a dispatcher in front of
the model's attention function (transformers' ``ALL_ATTENTION_FUNCTIONS`` entry for the
model's implementation). The dispatcher calls the original function unchanged (so the
answer is the same, token for token) and, only for the attention modules of the requested
layers, hands the query and key states that function received to a callback, which computes

    log a_tt = s_tt − logsumexp_j s_tj,   s_tj = scaling · q_t·k_j (masked as the model masks it)

for the query rows it needs (all prompt tokens, only the last one, or the greedy rows of a
decode step), in query blocks so the ``[B, H, block, k]`` scores stay small. The log is
exact (no ``+1e-12`` underflow guard is needed). Every other layer and model passes through
with one dict lookup; the dispatcher is installed while a tap is open and removed with the
last one. A model loaded with eager attention does not dispatch through that table: there a
forward hook on the attention module reads the weights it returns.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from nescio.types import NescioError

if TYPE_CHECKING:
    import torch

QUERY_BLOCK = 256
"""Query rows scored at once (bounds the ``[B, H, block, k]`` score tensor)."""

Reader = Callable[[int | None, bool], "torch.Tensor"]
"""``read(rows, last)`` → ``[rows, q, H]`` float32 log a_tt (``rows``: the first rows of the batch,
None = all; ``last``: only the call's last query token, q = 1)."""

_LOCK = threading.Lock()
_TAPS: dict[int, Callable[[Reader], None]] = {}  # id(attention module) -> callback
_INSTALLED: dict[str, tuple[int, bool, Any]] = {}  # implementation -> (users, had a local entry, that entry)


def log_self_attention(
    query: torch.Tensor, key: torch.Tensor, attention_mask: torch.Tensor | None, *, scaling: float,
    softcap: float | None = None, block: int = QUERY_BLOCK,
) -> torch.Tensor:
    """log a_tt for each query token of one attention call: ``[B, q, H]`` float32.

    ``query`` ``[B, H, q, d]`` and ``key`` ``[B, H_kv, k, d]`` as the attention function gets
    them (after RoPE; ``key`` holds the cached positions too, the query tokens being its last
    q); ``attention_mask``: None (causal), boolean (True = attend) or additive, ``[B, 1, q, ≥k]``.
    Rows the mask hides entirely (padding) come out 0, never NaN."""
    import torch

    B, H, q, _ = query.shape
    k = key.shape[2]
    if key.shape[1] != H:  # grouped-query attention: query head h reads key head h // (H / H_kv)
        key = key.repeat_interleave(H // key.shape[1], dim=1)
    keys_t = key.float().transpose(-1, -2)
    cols = torch.arange(k, device=query.device)
    out = []
    for start in range(0, q, block):
        stop = min(q, start + block)
        s = torch.matmul(query[:, :, start:stop].float(), keys_t) * scaling  # [B, H, b, k]
        if softcap:
            s = torch.tanh(s / softcap) * softcap
        t = torch.arange(start, stop, device=query.device) + (k - q)  # each query token's own key index
        if attention_mask is None:
            s = s.masked_fill(cols[None, :] > t[:, None], float("-inf"))
        else:
            m = attention_mask[:, :, start:stop, :k]
            s = s.masked_fill(~m, float("-inf")) if m.dtype == torch.bool else s + m.float()
        own = s.gather(-1, t.view(1, 1, -1, 1).expand(s.shape[0], H, -1, 1)).squeeze(-1)  # [B, H, b]
        out.append(own - torch.logsumexp(s, dim=-1))
    v = torch.cat(out, dim=-1).transpose(1, 2).contiguous()  # [B, q, H]
    return torch.where(torch.isfinite(v), v, torch.zeros_like(v))


def _dispatch_reader(module: Any, query, key, attention_mask, kwargs: dict) -> Reader:
    scaling = kwargs.get("scaling")
    if scaling is None:
        scaling = getattr(module, "scaling", None) or query.shape[-1] ** -0.5
    softcap = kwargs.get("softcap")

    def read(rows: int | None, last: bool):
        import torch

        q, k, m = query[:rows], key[:rows], attention_mask  # rows=None slices nothing
        if m is not None and m.shape[0] > 1:
            m = m[:rows]
        if last:
            q = q[:, :, -1:]
            # the newest query token reads every key unless the mask says otherwise
            m = torch.ones(1, 1, 1, k.shape[2], dtype=torch.bool, device=q.device) if m is None else m[:, :, -1:]
        return log_self_attention(q, k, m, scaling=float(scaling), softcap=softcap)

    return read


def _implementation(module: Any) -> str:
    config = getattr(module, "config", None)
    impl = getattr(config, "_attn_implementation", None)
    if not impl:
        raise NescioError(f"cannot tell the attention implementation of {type(module).__name__}")
    return impl


def _install(impl: str) -> None:
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS as table

    users, had, entry = _INSTALLED.get(impl, (0, False, None))
    if users == 0:
        had, entry = impl in table._local_mapping, table._local_mapping.get(impl)
        original = table[impl]

        def dispatch(module, query, key, value, attention_mask, *args, **kwargs):
            out = original(module, query, key, value, attention_mask, *args, **kwargs)
            tap = _TAPS.get(id(module))
            if tap is not None:
                tap(_dispatch_reader(module, query, key, attention_mask, kwargs))
            return out

        table[impl] = dispatch
    _INSTALLED[impl] = (users + 1, had, entry)


def _uninstall(impl: str) -> None:
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS as table

    users, had, entry = _INSTALLED[impl]
    if users > 1:
        _INSTALLED[impl] = (users - 1, had, entry)
        return
    del _INSTALLED[impl]
    if had:
        table[impl] = entry
    else:
        del table[impl]


class _TapHandle:
    def __init__(self, module: Any, impl: str):
        self._module, self._impl = module, impl

    def remove(self) -> None:
        with _LOCK:
            if self._module is None:
                return
            _TAPS.pop(id(self._module), None)
            _uninstall(self._impl)
            self._module = None


def _eager_hook(callback: Callable[[Reader], None]):
    def hook(mod: Any, args: tuple, output: Any) -> None:
        weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        if weights is None:
            raise NescioError(f"{type(mod).__name__} returned no attention weights; cannot read the attention diagonal")

        def read(rows: int | None, last: bool):
            import torch

            w = weights[:rows] if rows is not None else weights
            q, k = w.shape[2], w.shape[3]
            t = torch.arange(q, device=w.device) + (k - q)
            diag = w[:, :, torch.arange(q, device=w.device), t].float()  # [B, H, q]
            if last:
                diag = diag[:, :, -1:]
            return torch.log(diag.clamp_min(torch.finfo(torch.float32).tiny)).transpose(1, 2).contiguous()

        callback(read)

    return hook


def tap_attention(attention_module: Any, callback: Callable[[Reader], None]):
    """Call ``callback(read)`` on every forward of ``attention_module`` (see :data:`Reader`).

    Returns a handle whose ``remove()`` takes the tap off (and the dispatcher with the last
    tap). A module can carry one tap at a time."""
    impl = _implementation(attention_module)
    if impl == "eager":
        return attention_module.register_forward_hook(_eager_hook(callback))
    with _LOCK:
        if id(attention_module) in _TAPS:
            raise NescioError("this attention module is already tapped (one attention capture per model at a time)")
        _install(impl)
        _TAPS[id(attention_module)] = callback
    return _TapHandle(attention_module, impl)
