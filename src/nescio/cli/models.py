"""`nescio models` and `nescio generate` (owned by the models area)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_cmd() -> None:
        """List the embedded models and what else `--model` accepts."""
        from nescio.models import EMBEDDED_MODELS

        for name, info in EMBEDDED_MODELS.items():
            typer.echo(f"{name}\t{info}")
