"""Sampling primitives shared by every decode path: per-sample seeds and nucleus draws.

Draws are inverse-CDF with a caller-supplied uniform per row and step, so a sample is a
function of its seed alone (not of the batch it runs in).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

NUCLEUS_CANDIDATES = 256


def seed_for(seed: int, key: str, sample: int) -> int:
    """The generator seed of sample ``sample`` for prompt/question ``key`` under run seed ``seed``."""
    digest = hashlib.sha256(f"{seed}|{key}|{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _sample_sorted(sp: torch.Tensor, si: torch.Tensor, u: torch.Tensor, top_p: float) -> torch.Tensor:
    """Inverse-CDF draw from the nucleus of probabilities ``sp`` [N, K] sorted in descending order (ids ``si``)."""
    cum = sp.cumsum(-1)
    sp = sp * ((cum - sp) < top_p)
    cum = sp.cumsum(-1)
    pick = (cum < (u * cum[:, -1])[:, None]).sum(-1).clamp_max(sp.shape[-1] - 1)
    return si.gather(1, pick[:, None])[:, 0]


def nucleus_sample(probs: torch.Tensor, u: torch.Tensor, top_p: float) -> torch.Tensor:
    """Top-p sampling of one token per row of ``probs`` [N, V] with uniforms ``u`` [N] → [N].

    ``top_p >= 1`` draws from the whole distribution by inverse CDF in vocabulary order (no
    sort). Otherwise exact nucleus sampling that sorts the full vocabulary only for rows whose
    nucleus is not inside the top ``NUCLEUS_CANDIDATES`` tokens (a full sort is ~30x slower)."""
    if top_p >= 1.0:
        cum = probs.cumsum(-1)
        pick = (cum < (u * cum[:, -1])[:, None]).sum(-1).clamp_max(probs.shape[-1] - 1)
        return pick
    k = min(NUCLEUS_CANDIDATES, probs.shape[-1])
    sp, si = probs.topk(k, dim=-1)
    chosen = _sample_sorted(sp, si, u, top_p)
    wide = sp.sum(-1) < top_p
    if bool(wide.any()):
        rows = wide.nonzero()[:, 0]
        fp, fi = probs[rows].sort(dim=-1, descending=True)
        chosen[rows] = _sample_sorted(fp, fi, u[rows], top_p)
    return chosen
