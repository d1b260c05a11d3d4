"""Black-box guards: fitted on what an API model returns, for an upstream without local weights.

An OpenAI-compatible API gives the answer text, the chosen tokens' log-probs and their top
alternatives (≤ 20, where offered), sampled answers and what a second request says (a verbal
confidence, P(True) read off the first reply token's top log-probs): UQLM's setting. It gives
no activations and no full next-token distribution, so the residual probes and the
knowability pre-check (a residual-stream probe) are out; entropies are those of the
renormalised top-k (:func:`nescio.models.upstream_blackbox.topk_entropy`).
``nescio eval --upstream URL --blackbox`` fits one; ``guard.json`` records ``dtype: "api"``.
"""

from __future__ import annotations

from typing import Any

BLACKBOX_SIGNALS = (
    "sequence_nll", "mean_token_nll", "max_token_nll", "one_minus_first_token_margin",
    "sample_disagreement", "semantic_entropy", "one_minus_verbal_confidence",
)
"""The registry signals an API can feed: log-prob aggregates, sampled-answer consistency, verbal confidence."""


def blackbox_guard(**kwargs: Any):
    """A :class:`~nescio.policy.guard.Guard` on :data:`BLACKBOX_SIGNALS`, without the pre-check."""
    from nescio.policy.guard import Guard

    kwargs.setdefault("signals", BLACKBOX_SIGNALS)
    kwargs.setdefault("use_precheck", False)
    return Guard(**kwargs)
