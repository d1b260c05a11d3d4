"""An OpenAI-compatible server whose answers come with the guard's decision (``nescio serve``).

FastAPI and uvicorn are imported only when a server is built. See docs/serve.md.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ServeConfig": "nescio.serve.app",
    "create_app": "nescio.serve.app",
    "serve": "nescio.serve.run",
    "load_for_serving": "nescio.serve.run",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nescio.serve' has no attribute {name!r}")
