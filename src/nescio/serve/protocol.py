"""Request bodies of the OpenAI-compatible endpoints, validated into typed parameters.

Field names and ranges follow OpenAI's chat-completions and (legacy) completions APIs.
Unknown fields are ignored, as vLLM does; fields nescio cannot honour (tools, logit_bias,
penalties, echo, ...) given with a non-default value are a 400 naming them. nescio's own
options travel in one namespaced object, ``"nescio": {"raw": bool, "alpha": float}``
(``extra_body={"nescio": {...}}`` with the ``openai`` client).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

MAX_N = 8
MAX_TOP_LOGPROBS = 20
MAX_LEGACY_LOGPROBS = 5
MAX_STOP = 4

Number = Union[StrictInt, StrictFloat]


class RequestError(Exception):
    """A bad request: OpenAI's ``invalid_request_error`` with the offending parameter."""

    def __init__(self, message: str, param: str | None = None, status: int = 400, code: str | None = None):
        super().__init__(message)
        self.message, self.param, self.status, self.code = message, param, status, code


class NescioOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raw: StrictBool = False
    alpha: Optional[Number] = None


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: StrictStr
    text: Optional[StrictStr] = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant"]
    content: Union[StrictStr, list[TextPart], None] = None

    def text(self, index: int) -> str:
        if self.content is None:
            raise RequestError(f"messages[{index}].content is missing", f"messages.{index}.content")
        if isinstance(self.content, str):
            return self.content
        parts = []
        for j, part in enumerate(self.content):
            if part.type != "text" or part.text is None:
                raise RequestError(f"messages[{index}].content[{j}] has type {part.type!r}; accepted: text parts only",
                                   f"messages.{index}.content.{j}.type")
            parts.append(part.text)
        return "".join(parts)


class _Common(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: StrictStr
    temperature: Optional[Number] = Field(None, ge=0, le=2)
    top_p: Optional[Number] = Field(None, gt=0, le=1)
    n: StrictInt = Field(1, ge=1, le=MAX_N)
    seed: Optional[StrictInt] = None
    stop: Union[StrictStr, list[StrictStr], None] = None
    stream: StrictBool = False
    stream_options: Optional[dict[str, Any]] = None
    user: Optional[StrictStr] = None
    nescio: Optional[NescioOptions] = None


class ChatRequest(_Common):
    messages: list[Message] = Field(min_length=1)
    max_tokens: Optional[StrictInt] = None
    max_completion_tokens: Optional[StrictInt] = None
    logprobs: Optional[StrictBool] = False
    top_logprobs: Optional[StrictInt] = Field(None, ge=0, le=MAX_TOP_LOGPROBS)


class CompletionRequest(_Common):
    prompt: Union[StrictStr, list[StrictStr]]
    max_tokens: Optional[StrictInt] = 16
    logprobs: Optional[StrictInt] = Field(None, ge=0, le=MAX_LEGACY_LOGPROBS)


# name -> the value that means "not used"; anything else is refused
_UNSUPPORTED = {
    "tools": (None, []), "tool_choice": (None, "none"), "functions": (None, []), "function_call": (None, "none"),
    "logit_bias": (None, {}), "presence_penalty": (None, 0, 0.0), "frequency_penalty": (None, 0, 0.0),
    "echo": (None, False), "suffix": (None, ""), "audio": (None,), "modalities": (None, ["text"]),
    "prediction": (None,),
}


@dataclass(frozen=True)
class Sampling:
    """What one request asks of generation (after defaults and caps)."""

    max_tokens: int
    temperature: float  # 0 = greedy
    top_p: float
    n: int
    seed: int | None
    stop: tuple[str, ...]
    logprobs: bool
    top_logprobs: int
    raw: bool
    alpha: float | None

    @property
    def sampled(self) -> bool:
        return self.temperature > 0


def check_unsupported(body: dict) -> None:
    for name, defaults in _UNSUPPORTED.items():
        if name in body and body[name] not in defaults:
            raise RequestError(f"{name} is not supported by nescio serve; leave it out", name)
    rf = body.get("response_format")
    if rf not in (None, {"type": "text"}):
        raise RequestError("response_format is not supported; accepted: {\"type\": \"text\"} or leave it out",
                           "response_format")
    best_of = body.get("best_of")
    if best_of not in (None, body.get("n", 1)):
        raise RequestError("best_of is not supported; leave it out or equal to n", "best_of")


def sampling(req: ChatRequest | CompletionRequest, *, default_max_tokens: int, max_tokens_cap: int) -> Sampling:
    """Resolve defaults and caps into :class:`Sampling`; a value out of range is a RequestError."""
    if isinstance(req, ChatRequest):
        if req.max_tokens is not None and req.max_completion_tokens is not None \
                and req.max_tokens != req.max_completion_tokens:
            raise RequestError("max_tokens and max_completion_tokens disagree; give one", "max_completion_tokens")
        param = "max_completion_tokens" if req.max_completion_tokens is not None else "max_tokens"
        max_tokens = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
        logprobs = bool(req.logprobs)
        top = req.top_logprobs or 0
        if top and not logprobs:
            raise RequestError("top_logprobs needs logprobs: true", "top_logprobs")
    else:
        param, max_tokens = "max_tokens", req.max_tokens
        logprobs = req.logprobs is not None
        top = req.logprobs or 0
    if max_tokens is None:
        max_tokens = default_max_tokens
    if not 1 <= max_tokens <= max_tokens_cap:
        raise RequestError(f"{param} must be between 1 and {max_tokens_cap}, got {max_tokens}", param)
    stop = (req.stop,) if isinstance(req.stop, str) else tuple(req.stop or ())
    if len(stop) > MAX_STOP or any(not s for s in stop):
        raise RequestError(f"stop takes at most {MAX_STOP} non-empty strings", "stop")
    # greedy by default: the answers a guard is calibrated on (OpenAI's default is 1)
    temperature = 0.0 if req.temperature is None else float(req.temperature)
    top_p = 1.0 if req.top_p is None else float(req.top_p)
    if temperature > 0 and top:
        raise RequestError("top_logprobs is given for greedy decoding only (temperature 0)", "top_logprobs")
    opts = req.nescio or NescioOptions()
    return Sampling(max_tokens=int(max_tokens), temperature=temperature, top_p=top_p, n=req.n, seed=req.seed,
                    stop=stop, logprobs=logprobs, top_logprobs=int(top), raw=opts.raw,
                    alpha=None if opts.alpha is None else float(opts.alpha))


_TYPE_TAGS = {"int", "float", "str", "bool", "list", "dict", "none", "is-instance"}


def validation_message(exc: Any) -> tuple[str, str | None]:
    """(message, param) for the first error of a pydantic ValidationError."""
    err = exc.errors()[0]
    loc = []
    for x in err.get("loc", ()):
        x = str(x)
        if x in _TYPE_TAGS or "[" in x or "-" in x:  # the member of a Union that failed, not a field
            break
        loc.append(x)
    param = ".".join(loc) or None
    msg = err.get("msg", "invalid value")
    if err.get("type") == "missing":
        return f"{param} is required", param
    return (f"{param}: {msg}" if param else msg), param
