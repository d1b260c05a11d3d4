"""Evaluation: pure metrics (:mod:`~nescio.evaluate.metrics`), the resumable pipeline
``evaluate(...)`` behind ``nescio eval`` (:mod:`~nescio.evaluate.run`) and the HTML report
(:mod:`~nescio.evaluate.report`)."""

from __future__ import annotations

from nescio.lazy import lazy_getattr


_LAZY = {"evaluate": "nescio.evaluate.run", "question_sets": "nescio.evaluate.run", "write_report": "nescio.evaluate.report"}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
