"""Evaluation: pure metrics (:mod:`~nescio.evaluate.metrics`), the resumable pipeline
``evaluate(...)`` behind ``nescio eval`` (:mod:`~nescio.evaluate.run`), its typed result
:class:`~nescio.evaluate.result.EvalResult` (``results.json``) and the HTML report
(:mod:`~nescio.evaluate.report`)."""

from __future__ import annotations

from nescio.lazy import lazy_getattr


_LAZY = {"evaluate": "nescio.evaluate.run", "question_sets": "nescio.evaluate.run", "write_report": "nescio.evaluate.report",
         "EvalResult": "nescio.evaluate.result", "DecisionRecord": "nescio.evaluate.result",
         "read_decisions": "nescio.evaluate.result"}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
