"""The shared ``--upstream`` options of ``nescio serve``, ``eval`` and ``ask``.

A command declares the ``UPSTREAM_*`` options, builds :class:`UpstreamSettings` with
:func:`upstream_settings` before anything loads (a bad URL or a missing ``httpx`` is one line),
then turns the local backend into an upstream one with :func:`connect`.
"""

from __future__ import annotations

import os
from typing import Optional

import typer

from nescio.models.upstream import UpstreamSettings, connect, describe  # noqa: F401 - the commands' names
from nescio.types import NescioError

UPSTREAM_OPTION = typer.Option(
    None, "--upstream", help="Generate with this OpenAI-compatible server (vllm serve, llama.cpp's llama-server, "
                             "SGLang), e.g. http://127.0.0.1:8080/v1; --model is then the same weights here, for "
                             "the identity check and the guard's internals (see docs/engines.md).")
UPSTREAM_MODEL_OPTION = typer.Option(None, "--upstream-model",
                                     help="The model name the upstream serves (default: the first of its /v1/models).")
UPSTREAM_KEY_FILE_OPTION = typer.Option(None, "--upstream-api-key-file",
                                        help="The upstream's API key, first line of this file "
                                             "(default: $NESCIO_UPSTREAM_API_KEY, else none).")
UPSTREAM_TIMEOUT_OPTION = typer.Option(120.0, "--upstream-timeout", help="Seconds one upstream request may take.")
UPSTREAM_CONCURRENCY_OPTION = typer.Option(8, "--upstream-concurrency", help="Upstream requests in flight at once.")
BLACKBOX_OPTION = typer.Option(False, "--blackbox/--whitebox",
                               help="With --upstream: no local weights (an API model); the guard reads only what "
                                    "the API returns (sampled answers, verbal confidence, log-probs).")


def upstream_settings(url: Optional[str], model: Optional[str] = None, api_key_file: Optional[str] = None,
                      timeout: float = 120.0, concurrency: int = 8, blackbox: bool = False) -> UpstreamSettings | None:
    """The checked settings (None without ``--upstream``), before any model loads."""
    if url is None:
        if blackbox:
            raise NescioError("--blackbox needs --upstream URL (the API that answers)")
        return None
    from nescio.extras import require
    from nescio.models.upstream import api_root

    require("upstream", "--upstream")
    api_root(url)
    if timeout <= 0:
        raise NescioError(f"--upstream-timeout must be > 0 seconds, got {timeout:g}")
    if concurrency < 1:
        raise NescioError(f"--upstream-concurrency must be ≥ 1, got {concurrency}")
    from nescio.params import key_file

    key = key_file(api_key_file, "--upstream-api-key-file") if api_key_file else None
    return UpstreamSettings(url=url, model=model, api_key=key or os.environ.get("NESCIO_UPSTREAM_API_KEY") or None,
                            timeout=timeout, concurrency=concurrency, blackbox=blackbox)
