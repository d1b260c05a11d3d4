"""An OpenAI-compatible server whose answers come with the guard's decision (``nescio serve``).

FastAPI and uvicorn are imported only when a server is built. See docs/serve.md.
"""

from __future__ import annotations

from nescio.lazy import lazy_getattr


_LAZY = {
    "ServeConfig": "nescio.serve.app",
    "create_app": "nescio.serve.app",
    "serve": "nescio.serve.run",
    "load_for_serving": "nescio.serve.run",
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
