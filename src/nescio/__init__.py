"""nescio: make a language model say "I don't know" when it doesn't know.

The flow: ``load_model → generate → grade → signals → Guard (detector + policy) →
report``. Heavy submodules (torch, transformers) are imported on first use of the
name that needs them, so ``import nescio`` stays fast.
"""

from __future__ import annotations

from nescio.lazy import lazy_getattr


from nescio.types import (
    SCHEMA_VERSION,
    Action,
    CaptureSpec,
    Decision,
    DecisionBatch,
    Generation,
    GenerationConfig,
    Grade,
    NescioError,
    Outcome,
    Question,
    Sample,
    SignalTable,
)

__version__ = "0.1.0"

# public name -> module that defines it (imported lazily)
_LAZY = {
    "load_model": "nescio.models",
    "generate": "nescio.models",
    "save_generations": "nescio.models",
    "load_generations": "nescio.models",
    "load_questions": "nescio.data",
    "builtin_questions": "nescio.data",
    "grade": "nescio.grading",
    "compute_signals": "nescio.signals",
    "Guard": "nescio.policy",
    "answer": "nescio.pipeline",
    "ask": "nescio.pipeline",
    "AnswerPipeline": "nescio.pipeline",
    "Backend": "nescio.models",
    "HFBackend": "nescio.models",
    "evaluate": "nescio.evaluate",
    "run_theory": "nescio.theory",
}

__all__ = [
    "SCHEMA_VERSION",
    "Action",
    "CaptureSpec",
    "Decision",
    "DecisionBatch",
    "Generation",
    "GenerationConfig",
    "Grade",
    "NescioError",
    "Outcome",
    "Question",
    "Sample",
    "SignalTable",
    "__version__",
    *_LAZY,
]


__getattr__ = lazy_getattr(__name__, _LAZY)
