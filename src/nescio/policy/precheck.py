"""The knowability pre-check: abstain before answering when the prompt alone says "unknowable".

A fitted signal (default ``knowability_last_prompt``: a residual-stream probe at the last
prompt token, trained on the training split to predict *unanswerable* vs answerable)
scores each question before any answer token exists. On the calibration split a
threshold is certified with Learn-then-Test so that, among the questions it blocks, the
share of answerable ones is ≤ ``alpha`` with probability ≥ 1 − ``delta``.

The threshold is applied to the score itself when the signal is a probability (as the
registry declares for the probes), so the whole fixed grid of
:data:`nescio.policy.risk.DEFAULT_GRID` is usable; other scores are first mapped to (0, 1)
by a sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.params import Params
from nescio.policy.risk import RiskController, check_level
from nescio.policy.signalset import SignalSet
from nescio.types import Generation, NescioError

PRECHECK_SIGNAL = "knowability_last_prompt"
PRECHECK_REASON = "pre-check: the question looks unknowable to the model (last-prompt probe); abstained"
"""The one reason text of a pre-check abstention (before generating, or in ``Guard.decide``)."""


@dataclass(frozen=True, eq=False)
class PrecheckResult:
    """Per question: ``fired`` (bool: abstain without answering) and ``scores`` (the
    signal's P(unanswerable); NaN where it could not be read)."""

    fired: np.ndarray
    scores: np.ndarray


class PreCheck(Params):
    """Parameters: ``alpha`` (allowed share of answerable questions among those blocked),
    ``delta``, ``signal`` (a fitted registry signal), ``random_state``, ``layers`` (the
    layers the probe's search covers; None: the signal set's default subset of the captured
    layers, :func:`~nescio.policy.signalset.probe_layer_subset`).
    Learned: ``signals_`` (a fitted one-signal :class:`SignalSet`), ``threshold_`` (``inf``
    when nothing could be certified: the pre-check then never fires), ``risk_``."""

    def __init__(self, alpha: float = 0.05, delta: float = 0.1, signal: str = PRECHECK_SIGNAL, random_state: int = 0,
                 layers: Sequence[int] | None = None):
        self.alpha = alpha
        self.delta = delta
        self.signal = signal
        self.random_state = random_state
        self.layers = layers

    def _signal_set(self) -> SignalSet:
        from nescio.signals import signal_info

        if not signal_info(self.signal).fitted:
            raise NescioError(f"pre-check signal {self.signal!r} is not a fitted signal")
        args = None
        if self.layers is not None:
            layers = tuple(int(x) for x in self.layers)
            if not layers:
                raise NescioError("pre-check layers is empty; name at least one layer or pass None")
            args = {self.signal: {"layers": layers}}
        return SignalSet((self.signal,), estimator_args=args, random_state=self.random_state)

    def capture_needs(self, *, n_layers: int | None = None, fitting: bool = False) -> dict:
        ss = self.signals_ if hasattr(self, "signals_") else self._signal_set()
        return ss.capture_needs(n_layers=n_layers, fitting=fitting)

    def fit(self, train: Sequence[Generation], train_outcomes, calibration: Sequence[Generation]) -> PreCheck:
        """Fit the signal on ``train`` (its label recipe), then certify the threshold on ``calibration``."""
        alpha = check_level("precheck_alpha", self.alpha)
        delta = check_level("delta", self.delta)
        self.signals_ = self._signal_set().fit(list(train), train_outcomes)
        cal = list(calibration)
        s = self._squash(self.signals_.transform(cal)[:, 0])
        answerable = np.array([g.question.answerable for g in cal])
        ok = np.isfinite(s)
        self.risk_ = RiskController(alpha, delta, n_starts=1).fit(s[ok], answerable[ok])
        self.threshold_ = self.risk_.threshold_
        return self

    def _squash(self, scores: np.ndarray) -> np.ndarray:
        from nescio.signals import signal_info

        s = np.asarray(scores, dtype=float)
        if signal_info(self.signal).probability:
            return s
        return 1.0 / (1.0 + np.exp(-np.clip(s, -700, 700)))

    def fired(self, scores: np.ndarray) -> np.ndarray:
        """Where the pre-check fires for signal scores ``scores`` (NaN never fires)."""
        s = self._squash(scores)
        return np.isfinite(s) & (np.nan_to_num(s, nan=-np.inf) >= self.threshold_)

    def check(self, generations: Sequence[Generation]) -> PrecheckResult:
        """Run the pre-check on generations or on prefill-only generations (``max_new_tokens=1``)."""
        if not hasattr(self, "threshold_"):
            raise NescioError("pre-check is not fitted: call fit first")
        gens = list(generations)
        scores = self.signals_.transform(gens)[:, 0] if gens else np.zeros(0)
        return PrecheckResult(self.fired(scores), scores)

    # ------------------------------------------------------------------ persistence
    def state(self, directory: str | Path) -> dict:
        return {"params": self.get_params(), "threshold": _json_float(self.threshold_),
                "signals": self.signals_.save(Path(directory))}

    @classmethod
    def from_state(cls, meta: dict, directory: str | Path) -> PreCheck:
        out = cls(**meta["params"])
        out.signals_ = SignalSet.load(Path(directory), meta["signals"])
        out.threshold_ = float(meta["threshold"])
        return out


def _json_float(x):
    x = float(x)
    return x if np.isfinite(x) else ("inf" if x > 0 else "-inf")
