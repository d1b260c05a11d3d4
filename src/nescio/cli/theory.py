"""`nescio theory` (owned by the theory area)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
