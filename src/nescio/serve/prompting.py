"""From a validated request to the prompt the model sees (:class:`~nescio.serve.backend.Work`).

Chat messages go through the model's chat template. A request without a system message
gets nescio's system prompt (the one the guard was calibrated with), so a single question
is exactly the prompt ``nescio ask`` and the guard's calibration used; such a prompt is
``calibrated_prompt`` and only then can the stated hallucination rate be ``certified``.
Base (few-shot) models take a single question through their few-shot prompt; longer chats
need a model with a chat template. With ``--rag`` a request is one user message: the question
gets its retrieval (:func:`nescio.rag.answer.rag_questions`) and the retrieval prompt that
``nescio ask --rag`` uses.
"""

from __future__ import annotations

import re
from typing import Any

from nescio.models import prompts
from nescio.models.backend import as_backend
from nescio.serve.backend import Work
from nescio.types import MAX_QUESTION_CHARS, NescioError, check_question
from nescio.serve.protocol import ChatRequest, CompletionRequest, RequestError, Sampling



def _render_chat(lm: Any, messages: list[dict]) -> str:
    try:
        return as_backend(lm).render_chat(messages)
    except Exception:  # noqa: BLE001 - the template's own refusal, even with the system role folded in
        raise RequestError("the model's chat template cannot render these messages (roles must alternate "
                           "user/assistant and end with user)", "messages") from None


def _check_length(lm: Any, prompt: str, s: Sampling, max_prompt_chars: int, param: str):
    """The prompt tokenised (once: the Work carries it to generation), within the model's context."""
    if len(prompt) > max_prompt_chars:
        raise RequestError(f"the prompt is {len(prompt):,} characters long; accepted: at most {max_prompt_chars:,}",
                           param)
    backend = as_backend(lm)
    encoded = backend.encode([prompt])[0]
    limit = backend.max_positions
    if limit:
        n = len(encoded.ids)
        if n + s.max_tokens > limit:
            raise RequestError(f"the prompt ({n} tokens) plus max_tokens ({s.max_tokens}) exceeds the model's "
                               f"context of {limit} tokens", param)
    return encoded


def _check_question(text: str, param: str) -> str:
    """:func:`nescio.types.check_question` as a request error naming the parameter."""
    try:
        return check_question(text)
    except NescioError as exc:
        raise RequestError(f"the last user message: {exc}", param) from None


RAG_ONE_QUESTION = ("this server answers from its index (--rag): send exactly one message, with role 'user', "
                    "holding the question (no system message, no earlier turns)")


def rag_chat_work(lm: Any, rag: Any, messages: list[dict], s: Sampling, *, guarded: bool, alpha: float | None,
                  max_prompt_chars: int) -> Work:
    """One question answered from the index: the retrieval and prompt of ``nescio ask --rag``."""
    from nescio.rag.answer import rag_questions

    if len(messages) != 1:
        raise RequestError(RAG_ONE_QUESTION, "messages")
    question = rag_questions(rag, [_check_question(messages[0]["content"], "messages.0.content")])[0]
    prompt = as_backend(lm).render(question)
    encoded = _check_length(lm, prompt, s, max_prompt_chars, "messages")
    return Work(prompt=prompt, encoded=encoded, question=question.text, sampling=s, guarded=guarded, alpha=alpha,
                calibrated_prompt=True, strip=True, retrieval=question.retrieval, require_support=rag.require_support)


def chat_work(lm: Any, req: ChatRequest, s: Sampling, *, guarded: bool, alpha: float | None,
              max_prompt_chars: int, rag: Any = None) -> Work:
    """The Work for a chat request; ``rag``: the server's RagSettings (``--rag``) or None."""
    messages = []
    for i, m in enumerate(req.messages):
        role = "system" if m.role == "developer" else m.role
        messages.append({"role": role, "content": m.text(i)})
    if messages[-1]["role"] != "user":
        raise RequestError("the last message must have role 'user'", f"messages.{len(messages) - 1}.role")
    if rag is not None:
        return rag_chat_work(lm, rag, messages, s, guarded=guarded, alpha=alpha, max_prompt_chars=max_prompt_chars)
    question = _check_question(messages[-1]["content"], f"messages.{len(messages) - 1}.content")
    if lm.prompt_format != "chat":
        if len(messages) != 1:
            raise RequestError("this is a base model without a chat template: send a single user message "
                               "(or use /v1/completions)", "messages")
        prompt = as_backend(lm).render(question)
        calibrated = True
    else:
        if messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": prompts.SYSTEM_PROMPT})
        prompt = _render_chat(lm, messages)
        calibrated = len(messages) == 2 and prompt == as_backend(lm).render(question) \
            and messages[0]["content"] == prompts.SYSTEM_PROMPT
    encoded = _check_length(lm, prompt, s, max_prompt_chars, "messages")
    return Work(prompt=prompt, encoded=encoded, question=question, sampling=s, guarded=guarded, alpha=alpha,
                calibrated_prompt=calibrated, strip=True)


_FEWSHOT = re.compile(r"Question: (.+)\nAnswer:", re.S)


def completion_works(lm: Any, req: CompletionRequest, s: Sampling, *, guarded: bool, alpha: float | None,
                     max_prompt_chars: int, rag: Any = None) -> list[Work]:
    if rag is not None:
        raise RequestError("this server answers from its index (--rag): send the question to /v1/chat/completions "
                           "as one user message; /v1/completions takes ready-made prompts", "prompt")
    texts = [req.prompt] if isinstance(req.prompt, str) else list(req.prompt)
    if not texts:
        raise RequestError("prompt is empty; give a string or a non-empty list of strings", "prompt")
    if len(texts) > 16:
        raise RequestError(f"{len(texts)} prompts in one request; accepted: at most 16", "prompt")
    works = []
    prefix = prompts.fewshot_prefix()
    for i, text in enumerate(texts):
        param = "prompt" if isinstance(req.prompt, str) else f"prompt.{i}"
        if not text.strip():
            raise RequestError("prompt is empty", param)
        question, calibrated = text.strip()[-MAX_QUESTION_CHARS:], False
        if lm.prompt_format == "fewshot" and text.startswith(prefix):
            m = _FEWSHOT.fullmatch(text[len(prefix):])
            if m and "\n" not in m.group(1):
                question, calibrated = m.group(1), True
        encoded = _check_length(lm, text, s, max_prompt_chars, param)
        works.append(Work(prompt=text, encoded=encoded, question=question, sampling=s, guarded=guarded, alpha=alpha,
                          calibrated_prompt=calibrated, strip=False))
    return works
