"""Calibrating a score into P(correct) (scikit-learn / numpy).

Methods (:data:`CALIBRATION_METHODS`):

- ``"isotonic"``: isotonic regression, a monotone step function;
- ``"platt"``: a one-feature logistic regression on the logit of the score;
- ``"isotonic-smooth"`` (:data:`DEFAULT_CALIBRATOR`): isotonic regression whose pooled blocks are merged with a neighbour
  until each holds at least ``min_bin`` examples, then interpolated linearly between the
  block centres (mean score of a block → its share correct): monotone and continuous, so a
  reliability diagram of its output has no holes where the step function jumps;
- ``"venn-abers"``: inductive Venn–Abers. For a score ``s`` isotonic regression is refitted
  on the calibration examples plus ``(s, 0)`` and plus ``(s, 1)``; its values at ``s`` are
  ``p0 <= p1`` and the output is ``p1 / (1 - p0 + p1)``. ``p0`` and ``p1`` only depend on
  where ``s`` falls among the calibration scores, so they are tabulated at fit time (at each
  distinct calibration score and in each gap between two) and prediction is a lookup.

A :class:`Calibrator` is fitted on a split the detector was *not* fitted on. Its state
saves as plain arrays (breakpoints, Platt's slope and intercept, Venn–Abers tables) so a
guard can be written to safetensors + JSON and reloaded to identical outputs without
pickle. ``"isotonic"`` and ``"platt"`` save exactly what they always have.
"""

from __future__ import annotations

import math

import numpy as np

from nescio.params import Params
from nescio.types import NescioError

CALIBRATION_METHODS = ("isotonic", "platt", "isotonic-smooth", "venn-abers")
DEFAULT_CALIBRATOR = "isotonic-smooth"
"""The guard's default, chosen on fitting data only by ``benchmarks/calibrators.py`` (cross-validated
on the demo's calibration split: Brier 0.090 vs isotonic's 0.094, log-loss 0.30 vs 0.43, no holes
in the reliability diagram vs 2.8 on average). Decisions do not depend on it: the answer and hedge
thresholds are certified on the detector's raw score; it sets the P(correct) shown beside them."""
MIN_BIN_FLOOR = 10
"""``min_bin=None`` (isotonic-smooth) means ``max(MIN_BIN_FLOOR, ceil(sqrt(n)))`` examples per block."""

_VA_TABLES = ("p0_at", "p1_at", "p0_gap", "p1_gap")


def check_calibration_method(method: object) -> str:
    """``method`` if it is one of :data:`CALIBRATION_METHODS`, else a one-line NescioError."""
    if not isinstance(method, str) or method not in CALIBRATION_METHODS:
        raise NescioError(f"unknown calibration method {method!r}; accepted: {', '.join(CALIBRATION_METHODS)}")
    return method


def default_min_bin(n: int) -> int:
    """The block size ``isotonic-smooth`` uses on ``n`` examples when ``min_bin`` is None."""
    return max(MIN_BIN_FLOOR, math.ceil(math.sqrt(n)))


class Calibrator(Params):
    """Map a raw score (higher = more likely correct) to a calibrated probability.

    Parameters
    ----------
    method : one of :data:`CALIBRATION_METHODS` (see the module docstring). ``"isotonic"``
        (default): sklearn ``IsotonicRegression`` (monotone, out-of-range clipped), needs a
        few hundred examples to be smooth; ``"platt"``: logistic regression on the score's logit.
    min_bin : ``"isotonic-smooth"`` only: the fewest examples a block may hold (an integer
        ≥ 1); None: ``max(10, ceil(sqrt(n)))``. Ignored by the other methods.

    Learned: ``x_`` / ``y_`` (breakpoints of the piecewise-linear map; isotonic and
    isotonic-smooth), ``counts_`` (examples per block, isotonic-smooth), ``coef_`` /
    ``intercept_`` (Platt), ``x_`` and ``p0_at_`` / ``p1_at_`` / ``p0_gap_`` / ``p1_gap_``
    (Venn–Abers: p0, p1 for a score equal to ``x_[i]``, and in the gap before ``x_[i]``,
    the last gap being above ``x_[-1]``).
    """

    def __init__(self, method: str = "isotonic", min_bin: int | None = None):
        self.method = method
        self.min_bin = min_bin

    def fit(self, scores: np.ndarray, correct: np.ndarray) -> Calibrator:
        check_calibration_method(self.method)
        mb = self.min_bin
        if mb is not None and (isinstance(mb, bool) or not isinstance(mb, (int, np.integer)) or mb < 1):
            raise NescioError(f"min_bin must be a positive integer or None, got {self.min_bin!r}")
        scores = np.asarray(scores, dtype=float)
        correct = np.asarray(correct, dtype=float)
        if len(scores) < 2 or len(np.unique(correct)) < 2:
            raise NescioError("calibration needs at least one correct and one hallucinated example")
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, correct)
            self.x_ = np.asarray(iso.X_thresholds_, dtype=float)
            self.y_ = np.asarray(iso.y_thresholds_, dtype=float)
        elif self.method == "platt":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e4).fit(_logit(scores)[:, None], correct.astype(int))
            self.coef_ = float(lr.coef_[0, 0])
            self.intercept_ = float(lr.intercept_[0])
        elif self.method == "isotonic-smooth":
            min_bin = default_min_bin(len(scores)) if self.min_bin is None else int(self.min_bin)
            self.x_, self.y_, self.counts_ = _smooth_blocks(scores, correct, min_bin)
        else:
            self.x_, tables = _venn_abers_tables(scores, correct)
            for name, table in zip(_VA_TABLES, tables):
                setattr(self, name + "_", table)
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        if self.method in ("isotonic", "isotonic-smooth"):
            return np.interp(scores, self.x_, self.y_)
        if self.method == "venn-abers":
            p0, p1 = self.predict_interval(scores)
            return p1 / (1.0 - p0 + p1)
        return 1.0 / (1.0 + np.exp(-(self.coef_ * _logit(scores) + self.intercept_)))

    def predict_interval(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Venn–Abers only: ``(p0, p1)``, the isotonic fits at each score with it labelled 0 and 1."""
        if self.method != "venn-abers":
            raise NescioError(f"predict_interval is for method 'venn-abers', not {self.method!r}")
        scores = np.asarray(scores, dtype=float)
        idx = np.searchsorted(self.x_, scores, side="left")
        at = (idx < len(self.x_)) & (self.x_[np.minimum(idx, len(self.x_) - 1)] == scores)
        j = np.minimum(idx, len(self.x_) - 1)
        p0 = np.where(at, self.p0_at_[j], self.p0_gap_[idx])
        p1 = np.where(at, self.p1_at_[j], self.p1_gap_[idx])
        return p0, p1

    # ------------------------------------------------------------ persistence
    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able metadata, arrays) for saving."""
        if self.method == "isotonic":
            return {"method": "isotonic"}, {"x": self.x_, "y": self.y_}
        if self.method == "platt":
            return {"method": "platt", "coef": self.coef_, "intercept": self.intercept_}, {}
        meta = {"method": self.method, "min_bin": self.min_bin}
        if self.method == "isotonic-smooth":
            return meta, {"x": self.x_, "y": self.y_, "counts": self.counts_}
        return meta, {"x": self.x_} | {name: getattr(self, name + "_") for name in _VA_TABLES}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> Calibrator:
        cal = cls(check_calibration_method(meta["method"]), meta.get("min_bin"))
        if cal.method in ("isotonic", "isotonic-smooth", "venn-abers"):
            cal.x_ = np.asarray(arrays["x"], dtype=float)
        if cal.method in ("isotonic", "isotonic-smooth"):
            cal.y_ = np.asarray(arrays["y"], dtype=float)
        if cal.method == "isotonic-smooth":
            cal.counts_ = np.asarray(arrays["counts"], dtype=np.int64)
        elif cal.method == "venn-abers":
            for name in _VA_TABLES:
                setattr(cal, name + "_", np.asarray(arrays[name], dtype=float))
        elif cal.method == "platt":
            cal.coef_ = float(meta["coef"])
            cal.intercept_ = float(meta["intercept"])
        return cal


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _distinct(scores: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores (sorted), examples per score, correct examples per score."""
    if not np.all(np.isfinite(scores)):
        raise NescioError("calibration scores must be finite numbers")
    x, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    return x, counts.astype(float), np.bincount(inverse, weights=correct, minlength=len(x))


def _pava(means: np.ndarray, weights: np.ndarray) -> list[list[float]]:
    """Pool-adjacent-violators on ordered points: blocks as [first index, last index, weight, mean]."""
    blocks: list[list[float]] = []
    for i, (m, w) in enumerate(zip(means, weights)):
        blocks.append([i, i, float(w), float(m)])
        while len(blocks) > 1 and blocks[-2][3] >= blocks[-1][3]:
            b = blocks.pop()
            a = blocks[-1]
            total = a[2] + b[2]
            a[3] = (a[2] * a[3] + b[2] * b[3]) / total
            a[1], a[2] = b[1], total
    return blocks


def _smooth_blocks(scores: np.ndarray, correct: np.ndarray, min_bin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Isotonic blocks merged until each holds ≥ min_bin examples (or one block is left):
    (block centres, block shares correct, block sizes). Merging two adjacent blocks of an
    isotonic fit keeps it monotone; the neighbour merged with is the one that adds the
    least squared error."""
    x, n, k = _distinct(scores, correct)
    blocks = _pava(k / n, n)
    while len(blocks) > 1:
        sizes = [b[2] for b in blocks]
        i = int(np.argmin(sizes))
        if sizes[i] >= min_bin:
            break

        def cost(j: int) -> float:  # squared error added by merging blocks j and j + 1
            a, b = blocks[j], blocks[j + 1]
            return a[2] * b[2] / (a[2] + b[2]) * (a[3] - b[3]) ** 2

        j = i - 1 if i == len(blocks) - 1 or (i > 0 and cost(i - 1) <= cost(i)) else i
        a, b = blocks[j], blocks.pop(j + 1)
        total = a[2] + b[2]
        a[3] = (a[2] * a[3] + b[2] * b[3]) / total
        a[1], a[2] = b[1], total
    centres = np.array([np.dot(x[int(b[0]):int(b[1]) + 1], n[int(b[0]):int(b[1]) + 1]) / b[2] for b in blocks])
    values = np.clip(np.array([b[3] for b in blocks]), 0.0, 1.0)
    return centres, values, np.array([round(b[2]) for b in blocks], dtype=np.int64)


def _venn_abers_tables(scores: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Distinct calibration scores and the Venn–Abers p0 / p1 tables (see the module docstring)."""
    from sklearn.isotonic import isotonic_regression

    x, n, k = _distinct(scores, correct)
    m = len(x)
    tables = [np.empty(m), np.empty(m), np.empty(m + 1), np.empty(m + 1)]
    for i in range(m):  # the new score equals x[i]: one more example there
        for label, table in ((0.0, tables[0]), (1.0, tables[1])):
            kk, nn = k.copy(), n.copy()
            kk[i] += label
            nn[i] += 1.0
            table[i] = isotonic_regression(kk / nn, sample_weight=nn)[i]
    for g in range(m + 1):  # the new score falls in the gap before x[g] (g == m: above every score)
        for label, table in ((0.0, tables[2]), (1.0, tables[3])):
            yy = np.insert(k / n, g, label)
            ww = np.insert(n, g, 1.0)
            table[g] = isotonic_regression(yy, sample_weight=ww)[g]
    return x, tuple(np.clip(t, 0.0, 1.0) for t in tables)
