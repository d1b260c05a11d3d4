"""The dtype and device a guard was fitted under, and the check that lets it run under another dtype.

A guard's probes and thresholds were fitted on internals computed in one dtype. In another
one (bfloat16 on a GPU for a guard fitted in float32 on a CPU) the activations, log-probs and
even some greedy answers move a little, and the certificate is about the fitted model's
numbers. So the guard records, at fit time:

- ``dtype`` (``float32``, ``bfloat16``, ``float16``) and ``device_kind`` (``cpu``, ``cuda``,
  ``mps``) of the backend that made the generations;
- a **probe sample**: the first :data:`PROBE_SAMPLE_SIZE` calibration questions and the
  detector's raw scores on them.

Meeting a backend in **the same dtype** costs nothing. In **another dtype**,
:func:`check_backend` regenerates the probe sample there and compares the detector's raw
scores (uncalibrated P(correct), in [0, 1]): their mean absolute difference must be at most
:data:`DTYPE_TOLERANCE`, else a one-line NescioError says to refit the guard under that dtype.
The result is remembered per guard object and (model id, dtype), so a server or a pipeline
pays for the check once. A guard saved before this was recorded reads as float32 on a CPU
with no probe sample: it runs in float32 anywhere, and another dtype is refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from nescio.types import Generation, NescioError, Question

if TYPE_CHECKING:
    from nescio.policy.guard import Guard

PROBE_SAMPLE_SIZE = 32
DTYPE_TOLERANCE = 0.1
"""Largest mean |Δ raw score| over the probe sample allowed between the fitted dtype and another.
Measured on the tiny test models (``benchmarks/dtype_agreement.py``: llama and gemma3, three seeds,
32 probe questions): float32 → bfloat16 moved it by 0.008 to 0.059, float16 by at most 0.004;
0.1 leaves a margin over the worst case (see docs/models.md)."""


@dataclass(frozen=True)
class FitPlacement:
    """What a guard was fitted under, and its probe sample (questions + the detector's raw scores)."""

    dtype: str = "float32"
    device_kind: str = "cpu"
    questions: tuple[Question, ...] = ()
    raw_scores: tuple[float, ...] = ()
    checked: dict = field(default_factory=dict, compare=False, repr=False)  # (model_id, dtype) -> mean |Δ|

    def to_json(self) -> dict:
        qs = []
        for q in self.questions:
            d = asdict(q)
            d["answers"] = list(d["answers"])
            qs.append(d)
        return {"dtype": self.dtype, "device_kind": self.device_kind,
                "probe_sample": {"questions": qs, "raw_scores": [float(s) for s in self.raw_scores]}}

    @classmethod
    def from_json(cls, d: dict | None) -> FitPlacement:
        """``None`` (a guard.json written before placements were recorded): float32 on a CPU, no sample."""
        if d is None:
            return cls()
        sample = d.get("probe_sample") or {}
        known = Question.__dataclass_fields__
        questions = tuple(Question(**{k: v for k, v in q.items() if k in known}) for q in sample.get("questions", ()))
        scores = tuple(float(s) for s in sample.get("raw_scores", ()))
        if len(questions) != len(scores):
            raise ValueError(f"probe sample has {len(questions)} questions but {len(scores)} scores")
        return cls(str(d.get("dtype", "float32")), str(d.get("device_kind", "cpu")), questions, scores)


def fitted_placement(dtype: str | None, device: str | None, generations: Sequence[Generation],
                     raw_scores: np.ndarray) -> FitPlacement:
    """The placement :meth:`Guard.fit` records: the first :data:`PROBE_SAMPLE_SIZE` calibration
    generations' questions and the detector's raw scores on them."""
    from nescio.models.devices import device_kind

    n = min(PROBE_SAMPLE_SIZE, len(generations))
    return FitPlacement(str(dtype or "float32").removeprefix("torch."), device_kind(device or "cpu"),
                     tuple(g.question for g in generations[:n]), tuple(float(s) for s in raw_scores[:n]))


def refit_message(guard: Guard, dtype: str, detail: str) -> str:
    p = guard.placement_
    return (f"this guard was fitted in {p.dtype} on {p.device_kind} and {detail}; refit the guard under this dtype "
            f"(nescio eval --dtype {dtype} …) or load the model with --dtype {p.dtype}")


def check_backend(guard: Guard, backend: Any, *, post_passes: Callable[[list[Generation]], list[Generation]] | None = None,
                  tolerance: float | None = None) -> float:
    """Allow ``guard`` on ``backend`` (the model id must match); in another dtype only when the
    probe sample's raw scores agree within ``tolerance`` (default :data:`DTYPE_TOLERANCE`).
    Returns the mean |Δ raw score| (0.0 when the dtype is the fitted one: nothing is run).
    ``post_passes``: the passes after generation the guard's signals need (the pipeline's)."""
    guard.check_model(backend.model_id)
    placement = guard.placement_
    dtype = str(getattr(backend, "dtype", "float32"))
    if dtype == placement.dtype:
        return 0.0
    tol = DTYPE_TOLERANCE if tolerance is None else float(tolerance)
    key = (str(backend.model_id), dtype)
    if key not in placement.checked:
        if not placement.questions:
            raise NescioError(refit_message(guard, dtype, f"has no probe sample to check {dtype} against"))
        gens = backend.generate(list(placement.questions), guard.generation_config_)
        if post_passes is not None:
            gens = post_passes(gens)
        scores = guard.detector_.raw_score(guard.signal_set_.transform(gens))
        placement.checked[key] = float(np.mean(np.abs(scores - np.asarray(placement.raw_scores))))
    diff = placement.checked[key]
    if not diff <= tol:  # NaN fails too
        raise NescioError(refit_message(guard, dtype, f"its detector's scores on its {len(placement.questions)} probe "
                                                      f"questions move by {diff:.3f} in {dtype} (allowed {tol:g})"))
    return diff
