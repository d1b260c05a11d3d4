"""`nescio eval` and `nescio ask` (owned by the guard/eval area)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
