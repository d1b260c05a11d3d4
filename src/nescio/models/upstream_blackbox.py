"""Black-box generation through an OpenAI-compatible chat API (no local weights).

What an API gives is all a black-box guard reads (UQLM's setting): the answer text, the
chosen tokens' log-probs and their top alternatives where the server offers them
(``logprobs`` / ``top_logprobs``), sampled answers (one request per sample, own seed), a
verbal confidence (a second request showing the model its answer) and P(True) (the same,
read off the first reply token's top log-probs). Token ids are unknown (``-1``); the
per-token entropy is that of the renormalised top-k (a lower bound of the full entropy's
top-k part: :func:`topk_entropy`); there are no activations.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from nescio.types import Generation, GenerationConfig, NescioError, Question

if TYPE_CHECKING:
    from nescio.models.upstream import Reply, UpstreamBackend

UNKNOWN_TOKEN = -1
TRUE_WORDS = ("true", "yes")
FALSE_WORDS = ("false", "no")


def topk_entropy(logprobs: Sequence[float]) -> float:
    """Entropy (nats) of the distribution renormalised over the given top-k log-probs."""
    finite = [x for x in logprobs if math.isfinite(x)]
    if not finite:
        return float("nan")
    m = max(finite)
    ps = [math.exp(x - m) for x in finite]
    z = sum(ps)
    return float(-sum(p / z * math.log(p / z) for p in ps if p > 0))


def _judge(question: str, answer: str, ask: str) -> list[dict]:
    return [{"role": "user", "content": f"Question: {question}\nProposed answer: {answer.strip()}\n{ask}"}]


def _p_true(reply: Reply) -> float | None:
    """P(True) from the first reply token's top log-probs (None when the server gives none)."""
    if not reply.top:
        return None
    yes = no = 0.0
    for tok, lp in reply.top[0].items():
        word = tok.strip().lower()
        if word in TRUE_WORDS:
            yes += math.exp(lp)
        elif word in FALSE_WORDS:
            no += math.exp(lp)
    return yes / (yes + no) if yes + no > 0 else None


def _generation(q: Question, messages: list[dict], r: Reply, top_k: int) -> Generation:
    lps = tuple(r.logprobs or ())
    tops = []
    for t in (r.top or ())[: len(lps)]:
        tops.append(tuple(sorted(t.values(), reverse=True))[:top_k])
    if len(tops) < len(lps):  # no top log-probs offered: the chosen token alone
        tops.extend((lp,) for lp in lps[len(tops):])
    return Generation(
        question=q, prompt="\n".join(f"{m['role']}: {m['content']}" for m in messages), text=r.text.strip(),
        token_ids=(UNKNOWN_TOKEN,) * len(lps), token_logprobs=lps,
        token_entropies=tuple(topk_entropy(t) for t in tops),
        top_k_ids=tuple((UNKNOWN_TOKEN,) * len(t) for t in tops), top_k_logprobs=tuple(tops),
        stop_reason="max_tokens" if r.finish_reason == "length" else "eos", prompt_token_count=r.prompt_tokens,
    )


def blackbox_generate(backend: UpstreamBackend, questions: Sequence[Question], config: GenerationConfig) -> list[Generation]:
    """Generations with only what the chat API returns (see the module docstring)."""
    from dataclasses import replace

    from nescio.models.generation import parse_confidence

    if config.capture:
        sites = ", ".join(sorted({c.site for c in config.capture}))
        raise NescioError(f"a black-box upstream gives no activations, and this guard's signals capture {sites}; "
                          "fit a black-box guard (nescio eval --upstream URL --blackbox)")
    top_k = min(config.top_k, 20)
    msgs = [backend._messages(q) for q in questions]
    replies = backend._map(lambda m: backend.chat(m, max_tokens=config.max_new_tokens, top_logprobs=top_k), msgs)
    gens = [_generation(q, m, r, top_k) for q, m, r in zip(questions, msgs, replies)]
    samples = backend._samples(questions, [""] * len(questions), config)
    gens = [replace(g, samples=s) for g, s in zip(gens, samples)]
    if config.verbal_confidence:
        ask = "How confident are you that the proposed answer is correct? Reply with a number from 0 to 100."
        vr = backend._map(lambda g: backend.chat(_judge(g.question.text, g.text, ask), max_tokens=8), gens)
        gens = [replace(g, verbal_confidence=parse_confidence(r.text), verbal_confidence_text=r.text)
                for g, r in zip(gens, vr)]
    if config.p_true:
        ask = "Is the proposed answer correct? Answer True or False."
        pr = backend._map(lambda g: backend.chat(_judge(g.question.text, g.text, ask), max_tokens=1, top_logprobs=20), gens)
        gens = [replace(g, p_true=_p_true(r)) for g, r in zip(gens, pr)]
    return gens
