"""Parameters: scikit-learn's estimator contract, shared by the guard's parts and the fitted
signals (parameters read from ``__init__``), and :func:`key_file` (a secret given as a file by
``--api-key-file`` / ``--upstream-api-key-file``). A leaf module: it imports nothing of nescio but types."""

from __future__ import annotations

import inspect

from nescio.types import NescioError


class Params:
    """``__init__`` stores its arguments unchanged; :meth:`get_params` reads them back by the
    ``__init__`` signature (no hand-kept list), :meth:`set_params` sets known ones only."""

    @classmethod
    def _param_names(cls) -> tuple[str, ...]:
        sig = inspect.signature(cls.__init__)
        return tuple(n for n, p in sig.parameters.items() if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))

    def get_params(self, deep: bool = True) -> dict:
        """Constructor arguments (tuples become lists so the dict is JSON-able)."""
        return {n: plain(getattr(self, n)) for n in self._param_names()}

    def set_params(self, **params):
        bad = [k for k in params if k not in self._param_names()]
        if bad:
            raise NescioError(f"{type(self).__name__} has no parameter {bad[0]!r}; accepted: {', '.join(self._param_names())}")
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"


def plain(v):
    """``v`` with tuples turned into lists, recursively (JSON's view of a parameter value)."""
    if isinstance(v, tuple):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def from_params(cls, params: dict):
    """``cls(**params)`` with JSON lists turned back into tuples."""
    return cls(**{k: (tuple(_tuples(x) for x in v) if isinstance(v, list) else v) for k, v in params.items()})


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def key_file(path, option: str) -> str:
    """The secret on the first line of the file ``path`` given as ``option`` (``--api-key-file``);
    a one-line NescioError when it cannot be read or is empty. A file keeps the secret out of ``ps``."""
    from pathlib import Path

    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise NescioError(f"cannot read {option} {str(path)!r}: {exc.strerror}") from None
    key = lines[0].strip() if lines else ""
    if not key:
        raise NescioError(f"{option} {str(path)!r} is empty; put the key on its first line")
    return key
