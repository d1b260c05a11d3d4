"""Shared helpers of the signal tests: synthetic generations whose activations carry the
label where a fitted probe must find it (tests/test_signals_probes.py, tests/test_conformance.py)."""

from __future__ import annotations

import numpy as np

N_LAYERS = 4
SIGNAL_LAYER = 2  # the only layer whose residual stream carries the label
H_NEURONS = ((1, 3), (3, 7))  # (layer, neuron): the only CETT entries that carry the label


def synthetic_generations(n: int = 120, seed: int = 0, *, dim: int = 16, d_ffn: int = 32,
                          resid_positions=("last_prompt", "answer_mean", "entity_last"), answer_rows: int = 3,
                          answer_col: int = 1, shift: float = 4.0, cett_shift: float = 0.15, dtype=np.float16):
    """``n`` generations and their labels ``y`` (half 1, shuffled). The residual stream carries
    ``shift * (y - 0.5)`` at ``SIGNAL_LAYER`` only (entry 0 of every pooled position, entry
    ``answer_col`` of the first answer row); CETT (``answer_mean``) carries ``cett_shift * y``
    in ``H_NEURONS`` only. Every other entry is noise."""
    from nescio.types import Generation, Question

    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(float)
    rng.shuffle(y)
    gens = []
    for i in range(n):
        acts = {}
        for L in range(N_LAYERS):
            for pos in resid_positions:
                v = rng.normal(size=dim)
                if L == SIGNAL_LAYER:
                    v[0] += shift * (y[i] - 0.5)
                acts[f"resid/{L}/{pos}"] = v.astype(dtype)
            ans = rng.normal(size=(answer_rows, dim))
            if L == SIGNAL_LAYER:
                ans[0, answer_col] += shift * (y[i] - 0.5)
            acts[f"resid/{L}/answer"] = ans.astype(dtype)
            for pos in ("answer_mean", "prompt_mean"):
                c = np.abs(rng.normal(scale=0.05, size=d_ffn))
                if pos == "answer_mean":
                    for layer, neuron in H_NEURONS:
                        if L == layer:
                            c[neuron] += cett_shift * y[i]
                acts[f"cett/{L}/{pos}"] = c.astype(dtype)
        q = Question(f"q{i}", f"What about Entity{i}?", ("x",), entity=f"Entity{i}", category="fact/science")
        gens.append(Generation(q, q.text, "x", (1,), (-0.1,), (0.1,), ((1, 2),), ((-0.1, -2.0),), activations=acts))
    return gens, y
