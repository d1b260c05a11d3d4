"""One base for the context managers that put torch hooks on a model and must always take them off.

:class:`ActivationCapture` (capture) and :class:`ScaleNeurons` (intervene) register hooks in
:meth:`HookSet._register`; :meth:`HookSet.__enter__` removes whatever was registered when
that raises part-way, and ``__exit__`` removes them all, also when generation raised.
"""

from __future__ import annotations

from typing import Any


class HookSet:
    """``with SubClass(...) as h:`` — hooks registered inside, none left after."""

    _handles: list[Any]

    def _register(self) -> None:
        """Register hooks, appending each handle to ``self._handles``."""
        raise NotImplementedError

    def __enter__(self):
        self._handles = getattr(self, "_handles", [])
        try:
            self._register()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every registered hook (safe to call twice)."""
        for handle in getattr(self, "_handles", ()):
            handle.remove()
        self._handles = []
