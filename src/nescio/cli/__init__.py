"""The ``nescio`` command. Thin: each command parses options and calls one public function.

Each area owns its sub-module here (``data.py``, ``run.py``, ``theory.py``, ``models.py``);
this file only assembles them. Heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import sys

import typer

from nescio.types import NescioError

app = typer.Typer(
    name="nescio",
    help="nescio: make a language model say 'I don't know' when it doesn't know, and prove it with numbers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from nescio.cli import calibrate, data, models, rag, run, score, serve, theory, train

    app.add_typer(data.app, name="data", help="Question sets: list and show.")
    models.register(app)
    run.register(app)
    calibrate.register(app)
    score.register(app)
    theory.register(app)
    serve.register(app)
    train.register(app)
    rag.register(app)


@app.callback()
def _options(
    threads: int = typer.Option(
        None, "--threads", min=1, help="CPU threads for torch (default: OMP_NUM_THREADS if set, else the cores not busy)."
    ),
) -> None:
    """Options for every command; recorded here, applied when a model is loaded."""
    from nescio.models.threads import request_threads

    request_threads(threads)


_register()


def main() -> None:
    """Entry point: user-facing errors print one line and exit 2, never a traceback."""
    try:
        app()
    except NescioError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted; a rerun resumes where this stopped", err=True)
        sys.exit(130)
