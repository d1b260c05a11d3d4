"""Evaluation: pure metrics (:mod:`~nescio.evaluate.metrics`), the resumable pipeline
``evaluate(...)`` behind ``nescio eval`` (:mod:`~nescio.evaluate.run`) and the HTML report
(:mod:`~nescio.evaluate.report`)."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"evaluate": "nescio.evaluate.run", "question_sets": "nescio.evaluate.run", "write_report": "nescio.evaluate.report"}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nescio.evaluate' has no attribute {name!r}")
