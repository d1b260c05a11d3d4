"""Results shaped as OpenAI responses: chat completions, completions, stream chunks, logprobs.

Each choice carries nescio's extension object under ``"nescio"``: the mode, the guard's
``action`` on the model's greedy answer, ``p_correct``, the risk level ``alpha`` and
``delta``, whether the stated rate is ``certified`` for this answer, the ``reason``, and
the model's ``raw_answer``. Log-probabilities describe the model's own tokens (the raw
answer), also when the guard shows a hedge or an abstention instead.
"""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

from nescio.serve.backend import Choice, Result, TokenInfo, Work

LOGPROB_FLOOR = -9999.0  # JSON has no -inf (vLLM uses the same floor)


def _lp(x: float) -> float:
    return x if math.isfinite(x) else LOGPROB_FLOOR


class TokenText:
    """Token id → text, cached (the text of one token, as OpenAI's ``token`` field)."""

    def __init__(self, token_text: Any):
        self.token_text = token_text  # the Backend's token_id -> text
        self._cache: dict[int, str] = {}

    def __call__(self, token_id: int) -> str:
        s = self._cache.get(token_id)
        if s is None:
            s = self._cache[token_id] = self.token_text(token_id)
        return s


def extension(result: Result, choice: Choice, work: Work, delta: float | None) -> dict:
    v = result.verdict
    return {
        "mode": "guarded" if result.guarded else "raw",
        "action": None if v is None else v.action.value,
        "p_correct": None if v is None or v.p_correct is None else float(v.p_correct),
        "alpha": result.alpha,
        "delta": delta if v is not None else None,
        "certified": result.certified,
        "reason": "no guard loaded: the raw model's answer" if v is None else v.reason,
        "raw_answer": choice.raw_answer,
        "precheck_fired": bool(v is not None and v.precheck_fired),
        "calibrated_prompt": work.calibrated_prompt,
        "sampled": result.sampled,
    }


def chat_logprobs(tokens: Sequence[TokenInfo], text_of: TokenText, top: int) -> dict:
    def entry(tid: int, lp: float) -> dict:
        s = text_of(tid)
        return {"token": s, "logprob": _lp(lp), "bytes": list(s.encode("utf-8"))}

    content = []
    for t in tokens:
        e = entry(t.token_id, t.logprob)
        e["top_logprobs"] = [entry(i, lp) for i, lp in t.top[:top]]
        content.append(e)
    return {"content": content, "refusal": None}


def legacy_logprobs(tokens: Sequence[TokenInfo], text_of: TokenText, top: int) -> dict:
    texts = [text_of(t.token_id) for t in tokens]
    offsets, pos = [], 0
    for s in texts:
        offsets.append(pos)
        pos += len(s)
    return {
        "tokens": texts,
        "token_logprobs": [_lp(t.logprob) for t in tokens],
        "top_logprobs": [{text_of(i): _lp(lp) for i, lp in t.top[:top]} for t in tokens] if top else None,
        "text_offset": offsets,
    }


def usage(results: Sequence[Result]) -> dict:
    p = sum(r.prompt_tokens for r in results)
    c = sum(r.completion_tokens for r in results)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def chat_completion(rid: str, created: int, model: str, work: Work, result: Result, text_of: TokenText,
                    delta: float | None) -> dict:
    s = work.sampling
    choices = []
    for i, c in enumerate(result.choices):
        choices.append({
            "index": i,
            "message": {"role": "assistant", "content": c.text, "refusal": None},
            "logprobs": chat_logprobs(c.tokens, text_of, s.top_logprobs) if s.logprobs else None,
            "finish_reason": c.finish_reason,
            "nescio": extension(result, c, work, delta),
        })
    return {"id": rid, "object": "chat.completion", "created": created, "model": model, "choices": choices,
            "usage": usage([result]), "system_fingerprint": None}


def completion(rid: str, created: int, model: str, works: Sequence[Work], results: Sequence[Result],
               text_of: TokenText, delta: float | None) -> dict:
    choices = []
    for work, result in zip(works, results):
        s = work.sampling
        for c in result.choices:
            choices.append({
                "index": len(choices),
                "text": c.text,
                "logprobs": legacy_logprobs(c.tokens, text_of, s.top_logprobs) if s.logprobs else None,
                "finish_reason": c.finish_reason,
                "nescio": extension(result, c, work, delta),
            })
    return {"id": rid, "object": "text_completion", "created": created, "model": model, "choices": choices,
            "usage": usage(results), "system_fingerprint": None}


def sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n\n"


DONE = b"data: [DONE]\n\n"


def chat_stream(full: dict, include_usage: bool) -> list[bytes]:
    """The chunks of a decided chat completion: role, the decided text, the finish reason, [usage]."""
    head = {k: full[k] for k in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"
    out = []
    for ch in full["choices"]:
        i = ch["index"]
        out.append(sse({**head, "choices": [{"index": i, "delta": {"role": "assistant", "content": ""},
                                              "logprobs": None, "finish_reason": None}]}))
        out.append(sse({**head, "choices": [{"index": i, "delta": {"content": ch["message"]["content"]},
                                              "logprobs": ch["logprobs"], "finish_reason": None,
                                              "nescio": ch["nescio"]}]}))
        out.append(sse({**head, "choices": [{"index": i, "delta": {}, "logprobs": None,
                                              "finish_reason": ch["finish_reason"]}]}))
    if include_usage:
        out.append(sse({**head, "choices": [], "usage": full["usage"]}))
    out.append(DONE)
    return out


def completion_stream(full: dict, include_usage: bool) -> list[bytes]:
    head = {k: full[k] for k in ("id", "object", "created", "model", "system_fingerprint")}
    out = []
    for ch in full["choices"]:
        out.append(sse({**head, "choices": [{"index": ch["index"], "text": ch["text"], "logprobs": ch["logprobs"],
                                              "finish_reason": None, "nescio": ch["nescio"]}]}))
        out.append(sse({**head, "choices": [{"index": ch["index"], "text": "", "logprobs": None,
                                              "finish_reason": ch["finish_reason"]}]}))
    if include_usage:
        out.append(sse({**head, "choices": [], "usage": full["usage"]}))
    out.append(DONE)
    return out
