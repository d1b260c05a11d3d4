"""``nescio serve``: load the model (and the guard fitted for it), then run uvicorn.

SIGTERM / Ctrl-C: uvicorn stops accepting connections and waits for every open request;
the model worker finishes each accepted one, then the process exits.
"""

from __future__ import annotations

import copy
import errno
import logging
import os
import signal
import socket
from pathlib import Path

from nescio.serve.app import ServeConfig, create_app
from nescio.types import NescioError

log = logging.getLogger("nescio.serve")


def load_for_serving(model: str, guard_dir: str | Path | None, *, threads: int | None = None, upstream=None):
    """The model's Backend and its fitted guard (None without ``guard_dir``); a guard fitted for
    another model is refused. ``threads``: torch CPU threads (default: nescio's choice).
    ``upstream`` (:class:`~nescio.models.upstream.UpstreamSettings`): generation by that server,
    ``model`` the same weights here (refused when the identity check fails)."""
    from nescio.models import load_model
    from nescio.models.backend import HFBackend
    from nescio.pipeline import check_guard
    from nescio.policy.guard import Guard

    if upstream is not None and upstream.blackbox:
        raise NescioError("nescio serve --upstream needs the model's weights here (--model); black-box serving is "
                          "not supported yet (use nescio eval / ask --upstream URL --blackbox)")
    lm = load_model(model, threads=threads)
    backend = HFBackend(lm)
    if upstream is not None:
        from nescio.models.upstream import connect, describe

        backend = connect(upstream, backend)
        log.info("%s", describe(backend))
    guard = None
    if guard_dir is not None:
        if not (Path(guard_dir) / "guard.json").is_file():
            raise NescioError(f"no guard in {str(guard_dir)!r} (guard.json missing); give a directory written by "
                              "Guard.save or nescio eval (…/guard)")
        guard = Guard.load(guard_dir, model_id=str(lm.model_id))
        check_guard(lm, guard)  # in another dtype than it was fitted in: refused at start unless its probes agree
    return backend, guard


def check_port(host: str, port: int) -> None:
    """Refuse a port another process holds, before anything slow (the model) loads."""
    if not port:  # 0: the system picks a free one
        return
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise NescioError(f"cannot resolve --host {host!r}: {exc.strerror}; give an address such as 127.0.0.1") from None
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            s.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise NescioError(f"port {port} on {host} is in use; pick another with --port") from None
            raise NescioError(f"cannot bind port {port} on {host}: {exc.strerror}; pick another --host or --port") from None


def api_key_from(api_key: str | None, api_key_file: str | Path | None) -> str | None:
    """The API key: ``--api-key``, else the first line of ``--api-key-file``, else ``$NESCIO_API_KEY``
    (None: no key). The file and the environment keep the key out of ``ps``."""
    if api_key and api_key_file:
        raise NescioError("give --api-key or --api-key-file, not both")
    if api_key_file:
        from nescio.params import key_file

        return key_file(api_key_file, "--api-key-file")
    return api_key or os.environ.get("NESCIO_API_KEY") or None


def uvicorn_options(config: ServeConfig, log_level: str = "info") -> dict:
    """uvicorn.Config keywords: the access log (``config.access_log``) with each line's request id."""
    from uvicorn.config import LOGGING_CONFIG

    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["formatters"]["access"]["fmt"] += " request_id=%(request_id)s"
    log_config.setdefault("filters", {})["request_id"] = {"()": "nescio.serve.middleware.RequestIdFilter"}
    log_config["handlers"]["access"]["filters"] = ["request_id"]
    return dict(host=config.host, port=config.port, log_level=log_level, access_log=config.access_log,
                log_config=log_config, timeout_graceful_shutdown=None, lifespan="on")


def serve(model: str, guard_dir: str | Path | None = None, config: ServeConfig | None = None, *,
          threads: int | None = None, log_level: str = "info", rag=None, upstream=None) -> None:
    """Serve ``model`` (guarded by the guard in ``guard_dir``; answering from the index of the
    :class:`~nescio.rag.answer.RagSettings` ``rag``) until SIGTERM / Ctrl-C."""
    import uvicorn

    config = config or ServeConfig()
    check_port(config.host, config.port)
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(levelname)s:     %(message)s")
    lm, guard = load_for_serving(model, guard_dir, threads=threads, upstream=upstream)
    app = create_app(lm, guard, config, rag=rag)
    name = config.served_model_name or lm.spec
    if rag is not None:
        log.info("answering from index %s (k = %d; no passage passes the relevance filter → %s)", rag.index, rag.k,
                 rag.no_evidence)
    if guard is None:
        log.warning("serving the RAW model %s (no --guard): answers come without a decision", name)
    else:
        levels = ", ".join(f"{a:g}" for a in app.state.nescio.view.levels) or "none"
        log.info("serving %s guarded by %s (α = %g, δ = %g; certified levels: %s)", name, guard_dir, guard.alpha,
                 guard.delta, levels)
    if config.cors_origins:
        log.info("CORS: browsers may call this server from %s", ", ".join(config.cors_origins))
    if config.api_key is None and config.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s without an API key: anyone who can reach it can use it", config.host)
    uv = uvicorn.Config(app, **uvicorn_options(config, log_level))
    # uvicorn handles SIGTERM / SIGINT itself (stop accepting, drain) and then re-raises the signal
    # to the handler that was installed before it ran: make that a no-op, so a clean drain exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.Server(uv).run()
    log.info("nescio serve: stopped")
