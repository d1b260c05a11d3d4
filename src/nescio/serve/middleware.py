"""The HTTP layer around the routes: request ids, the catch-all 500, CORS, the request body.

- :class:`RequestId` gives every request an id: the client's ``X-Request-Id`` when it sends a
  usable one (1–128 characters of ``A-Z a-z 0-9 . _ : / + = -``), else a fresh uuid4 hex.
  It is returned in the ``X-Request-Id`` response header, held in :data:`REQUEST_ID` while
  the request runs, and written into uvicorn's access log line (:class:`RequestIdFilter`).
- :class:`CatchAll` answers an unexpected exception with OpenAI's 500 JSON and logs its
  traceback once. Starlette's own last-resort handler re-raises after answering, and uvicorn
  then closes the connection, so the client's next request on that keep-alive connection
  failed; this middleware keeps the connection.
- :func:`parse_body` parses a request body as JSON with a depth limit and refuses text that
  cannot be encoded as UTF-8 (a lone surrogate such as ``"\\ud800"``), naming the field.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from typing import Any, Sequence

from nescio.serve.protocol import RequestError
from nescio.types import NescioError

log = logging.getLogger("nescio.serve")

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("nescio_request_id", default="-")
_GOOD_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
MAX_DEPTH = 64  # nesting of JSON arrays/objects in a request body (an OpenAI request needs about 5)
_SURROGATE = re.compile("[\ud800-\udfff]")


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class RequestId:
    """ASGI middleware: the request's id in :data:`REQUEST_ID` and the ``X-Request-Id`` response header."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = ""
        for k, v in scope.get("headers", ()):
            if k == b"x-request-id":
                given = v.decode("latin-1").strip()
                break
        rid = given if _GOOD_ID.fullmatch(given) else uuid.uuid4().hex
        header = (b"x-request-id", rid.encode("ascii"))

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = REQUEST_ID.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


class CatchAll:
    """ASGI middleware: any exception the routes let through → OpenAI's 500 JSON, logged once,
    the connection kept. (One that comes after the response started can only end the response.)"""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:  # noqa: BLE001 - the last resort: every error becomes an answer
            log.exception("internal error on %s %s (request id %s)", scope.get("method"), scope.get("path"),
                          REQUEST_ID.get())
            if started:  # half a response is out: nothing valid can follow on this connection
                return
            from starlette.responses import JSONResponse

            body = error_body("internal server error; see the server log", "server_error")
            await JSONResponse(body, status_code=500)(scope, receive, send)


class RequestIdFilter(logging.Filter):
    """Puts the request id (``-`` outside a request) on log records as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def check_origins(origins: Sequence[str]) -> tuple[str, ...]:
    """The ``--cors-origin`` values, each ``*`` or ``scheme://host[:port]`` (what browsers send as Origin)."""
    out = []
    for o in origins:
        if o != "*" and not re.fullmatch(r"https?://[^/\s]+", o):
            raise NescioError(f"bad --cors-origin {o!r}; accepted: scheme://host[:port] without a path "
                              "(e.g. https://app.example.com) or *")
        out.append(o)
    return tuple(out)


def install_middleware(app: Any, cors_origins: Sequence[str] = ()) -> None:
    """Outermost last: CORS (only with ``cors_origins``; error responses carry its headers too),
    then the request id, then the catch-all 500 around the routes."""
    app.add_middleware(CatchAll)
    app.add_middleware(RequestId)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
                           expose_headers=["X-Request-Id", "Retry-After"])


# ---------------------------------------------------------------------- the request body
def _path(parts: Sequence[Any]) -> str:
    return ".".join(str(p) for p in parts) or "body"


def check_text(obj: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and strings (keys too) that are not valid
    Unicode text (lone surrogates: they cannot be encoded as UTF-8); walks without recursion."""
    stack: list[tuple[Any, tuple, int]] = [(obj, (), 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                name = _path(where)
                raise RequestError(f"{name} is not valid text: it holds a lone UTF-16 surrogate (an escape like "
                                   "\\ud800 without its pair), which cannot be encoded as UTF-8", name)
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth >= MAX_DEPTH:
            raise RequestError(f"request body nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            for k, v in node.items():
                if _SURROGATE.search(k):
                    name = _path(where + (k.encode("utf-8", "backslashreplace").decode(),))
                    raise RequestError(f"the key {name} is not valid text: it holds a lone UTF-16 surrogate, "
                                       "which cannot be encoded as UTF-8", name)
                stack.append((v, where + (k,), depth + 1))
        else:
            stack.extend((v, where + (i,), depth + 1) for i, v in enumerate(node))


def parse_body(raw: bytes) -> dict:
    """A request body as a JSON object, or a RequestError (400) saying what is wrong with it."""
    try:
        body = json.loads(raw)
    except RecursionError:
        raise RequestError(f"request body nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise RequestError("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    check_text(body)
    return body
