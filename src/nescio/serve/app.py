"""The FastAPI application: OpenAI-compatible endpoints over one model and an optional guard.

Endpoints: ``GET /v1/models`` (and ``/v1/models/{id}``), ``POST /v1/chat/completions``,
``POST /v1/completions``, ``GET /health`` (never needs a key), ``GET /metrics``
(Prometheus text). Errors are OpenAI's ``{"error": {"message", "type", "param", "code"}}``
with statuses 400/401/404/405/413/429/500/503/504; a traceback is logged, never sent, and
no error closes a keep-alive connection (:mod:`nescio.serve.middleware`). Every response
carries an ``X-Request-Id``; CORS headers only for the ``--cors-origin`` allow-list.

The routes are module-level functions on one :data:`router`; what they share (the model,
the guard's view, the engine, the metrics, the settings) is one :class:`ServeState` that
:func:`create_app` builds and stores as ``app.state.nescio`` and each route receives
through the :func:`state` dependency.

FastAPI resolves handler annotations at import time, so this module imports fastapi at the
top; it is itself imported only when a server is built.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Sequence

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from nescio.models.upstream import UpstreamError
from nescio.serve import prompting, responses
from nescio.serve.backend import Result
from nescio.serve.engine import Draining, Engine, Job, QueueFull
from nescio.serve.guarding import GuardView
from nescio.serve.metrics import Metrics
from nescio.serve.middleware import REQUEST_ID, check_origins, install_middleware, parse_body
from nescio.serve.protocol import (
    ChatRequest,
    CompletionRequest,
    RequestError,
    Sampling,
    check_unsupported,
    sampling,
    validation_message,
)
from nescio.types import NescioError

log = logging.getLogger("nescio.serve")


@dataclass(frozen=True)
class ServeConfig:
    """Server limits and identity (``nescio serve`` options)."""

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_batch: int = 16
    max_queue: int = 256
    timeout_s: float = 120.0  # per request, from acceptance to its answer → 504
    max_body_bytes: int = 1_000_000  # → 413
    max_tokens_cap: int = 512
    max_prompt_chars: int = 16_000
    served_model_name: str | None = None
    precheck_first: bool = True  # pre-check on a prefill-only pass; blocked requests are never generated for
    access_log: bool = False  # uvicorn's access log, one line per request with its id
    cors_origins: tuple[str, ...] = ()  # browser origins allowed by CORS (none: no CORS headers)
    batching: str = "continuous"  # or "micro" (see nescio.serve.engine)

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_queue", "max_body_bytes", "max_tokens_cap", "max_prompt_chars"):
            if int(getattr(self, name)) < 1:
                raise NescioError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.timeout_s > 0:
            raise NescioError(f"timeout must be positive, got {self.timeout_s}")
        if not 0 <= int(self.port) <= 65535:
            raise NescioError(f"port must be between 0 and 65535, got {self.port}")
        object.__setattr__(self, "cors_origins", check_origins(tuple(self.cors_origins)))


@dataclass
class ServeStats:
    """Request counts logged when the server drains."""

    accepted: int = 0
    answered: int = 0
    abandoned: int = 0  # the client went away before its answer


@dataclass(frozen=True)
class ServeState:
    """What the routes share, built once by :func:`create_app` (``app.state.nescio``)."""

    backend: Any  # the model's Backend (nescio.models.backend)
    view: GuardView | None  # the guard as the server sees it (None: the raw model)
    config: ServeConfig
    rag: Any  # RagSettings (``--rag``) or None
    engine: Engine
    metrics: Metrics
    model_name: str  # the name clients send as ``model``
    default_max_tokens: int
    text_of: responses.TokenText
    created: int = field(default_factory=lambda: int(time.time()))
    stats: ServeStats = field(default_factory=ServeStats)

    @property
    def api_key(self) -> bytes | None:
        return self.config.api_key.encode() if self.config.api_key else None

    @property
    def delta(self) -> float | None:
        return self.view.delta if self.view is not None else None


def state(request: Request) -> ServeState:
    """The route dependency: the :class:`ServeState` of the app serving ``request``."""
    return request.app.state.nescio


State = Annotated[ServeState, Depends(state)]


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str | None = None, param: str | None = None,
                 code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code
        self.headers = headers or {}


_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "invalid_request_error",
          413: "invalid_request_error", 429: "rate_limit_error", 500: "server_error", 503: "server_error",
          504: "timeout_error"}


def error_response(status: int, message: str, type_: str | None = None, param: str | None = None,
                   code: str | None = None, headers: dict | None = None):
    body = {"error": {"message": message, "type": type_ or _TYPES.get(status, "invalid_request_error"),
                      "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


# ---------------------------------------------------------------------- errors
async def _api_error(request: Request, exc: ApiError):
    return error_response(exc.status, exc.message, exc.type, exc.param, exc.code, exc.headers)


async def _http_error(request: Request, exc: StarletteHTTPException):
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # the router names the allowed methods in the Allow header
        msg = f"method {request.method} is not allowed on {request.url.path}; accepted: {headers.get('Allow', '')}"
    elif exc.status_code == 404:
        msg = f"no route {request.method} {request.url.path}"
    else:
        msg = str(exc.detail)
    return error_response(exc.status_code, msg, headers=headers or None)


async def _validation_error(request: Request, exc: RequestValidationError):
    msg, param = validation_message(exc)
    return error_response(400, msg, param=param)


# ---------------------------------------------------------------------- request steps
def check_auth(st: ServeState, request: Request) -> None:
    key = st.api_key
    if key is None:
        return
    header = request.headers.get("authorization", "")
    given = header[7:].strip().encode() if header[:7].lower() == "bearer " else b""
    if not hmac.compare_digest(given, key):
        raise ApiError(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                       code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


async def read_json(st: ServeState, request: Request) -> dict:
    limit = st.config.max_body_bytes
    declared = request.headers.get("content-length", "")
    too_big = declared.isdigit() and int(declared) > limit
    chunks, size = [], 0
    async for chunk in request.stream():  # read (and drop) the rest so the client sees the answer
        size += len(chunk)
        if size > limit:
            too_big = True
        if not too_big:
            chunks.append(chunk)
        if size > 16 * limit:
            break
    if too_big:
        raise ApiError(413, f"request body is larger than {limit:,} bytes", code="request_too_large")
    return parse_body(b"".join(chunks))  # 400: not JSON, not an object, nested too deep, not UTF-8 text


def parse(cls, body: dict):
    try:
        check_unsupported(body)
        return cls.model_validate(body)
    except ValidationError as exc:
        msg, param = validation_message(exc)
        raise ApiError(400, msg, param=param) from None


def check_model(st: ServeState, name: str) -> None:
    if name != st.model_name:
        raise ApiError(404, f"model {name!r} does not exist; accepted: {st.model_name!r}", param="model",
                       code="model_not_found")


def resolve(st: ServeState, req) -> tuple[Sampling, bool, float | None]:
    """(sampling, guarded, alpha) of a validated request."""
    s = sampling(req, default_max_tokens=st.default_max_tokens, max_tokens_cap=st.config.max_tokens_cap)
    if st.view is None:
        if s.alpha is not None:
            raise RequestError("nescio.alpha needs a guard; this server serves the raw model", "nescio.alpha")
        return s, False, None
    return s, not s.raw, st.view.check_alpha(s.alpha)


async def wait(st: ServeState, request: Request, job: Job) -> Result | None:
    """The job's result; None when the client went away (the job is cancelled)."""
    timeout_s = st.config.timeout_s
    deadline = job.enqueued + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            st.engine.cancel(job)
            raise ApiError(504, f"no answer within the request timeout of {timeout_s:g} s", code="timeout")
        done, _ = await asyncio.wait({job.future}, timeout=min(0.25, remaining))
        if done:
            if job.started is not None:
                st.metrics.queue_wait.observe(job.started - job.enqueued)
            exc = job.future.exception()
            if isinstance(exc, UpstreamError):  # 502 (unreachable, 5xx, malformed) or 504 (timed out)
                raise ApiError(exc.status, str(exc), type_="upstream_error",
                               code="upstream_timeout" if exc.status == 504 else "upstream_unavailable")
            if isinstance(exc, (NescioError, RequestError)):
                raise ApiError(400, str(exc))
            if exc is not None:  # the worker logged the traceback; this says which request it cost
                log.error("request id %s: answered 500, its batch failed in the model worker", REQUEST_ID.get())
                raise ApiError(500, "the model worker failed on this batch; see the server log")
            return job.future.result()
        if await request.is_disconnected():
            st.engine.cancel(job)
            return None


async def submit_all(st: ServeState, request: Request, works) -> list[Result] | None:
    """Queue every work of one request and wait for all; None when the client went away."""
    engine, stats = st.engine, st.stats
    loop = asyncio.get_running_loop()
    jobs = []
    try:
        for w in works:
            jobs.append(engine.submit(w, loop))
    except QueueFull as exc:
        for j in jobs:
            engine.cancel(j)
        raise ApiError(429, str(exc), code="queue_full", headers={"Retry-After": str(exc.retry_after)}) from None
    except Draining:
        for j in jobs:
            engine.cancel(j)
        raise ApiError(503, "the server is shutting down", code="shutting_down") from None
    stats.accepted += 1
    try:
        results = []
        for j in jobs:
            r = await wait(st, request, j)
            if r is None:  # the client went away: drop the others too
                for other in jobs:
                    engine.cancel(other)
                stats.abandoned += 1
                return None
            results.append(r)
    except BaseException:
        for other in jobs:
            engine.cancel(other)
        stats.answered += 1
        raise
    stats.answered += 1
    return results


def record(metrics: Metrics, results: Sequence[Result]) -> None:
    """Token counts and one decision per choice shown (``raw``: raw mode or no guard)."""
    for r in results:
        metrics.prompt_tokens.inc(r.prompt_tokens)
        metrics.completion_tokens.inc(r.completion_tokens)
        action = r.verdict.action.value if r.guarded and r.verdict is not None else "raw"
        metrics.decisions.labels(action=action).inc(len(r.choices))


async def endpoint(st: ServeState, name: str, request: Request, handler):
    """Run ``handler(request)`` behind the API key, counting the request and timing a 200."""
    metrics = st.metrics
    t0 = time.monotonic()
    status = 500
    try:
        check_auth(st, request)
        response = await handler(request)
        status = response.status_code
        if status == 200:
            metrics.latency.labels(endpoint=name).observe(time.monotonic() - t0)
        return response
    except RequestError as exc:
        status = exc.status
        raise ApiError(exc.status, exc.message, param=exc.param, code=exc.code) from None
    except ApiError as exc:
        status = exc.status
        raise
    except NescioError as exc:
        status = 400
        raise ApiError(400, str(exc)) from None
    finally:
        metrics.requests.labels(endpoint=name, status=str(status)).inc()


def reply(full: dict, stream: bool, include_usage: bool, chunks_fn):
    if not stream:
        return JSONResponse(full)
    return StreamingResponse(iter(chunks_fn(full, include_usage)), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


def model_card(st: ServeState) -> dict:
    view, rag = st.view, st.rag
    card = {"id": st.model_name, "object": "model", "created": st.created, "owned_by": "nescio",
            "nescio": {"model_id": str(st.backend.model_id), "prompt_format": st.backend.prompt_format, "guard": view is not None,
                       "rag": None if rag is None else {"index": rag.index, "k": rag.k, "no_evidence": rag.no_evidence}}}
    if view is not None:
        card["nescio"].update(alpha=view.default_alpha, delta=view.delta, certified_levels=list(view.levels),
                              precheck=view.has_precheck, precheck_first=view.precheck_first)
    return card


# ---------------------------------------------------------------------- routes
router = APIRouter()


def token_texts(st: ServeState, req) -> responses.TokenText:
    """How log-probs name tokens: their text, or ``token_id:N`` when the request sets vLLM's
    ``return_tokens_as_token_ids`` (an upstream nescio reads the ids back exactly)."""
    if (req.model_extra or {}).get("return_tokens_as_token_ids") is True:
        return lambda token_id: f"token_id:{int(token_id)}"
    return st.text_of


async def _chat(st: ServeState, request: Request):
    req = parse(ChatRequest, await read_json(st, request))
    check_model(st, req.model)
    s, guarded, alpha = resolve(st, req)
    kw = dict(guarded=guarded, alpha=alpha, max_prompt_chars=st.config.max_prompt_chars, rag=st.rag)
    if st.rag is None:
        work = prompting.chat_work(st.backend, req, s, **kw)
    else:  # retrieval (index search, MiniLM) off the event loop
        work = await asyncio.to_thread(prompting.chat_work, st.backend, req, s, **kw)
    results = await submit_all(st, request, [work])
    if results is None:
        return Response(status_code=499)
    full = responses.chat_completion(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), st.model_name, work,
                                     results[0], token_texts(st, req), st.delta)
    record(st.metrics, results)
    return reply(full, req.stream, bool((req.stream_options or {}).get("include_usage")), responses.chat_stream)


async def _completions(st: ServeState, request: Request):
    req = parse(CompletionRequest, await read_json(st, request))
    check_model(st, req.model)
    s, guarded, alpha = resolve(st, req)
    works = prompting.completion_works(st.backend, req, s, guarded=guarded, alpha=alpha,
                                       max_prompt_chars=st.config.max_prompt_chars, rag=st.rag)
    results = await submit_all(st, request, works)
    if results is None:
        return Response(status_code=499)
    full = responses.completion(f"cmpl-{uuid.uuid4().hex}", int(time.time()), st.model_name, works, results,
                                token_texts(st, req), st.delta)
    record(st.metrics, results)
    return reply(full, req.stream, bool((req.stream_options or {}).get("include_usage")),
                 responses.completion_stream)


@router.post("/v1/chat/completions")
async def chat_completions(request: Request, st: State):
    return await endpoint(st, "chat", request, lambda r: _chat(st, r))


@router.post("/v1/completions")
async def completions(request: Request, st: State):
    return await endpoint(st, "completions", request, lambda r: _completions(st, r))


@router.get("/v1/models")
async def list_models(request: Request, st: State):
    async def h(_):
        return JSONResponse({"object": "list", "data": [model_card(st)]})
    return await endpoint(st, "models", request, h)


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, request: Request, st: State):
    async def h(_):
        check_model(st, model_id)
        return JSONResponse(model_card(st))
    return await endpoint(st, "models", request, h)


@router.get("/health")
async def health(st: State):
    body = {"status": "ok", "model": st.model_name, "guard": st.view is not None, "rag": st.rag is not None,
            "queue_depth": st.engine.depth, "max_queue": st.config.max_queue}
    probe = getattr(st.backend, "health", None)
    if probe is None:
        return body
    body["upstream"] = await asyncio.get_running_loop().run_in_executor(None, probe)  # --upstream: is it answering?
    if body["upstream"]["status"] != "up":
        body["status"] = "upstream_down"
        return JSONResponse(body, status_code=503)
    return body


@router.get("/metrics")
async def prometheus(request: Request, st: State):
    async def h(_):
        body, ctype = st.metrics.render()
        return Response(body, media_type=ctype)
    return await endpoint(st, "metrics", request, h)


# ---------------------------------------------------------------------- the app
@asynccontextmanager
async def _lifespan(app: FastAPI):
    st: ServeState = app.state.nescio
    st.engine.start()
    yield
    # uvicorn has waited for every open request; the worker finishes anything still queued
    await asyncio.get_running_loop().run_in_executor(None, st.engine.stop)
    log.info("nescio serve: drained; accepted %d requests, answered %d, abandoned by the client %d",
             st.stats.accepted, st.stats.answered, st.stats.abandoned)


def create_app(lm: Any, guard: Any = None, config: ServeConfig | None = None, rag: Any = None) -> FastAPI:
    """The ASGI app serving ``lm`` (a Backend, LoadedModel or spec) guarded by ``guard`` (a fitted Guard, or None);
    ``rag``: a :class:`~nescio.rag.answer.RagSettings` to answer from its index (``--rag``), or None."""
    from nescio.models.backend import as_backend

    lm = as_backend(lm)
    config = config or ServeConfig()
    view = GuardView(guard, precheck_first=config.precheck_first) if guard is not None else None
    if view is not None and str(getattr(guard, "model_id_", lm.model_id)) != str(lm.model_id):
        raise NescioError(f"the guard was fitted for model {guard.model_id_}, not {lm.model_id}; fit a guard for this model")
    metrics = Metrics()
    engine = Engine(lm, view, max_batch=config.max_batch, max_queue=config.max_queue, on_batch=metrics.observe_batch,
                    batching=config.batching)
    metrics.bind(engine)
    st = ServeState(backend=lm, view=view, config=config, rag=rag, engine=engine, metrics=metrics,
                    model_name=config.served_model_name or lm.spec,
                    default_max_tokens=min(view.config.max_new_tokens if view else 256, config.max_tokens_cap),
                    text_of=responses.TokenText(lm.token_text))
    app = FastAPI(title="nescio", lifespan=_lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.nescio = st
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(router)
    install_middleware(app, config.cors_origins)
    return app
