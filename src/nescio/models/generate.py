"""Compatibility alias: ``nescio.models.generate`` is both this module and the function.

The implementation lives in :mod:`nescio.models.generation`. Because a submodule named
``generate`` would shadow the package attribute ``nescio.models.generate`` once
imported, this module is made callable, so ``from nescio.models import generate`` and
``from nescio.models.generate import generate`` both give something that generates.
"""

from __future__ import annotations

import sys
import types

from nescio.models.generation import generate, p_true_batch, parse_confidence, verbal_confidence_batch  # noqa: F401


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return generate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
