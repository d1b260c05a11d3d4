"""`nescio serve` (owned by the serve area): an OpenAI-compatible server with the guard's decisions."""

from __future__ import annotations

from typing import Optional

import typer
from nescio.cli.devices import DEVICE_OPTION, DTYPE_OPTION, apply_placement
from nescio.cli.rag import NO_EVIDENCE_HELP, RAG_HELP, RAG_K_HELP, SUPPORT_HELP
from nescio.cli.upstream import (UPSTREAM_CONCURRENCY_OPTION, UPSTREAM_KEY_FILE_OPTION, UPSTREAM_MODEL_OPTION,
                                 UPSTREAM_OPTION, UPSTREAM_TIMEOUT_OPTION, upstream_settings)
from nescio.models.embedded import DEFAULT_MODEL


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        model: str = typer.Option(DEFAULT_MODEL, help="Embedded name, HF dir, GGUF path or hub id."),
        guard: Optional[str] = typer.Option(None, help="Guard directory fitted for this model (…/guard); "
                                                       "without it the raw model is served."),
        host: str = typer.Option("127.0.0.1", help="Address to bind (default: this machine only)."),
        port: int = typer.Option(8000, help="Port."),
        api_key: Optional[str] = typer.Option(None, help="Require 'Authorization: Bearer KEY' (/health stays open); "
                                                         "visible in ps: prefer --api-key-file or $NESCIO_API_KEY."),
        api_key_file: Optional[str] = typer.Option(None, help="Read the API key from the first line of this file."),
        max_batch: int = typer.Option(16, help="Requests per model batch."),
        batching: str = typer.Option("continuous", help="continuous: requests join the running batch at every "
                                                        "decode step and leave it when done (models with "
                                                        "sliding-window layers and RAG requests use micro); "
                                                        "micro: batches run to completion."),
        max_queue: int = typer.Option(256, help="Requests waiting at most; beyond it: 429 with Retry-After."),
        timeout: float = typer.Option(120.0, help="Seconds a request may take from acceptance (then 504)."),
        max_tokens_cap: int = typer.Option(512, help="Largest max_tokens a request may ask for."),
        max_body: int = typer.Option(1_000_000, help="Largest request body in bytes (then 413)."),
        served_model_name: Optional[str] = typer.Option(None, help="Model name clients send (default: --model)."),
        access_log: bool = typer.Option(False, "--access-log/--no-access-log",
                                        help="Log one line per request, with its X-Request-Id."),
        cors_origin: Optional[list[str]] = typer.Option(None, help="Browser origin allowed by CORS, e.g. "
                                                                   "https://app.example.com (repeatable; default: none)."),
        precheck_first: bool = typer.Option(True, "--precheck-first/--precheck-in-pass",
                                            help="Run the guard's knowability pre-check on a prefill-only pass and "
                                                 "answer blocked questions without generating (default), or read "
                                                 "it from the one generation pass (no extra prefill)."),
        threads: Optional[int] = typer.Option(None, help="torch CPU threads (default: OMP_NUM_THREADS, else the "
                                                         "cores the load average leaves free)."),
        rag: Optional[str] = typer.Option(None, help=RAG_HELP + " Chat requests are then one user message; "
                                                                 "best with a guard from `nescio eval --rag`."),
        rag_k: int = typer.Option(4, help=RAG_K_HELP),
        no_evidence: str = typer.Option("abstain", help=NO_EVIDENCE_HELP),
        support_check: bool = typer.Option(True, "--support-check/--no-support-check", help=SUPPORT_HELP),
        device: str = DEVICE_OPTION,
        dtype: str = DTYPE_OPTION,
        upstream: Optional[str] = UPSTREAM_OPTION,
        upstream_model: Optional[str] = UPSTREAM_MODEL_OPTION,
        upstream_api_key_file: Optional[str] = UPSTREAM_KEY_FILE_OPTION,
        upstream_timeout: float = UPSTREAM_TIMEOUT_OPTION,
        upstream_concurrency: int = UPSTREAM_CONCURRENCY_OPTION,
    ) -> None:
        """Serve MODEL behind OpenAI's API; each answer carries the guard's decision (answer, hedge or
        "I don't know"), P(correct) and the certified hallucination rate."""
        from nescio.extras import require

        require("serve", "`nescio serve`")
        apply_placement(device, dtype)
        from nescio.cli.rag import rag_settings
        from nescio.serve import ServeConfig, serve
        from nescio.serve.run import api_key_from

        # a bad index is refused before the model loads
        settings = rag_settings(rag, rag_k, no_evidence, require_support=support_check)
        up = upstream_settings(upstream, upstream_model, upstream_api_key_file, upstream_timeout, upstream_concurrency)
        config = ServeConfig(host=host, port=port, api_key=api_key_from(api_key, api_key_file),
                             access_log=access_log, cors_origins=tuple(cors_origin or ()),
                             max_batch=max_batch, max_queue=max_queue, timeout_s=timeout,
                             max_tokens_cap=max_tokens_cap, max_body_bytes=max_body,
                             served_model_name=served_model_name, precheck_first=precheck_first,
                             batching=batching)
        serve(model, guard, config, threads=threads, rag=settings, upstream=up)
