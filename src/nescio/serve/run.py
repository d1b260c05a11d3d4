"""``nescio serve``: load the model (and the guard fitted for it), then run uvicorn.

SIGTERM / Ctrl-C: uvicorn stops accepting connections and waits for every open request;
the model worker finishes each accepted one, then the process exits.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from nescio.serve.app import ServeConfig, create_app
from nescio.types import NescioError

log = logging.getLogger("nescio.serve")


def load_for_serving(model: str, guard_dir: str | Path | None, *, threads: int | None = None):
    """The LoadedModel and its fitted guard (None without ``guard_dir``); a guard fitted for
    another model is refused. ``threads``: torch CPU threads (default: nescio's choice)."""
    from nescio.models import load_model
    from nescio.pipeline import check_guard
    from nescio.policy.guard import Guard

    lm = load_model(model, threads=threads)
    guard = None
    if guard_dir is not None:
        if not (Path(guard_dir) / "guard.json").is_file():
            raise NescioError(f"no guard in {str(guard_dir)!r} (guard.json missing); give a directory written by "
                              "Guard.save or nescio eval (…/guard)")
        guard = Guard.load(guard_dir, model_id=str(lm.model_id))
        check_guard(lm, guard)  # in another dtype than it was fitted in: refused at start unless its probes agree
    return lm, guard


def serve(model: str, guard_dir: str | Path | None = None, config: ServeConfig | None = None, *,
          threads: int | None = None, log_level: str = "info", rag=None) -> None:
    """Serve ``model`` (guarded by the guard in ``guard_dir``; answering from the index of the
    :class:`~nescio.rag.answer.RagSettings` ``rag``) until SIGTERM / Ctrl-C."""
    import uvicorn

    config = config or ServeConfig()
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(levelname)s:     %(message)s")
    lm, guard = load_for_serving(model, guard_dir, threads=threads)
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
    if config.api_key is None and config.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s without an API key: anyone who can reach it can use it", config.host)
    uv = uvicorn.Config(app, host=config.host, port=config.port, log_level=log_level, access_log=False,
                        timeout_graceful_shutdown=None, lifespan="on")
    # uvicorn handles SIGTERM / SIGINT itself (stop accepting, drain) and then re-raises the signal
    # to the handler that was installed before it ran: make that a no-op, so a clean drain exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.Server(uv).run()
    log.info("nescio serve: stopped")
