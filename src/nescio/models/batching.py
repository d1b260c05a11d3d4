"""Continuous batching: join newly prefilled prompts into a running :class:`DecodeState`.

A server keeps one running state; when requests arrive it prefills them (``prefill``)
and calls :func:`join_states`; the next ``decode_step`` advances old and new rows together,
and each row still finishes on its own (own stop tokens, own ``max_new_tokens``). Joining
left-pads the shorter KV cache with masked zeros, so every row attends to exactly its own
tokens: a joined row gives the tokens it gives alone (equal up to float rounding of the
larger batch, tested). The new prompts' rows get row indices after the running ones; the
running state's ``results()`` then covers both.

Limits: full KV caches only (models with sliding-window layers, such as Gemma 3, are
refused), no capture on either state, and both states must share temperature, top_p,
top_k and the newline stop.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from nescio.models.decode import DecodeState, _feed
from nescio.types import NescioError

if TYPE_CHECKING:
    import torch

    from nescio.models.load import LoadedModel


def _left_pad(x: torch.Tensor, length: int, dim: int) -> torch.Tensor:
    import torch

    missing = length - x.shape[dim]
    if missing == 0:
        return x
    shape = list(x.shape)
    shape[dim] = missing
    return torch.cat([x.new_zeros(shape), x], dim=dim)


def join_states(lm: LoadedModel, running: DecodeState, new: DecodeState) -> DecodeState:
    """Add ``new``'s rows to ``running`` (in place; returns ``running``). ``new`` must not be used afterwards."""
    import torch

    a, b = running, new
    for state, name in ((a, "running"), (b, "new")):
        if state.done:
            raise NescioError(f"join_states: the {name} state has finished")
        if state.capture is not None:
            raise NescioError("join_states: states with a capture cannot be joined")
    if (a.temperature, a.top_p, a.top_k, a.stop_newline) != (b.temperature, b.top_p, b.top_k, b.stop_newline):
        raise NescioError("join_states: both states need the same temperature, top_p, top_k and stop_newline")
    layers_a, layers_b = getattr(a.cache, "layers", None), getattr(b.cache, "layers", None)
    if layers_a is None or layers_b is None or any(l.is_sliding for l in (*layers_a, *layers_b)):
        raise NescioError("join_states needs full KV caches; this model has sliding-window layers")
    with torch.inference_mode():
        for state in (a, b):  # both at "logits ready": feed what the last step chose
            if state.pending is not None:
                _feed(lm, state)
        T = max(a.attn.shape[1], b.attn.shape[1])
        n_a, n_b = a.active.shape[0], b.active.shape[0]
        for la, lb in zip(layers_a, layers_b):
            la.keys = torch.cat([_left_pad(la.keys, T, 2), _left_pad(lb.keys, T, 2)], dim=0)
            la.values = torch.cat([_left_pad(la.values, T, 2), _left_pad(lb.values, T, 2)], dim=0)
        attn = torch.cat([_left_pad(a.attn, T, 1), _left_pad(b.attn, T, 1)], dim=0)
        logits = torch.cat([a.logits, b.logits], dim=0)
        pos = torch.cat([a.pos, b.pos], dim=0)
        R_a = len(a.buffers)
        active = torch.cat([a.active, b.active + R_a], dim=0)
        # greedy rows first: [running greedy, new greedy, running sampled, new sampled]
        dev = a.active.device
        order = torch.cat([
            torch.arange(a.n_greedy), n_a + torch.arange(b.n_greedy),
            torch.arange(a.n_greedy, n_a), n_a + torch.arange(b.n_greedy, n_b),
        ]).to(dev)
        a.cache.reorder_cache(order)
        a.attn, a.logits, a.pos, a.active = attn[order], logits[order], pos[order], active[order]
        a.n_greedy += b.n_greedy
        n_prompts = len(a.prompt_lengths)
        a.row_prompt = torch.cat([a.row_prompt, b.row_prompt + n_prompts])
        width = max(a.uniforms.shape[1], b.uniforms.shape[1])
        pad = lambda u: torch.cat([u, u.new_zeros(u.shape[0], width - u.shape[1])], dim=1)  # noqa: E731
        a.uniforms = torch.cat([pad(a.uniforms), pad(b.uniforms)], dim=0)
        for buf in b.buffers:
            buf.prompt += n_prompts
        for r, row in b.finished.items():
            a.finished[r + R_a] = replace(row, row=r + R_a, prompt=row.prompt + n_prompts)
        a.buffers.extend(b.buffers)
        a.prompt_lengths.extend(b.prompt_lengths)
    b.cache, b.logits = None, None
    return a
