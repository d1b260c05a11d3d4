"""Deprecated home of the answering step: it lives in :mod:`nescio.pipeline` now (one pipeline
for ``answer``, ``ask``, ``--rag`` and the server). The grading helpers live in
:mod:`nescio.grading`; these names stay importable for scripts written against them."""

from __future__ import annotations

from nescio.grading import grade_outcomes, model_abstained  # noqa: F401  (re-exported)
from nescio.policy.precheck import PRECHECK_REASON  # noqa: F401  (re-exported)


def ensure_model(model):
    """A LoadedModel from a LoadedModel or a spec string (new code: :func:`nescio.models.backend.as_backend`)."""
    from nescio.models.backend import HFBackend, as_backend

    backend = as_backend(model)
    if not isinstance(backend, HFBackend):
        from nescio.types import NescioError

        raise NescioError(f"this step needs a Hugging Face model, got a {type(backend).__name__}")
    return backend.lm
