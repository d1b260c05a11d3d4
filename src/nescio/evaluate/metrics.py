"""Pure scoring functions for hallucination detection and selective answering.

Conventions used throughout:

- ``risk``: a signal value per question, **higher = more likely hallucinated** (every
  nescio signal is oriented this way).
- ``hallucinated``: 1 for a hallucinated answer, 0 for a correct one (abstentions are
  left out by the caller). ``quality`` is the opposite (1 = correct); continuous
  qualities in [0, 1] are accepted where stated.

Rows whose ``risk`` is NaN (missing signal) are dropped before scoring; the functions
return NaN when what is left cannot be scored (e.g. only one class for AUROC).
Nothing here imports torch; numpy and scikit-learn only.
"""

from __future__ import annotations

import math

import numpy as np

from nescio.types import NescioError


def _paired(risk, target) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(risk, dtype=float).ravel()
    t = np.asarray(target, dtype=float).ravel()
    if r.shape != t.shape:
        raise NescioError(f"scores and labels differ in length ({r.size} vs {t.size}); give one score per label")
    keep = ~(np.isnan(r) | np.isnan(t))
    return r[keep], t[keep]


def auroc(risk, hallucinated) -> float:
    """Area under the ROC curve of ``risk`` for separating hallucinated (1) from correct (0).

    0.5 = chance, 1.0 = every hallucination scores above every correct answer; ties count
    half (scikit-learn's ``roc_auc_score``).

    >>> auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    from sklearn.metrics import roc_auc_score

    r, y = _paired(risk, hallucinated)
    if r.size == 0 or len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, r))


def _rejection_area(risk: np.ndarray, quality: np.ndarray) -> float:
    """LM-Polygraph's area under the prediction-rejection curve (unnormalised).

    Sort by ascending uncertainty; for k = n..1 keep the k least uncertain answers and
    take their mean quality; return the average of those n means.
    """
    n = quality.size
    order = np.argsort(risk)  # ascending: the least uncertain first (numpy default sort, as LM-Polygraph)
    sorted_quality = quality[order]
    kept_means = (np.cumsum(sorted_quality) / np.arange(1, n + 1))[::-1]
    return float(np.sum(kept_means) / n)


def _normalise_quality(quality: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(quality)), float(np.max(quality))
    if math.isclose(lo, hi):
        lo, hi = lo - 1.0, hi + 1.0
    return (quality - lo) / (hi - lo)


def prr(risk, quality) -> float:
    """Prediction-rejection ratio, exactly as LM-Polygraph computes it.

    ``quality`` is 1 for a correct answer and 0 for a hallucination (continuous
    qualities are min-max normalised to [0, 1] first, as LM-Polygraph's ``normalize``).
    With ``A(s)`` the area under the prediction-rejection curve when answers are
    rejected in descending order of ``s`` (mean quality of the k least uncertain
    answers, averaged over k = n..1), the result is

        (A(risk) - A_random) / (A(-quality) - A_random)

    where ``A(-quality)`` is the oracle order and ``A_random`` is the expected area
    of a random order, which equals the mean quality (LM-Polygraph estimates it with
    1,000 random shuffles; this is the exact value those shuffles estimate).
    1 = oracle, 0 = random, negative = worse than random. NaN when the oracle equals
    random (all answers of one quality).

    >>> prr([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])   # the oracle order
    1.0
    """
    r, q = _paired(risk, quality)
    if r.size == 0:
        return float("nan")
    q = _normalise_quality(q)
    signal = _rejection_area(r, q)
    oracle = _rejection_area(-q, q)
    random = float(np.mean(q))
    if math.isclose(oracle, random):
        return float("nan")
    return (signal - random) / (oracle - random)


def risk_coverage_curve(risk, hallucinated) -> tuple[np.ndarray, np.ndarray]:
    """Coverage k/n and selective risk (hallucination rate among the k least risky answers).

    Answers are kept in ascending order of ``risk``; returns ``(coverage, selective_risk)``
    arrays of length n (k = 1..n).
    """
    r, y = _paired(risk, hallucinated)
    n = r.size
    if n == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(r, kind="stable")
    k = np.arange(1, n + 1)
    return k / n, np.cumsum(y[order]) / k


def aurc(risk, hallucinated) -> float:
    """Area under the risk-coverage curve (Geifman & El-Yaniv): mean selective risk over k = 1..n.

    Lower is better; the oracle reaches ``h - (1 - h) * ln(1 - h)`` for hallucination
    rate ``h`` (0 when nothing is hallucinated).

    >>> aurc([0.1, 0.9], [0, 1])   # keep the correct one first: (0/1 + 1/2) / 2
    0.25
    """
    _, sel = risk_coverage_curve(risk, hallucinated)
    if sel.size == 0:
        return float("nan")
    return float(np.mean(sel))


def risk_at_coverage(risk, hallucinated, coverage: float) -> float:
    """Hallucination rate among the ``ceil(coverage * n)`` least risky answers.

    >>> risk_at_coverage([0.1, 0.2, 0.3, 0.9], [0, 1, 0, 1], 0.5)
    0.5
    """
    if not 0.0 < coverage <= 1.0:
        raise NescioError(f"coverage must be in (0, 1], got {coverage}")
    r, y = _paired(risk, hallucinated)
    if r.size == 0:
        return float("nan")
    k = max(1, math.ceil(coverage * r.size - 1e-9))
    order = np.argsort(r, kind="stable")
    return float(np.mean(y[order[:k]]))


def reliability_bins(p_correct, correct, n_bins: int = 10) -> list[dict]:
    """Equal-width confidence bins for a reliability diagram.

    Each bin is ``{"lower", "upper", "count", "mean_confidence", "accuracy"}``; bin i
    holds ``lower <= p < upper`` (the last bin includes 1.0). Empty bins have count 0
    and NaN means.
    """
    if n_bins < 1:
        raise NescioError(f"n_bins must be a positive integer, got {n_bins}")
    p, y = _paired(p_correct, correct)
    if p.size and (p.min() < 0 or p.max() > 1):
        raise NescioError("p_correct must be probabilities in [0, 1]")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        mask = idx == b
        count = int(mask.sum())
        bins.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "mean_confidence": float(p[mask].mean()) if count else float("nan"),
                "accuracy": float(y[mask].mean()) if count else float("nan"),
            }
        )
    return bins


def ece(p_correct, correct, n_bins: int = 10) -> float:
    """Expected calibration error of P(correct): sum over equal-width bins of
    ``count/n * |accuracy - mean_confidence|``.

    >>> ece([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0], n_bins=10)   # (2*|0.5-0.9| + 2*|0-0.1|) / 4
    0.25
    """
    bins = reliability_bins(p_correct, correct, n_bins)
    n = sum(b["count"] for b in bins)
    if n == 0:
        return float("nan")
    return float(sum(b["count"] / n * abs(b["accuracy"] - b["mean_confidence"]) for b in bins if b["count"]))


def oracle_threshold(scores, correct, hallucinated, alpha: float) -> dict:
    """The best answer threshold chosen on these answers themselves (a diagnostic upper bound,
    no guarantee): answering every answer with score ≥ λ, the λ that keeps the most correct
    answers with realised risk (hallucinated / answered) ≤ ``alpha``. A threshold only cuts
    between distinct scores. ``scores``: higher = more likely correct; ``correct`` /
    ``hallucinated``: boolean masks over the same answers (both False = not counted, e.g. the
    model abstained). Returns ``correct_n``, ``hallucinated_n``, ``answered_n`` (0 when no
    threshold qualifies).

    >>> oracle_threshold([0.9, 0.8, 0.8, 0.1], [1, 1, 0, 0], [0, 0, 1, 1], 0.1)
    {'correct_n': 1, 'hallucinated_n': 0, 'answered_n': 1}
    """
    s = np.asarray(scores, dtype=float)
    good, bad = np.asarray(correct, dtype=bool), np.asarray(hallucinated, dtype=bool)
    order = np.argsort(-s, kind="stable")
    g, b = np.cumsum(good[order]), np.cumsum(bad[order])
    cut = np.r_[s[order][1:] != s[order][:-1], True] if len(s) else np.zeros(0, dtype=bool)
    ok = cut & (b <= alpha * np.maximum(g + b, 1))
    if not ok.any() or g[ok].max() == 0:
        return {"correct_n": 0, "hallucinated_n": 0, "answered_n": 0}
    i = np.flatnonzero(ok)[np.argmax(g[ok])]
    return {"correct_n": int(g[i]), "hallucinated_n": int(b[i]), "answered_n": int(g[i] + b[i])}
