"""Attention-based signals (family ``attention``): the attention of each token to itself.

Both read the ``attn_logdiag`` capture (log a_tt per token and head of the middle layer,
computed inside the greedy pass: :mod:`nescio.models.attention`; cost 0 extra forward passes)
and are oriented higher = more likely hallucinated: a model that attends less to the tokens
it reads (lower self-attention, a smaller log-determinant of the attention kernel) is taken
to be less sure, as LM-Polygraph orients it.

- ``attention_score`` is LM-Polygraph's ``AttentionScore`` (IINemo/lm-polygraph,
  ``src/lm_polygraph/estimators/attention_score.py``, default ``gen_only=False``; after
  Sriramanan et al. 2024, "LLM-Check", https://openreview.net/forum?id=LYx4w3CAgy):
  ``−(1/H) Σ_h Σ_t log a_tt`` over the middle layer (``num_hidden_layers // 2``) and every
  token of prompt and answer. LM-Polygraph runs a separate forward pass over prompt + greedy
  tokens with ``output_attentions``; here the prompt part is the prefill (its mean over prompt
  tokens times the prompt length) and the answer part the decode steps (every answer token
  fed back to the model: the stop token is never fed, nor the last token of an answer cut at
  ``max_new_tokens``). LM-Polygraph takes ``log(a_tt + 1e-12)``; the log here is computed
  exactly (``s_tt − logsumexp_j s_tj``), which differs only where a_tt < 1e-10.
- ``attention_score_answer`` reads the answer tokens only, averaged (LLM-Check's attention
  score on the response span, ``mean_t log a_tt``, averaged over heads):
  ``−(1/H) Σ_h mean_t log a_tt``. NaN for an empty answer.

The layer read is the middle one of the layers captured for the site ("middle" capture,
or "all": both give ``n_layers // 2``). No capture at all is a NescioError naming it; a
generation without the capture (or a NaN capture) is NaN.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from nescio.signals.spec import SignalInfo, SignalNeeds
from nescio.types import CaptureSpec, Generation, NescioError

SITE = "attn_logdiag"
_KEY = re.compile(rf"^{SITE}/(\d+)/(\w+)$")


def _layer(g: Generation, position: str) -> int | None:
    """The middle of the layers captured for ``position`` in ``g`` (None when none are)."""
    layers = sorted(int(m.group(1)) for k in g.activations if (m := _KEY.match(k)) and m.group(2) == position)
    return layers[len(layers) // 2] if layers else None


def _read(g: Generation, layer: int, position: str) -> np.ndarray:
    return np.asarray(g.activations[f"{SITE}/{layer}/{position}"], dtype=np.float64)


def _full_sequence(g: Generation) -> float:
    layer = _layer(g, "answer")
    if layer is None or f"{SITE}/{layer}/prompt_mean" not in g.activations:
        return float("nan")
    prompt = _read(g, layer, "prompt_mean").reshape(-1)  # [H] mean over prompt tokens
    answer = _read(g, layer, "answer").reshape(-1, prompt.size)  # [T, H]
    per_head = prompt * g.prompt_token_count + answer.sum(axis=0)
    return float(-per_head.mean())


def _answer_mean(g: Generation) -> float:
    layer = _layer(g, "answer")
    if layer is None:
        return float("nan")
    answer = _read(g, layer, "answer")
    if answer.ndim != 2 or answer.shape[0] == 0:
        return float("nan")
    return float(-answer.mean(axis=0).mean())


def _check_captured(generations: Sequence[Generation], positions: tuple[str, ...], name: str) -> None:
    if generations and not any(_KEY.match(k) for g in generations for k in g.activations):
        raise NescioError(f"signal {name!r} reads the {SITE!r} capture, which these generations lack; generate with "
                          f"CaptureSpec({SITE!r}, 'middle', {positions!r}) (nescio.signals.capture_needs does this)")


def _signal(name: str, fn, positions: tuple[str, ...]):
    def run(generations: Sequence[Generation]) -> np.ndarray:
        _check_captured(generations, positions, name)
        return np.array([fn(g) for g in generations], dtype=float)

    run.__name__ = name
    run.__doc__ = fn.__doc__
    return run


FULL_POSITIONS = ("prompt_mean", "answer")
ANSWER_POSITIONS = ("answer",)

SIGNALS = (
    SignalInfo("attention_score", "attention",
               "LM-Polygraph's AttentionScore: minus the head-mean of the summed log self-attention a_tt over prompt "
               "and answer tokens, middle layer",
               needs=SignalNeeds(capture=(CaptureSpec(SITE, "middle", FULL_POSITIONS),)),
               compute=_signal("attention_score", _full_sequence, FULL_POSITIONS), cost=0.0),
    SignalInfo("attention_score_answer", "attention",
               "LLM-Check's attention score on the answer: minus the mean log self-attention a_tt over answer tokens "
               "and heads, middle layer",
               needs=SignalNeeds(capture=(CaptureSpec(SITE, "middle", ANSWER_POSITIONS),)),
               compute=_signal("attention_score_answer", _answer_mean, ANSWER_POSITIONS), cost=0.0),
)
