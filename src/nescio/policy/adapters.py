"""Thin adapters from the guard to the other areas (models, grading, signals, probes).

Kept in one place so the guard's logic does not depend on their module layout. The
fitted probes the guard uses are built here by name:

- ``probe_last_prompt`` / ``probe_answer_first`` / ``probe_answer_mean``: the signals
  area's :class:`~nescio.signals.probes.ResidualProbe` predicting HALLUCINATED vs CORRECT
  from the residual stream at that position (layer and C chosen by CV on the training split);
- ``knowability_last_prompt``: the same probe class trained instead to predict
  *unanswerable* vs answerable from the last prompt token — the guard's pre-check.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.types import Generation, NescioError, Outcome, Question

# cheap signals (read off the greedy pass) + probes on captured residual streams
DEFAULT_SIGNALS = (
    "sequence_nll",
    "mean_token_nll",
    "max_token_nll",
    "mean_token_entropy",
    "max_token_entropy",
    "one_minus_first_token_margin",
    "probe_last_prompt",
    "probe_answer_mean",
)
PRECHECK_SIGNAL = "knowability_last_prompt"
PROBE_POSITIONS = {
    "probe_last_prompt": "last_prompt",
    "probe_answer_first": "answer_first",
    "probe_answer_mean": "answer_mean",
    "knowability_last_prompt": "last_prompt",
}
PROBE_LABELS = {name: ("unanswerable" if name.startswith("knowability") else "hallucinated") for name in PROBE_POSITIONS}


def is_fitted_signal(name: str) -> bool:
    return name in PROBE_POSITIONS


def check_signal(name: str) -> None:
    """Raise NescioError for an unknown signal name."""
    if is_fitted_signal(name):
        return
    from nescio.signals.registry import SIGNALS, signal_info

    try:
        info = signal_info(name)
    except NescioError:
        accepted = sorted(set(SIGNALS) | set(PROBE_POSITIONS))
        raise NescioError(f"unknown signal {name!r}; accepted: {', '.join(accepted)}") from None
    if info.fitted:
        raise NescioError(f"signal {name!r} is a fitted estimator the guard cannot build; "
                          f"accepted fitted signals: {', '.join(PROBE_POSITIONS)}")


def signal_cost(name: str, generations: Sequence[Generation]) -> float:
    """Extra forward passes per question relative to greedy generation (0 for probes)."""
    if is_fitted_signal(name):
        return 0.0
    from nescio.signals.registry import signal_info

    return signal_info(name).cost_per_question(generations) if generations else 0.0


def new_probe(name: str, random_state: int = 0):
    """The residual probe behind a fitted signal: layer and C chosen by 3-fold CV over a small grid
    (kept small so that the whole guard fits in seconds on 2 CPU cores)."""
    from nescio.signals.probes import ResidualProbe

    return ResidualProbe(position=PROBE_POSITIONS[name], C_grid=(0.01, 0.1), cv=3, random_state=random_state)


def capture_needs(names: Sequence[str], probes: dict | None = None, n_layers: int | None = None) -> dict:
    """GenerationConfig fields for ``names``; the guard's own probes add their captures.

    Unfitted probes capture the layers their cross-validation will search
    (:func:`probe_layer_subset` of ``n_layers``; every layer when ``n_layers`` is None);
    fitted ones only their chosen layer."""
    from nescio.signals.registry import merge_captures
    from nescio.signals.registry import capture_needs as registry_needs

    probes = probes or {}
    plain = [n for n in names if not is_fitted_signal(n)]
    needs = registry_needs(plain) if plain else {"n_samples": 0, "capture": (), "p_true": False, "verbal_confidence": False}
    captures = list(needs["capture"])
    for n in names:
        if is_fitted_signal(n):
            est = probes.get(n)
            if est is None:
                est = new_probe(n)
                if n_layers:
                    est.layers = probe_layer_subset(range(n_layers))
            captures.extend(est.capture_specs())
    needs["capture"] = merge_captures(captures)
    return needs


def probe_labels(name: str, generations: Sequence[Generation], outcomes: np.ndarray) -> np.ndarray:
    """Training labels (1 = risky) for a probe; NaN rows are skipped by the probe."""
    if PROBE_LABELS[name] == "unanswerable":
        return np.array([0.0 if g.question.answerable else 1.0 for g in generations])
    return np.where(outcomes == "abstained", np.nan, (outcomes == "hallucinated").astype(float))


def probe_layer_subset(layers: Sequence[int], max_layers: int = 6) -> tuple[int, ...]:
    """Layers the probe's cross-validation searches: up to ``max_layers`` evenly spread over
    the upper three quarters of the network (where the probe literature finds the signal);
    keeps fitting fast on 2 CPU cores."""
    layers = sorted(layers)
    if len(layers) <= max_layers:
        return tuple(layers)
    upper = layers[len(layers) // 4 :]
    pick = np.unique(np.round(np.linspace(0, len(upper) - 1, max_layers)).astype(int))
    return tuple(int(upper[i]) for i in pick)


def fit_probe_oof(name: str, generations: list[Generation], outcomes: np.ndarray, random_state: int = 0):
    """Fit probe ``name`` on all of ``generations`` and return (probe, out-of-fold risk scores).

    The out-of-fold scores (5 folds, the probe's chosen layer and C refitted per fold) feed
    the detector's combiner without the optimism of in-sample probe scores.
    """
    from sklearn.model_selection import StratifiedKFold

    from nescio.signals.features import activation_tensor
    from nescio.signals.probes import fit_scaled_logistic, linear_probability

    from nescio.signals.features import available_layers

    y = probe_labels(name, generations, np.asarray(outcomes, dtype=object))
    probe = new_probe(name, random_state)
    probe.layers = probe_layer_subset(available_layers(generations, probe.site, probe.position))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        probe.fit(generations, y)
    feats = activation_tensor(generations, probe.site, [probe.layer_], probe.position)[:, 0]
    oof = np.full(len(generations), np.nan)
    ok = ~np.isnan(y) & ~np.isnan(feats).any(axis=1)
    idx = np.where(ok)[0]
    yk = y[idx].astype(int)
    n_min = int(min((yk == 0).sum(), (yk == 1).sum()))
    if n_min >= 2:
        folds = StratifiedKFold(n_splits=min(5, n_min), shuffle=True, random_state=random_state)
        for tr, va in folds.split(yk, yk):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                params = fit_scaled_logistic(feats[idx[tr]], yk[tr], C=probe.C_, random_state=random_state)
            oof[idx[va]] = linear_probability(feats[idx[va]], *params)
    # rows the probe could not use for training (e.g. abstentions) get in-sample scores
    rest = ~ok & ~np.isnan(feats).any(axis=1)
    if rest.any():
        oof[rest] = probe.predict_risk(feats[rest])
    return probe, oof


def signal_matrix(
    generations: Sequence[Generation], names: Sequence[str], probes: dict, precomputed: dict | None = None
) -> np.ndarray:
    """``[n, len(names)]`` signal values (higher = riskier, NaN = missing)."""
    from nescio.signals.registry import compute_signals

    gens = list(generations)
    precomputed = precomputed or {}
    cols = []
    plain = [n for n in names if not is_fitted_signal(n) and n not in precomputed]
    table = compute_signals(gens, plain) if plain and gens else None
    for n in names:
        if n in precomputed:
            cols.append(np.asarray(precomputed[n], dtype=float))
        elif is_fitted_signal(n):
            cols.append(np.asarray(probes[n].predict_risk(gens), dtype=float) if gens else np.zeros(0))
        else:
            cols.append(np.asarray(table.values[n], dtype=float) if table is not None else np.zeros(0))
    return np.column_stack(cols) if cols else np.zeros((len(gens), 0))


# ------------------------------------------------------------------ models / grading


def ensure_model(model):
    """A LoadedModel from a LoadedModel or a spec string."""
    if isinstance(model, str):
        from nescio.models import load_model

        return load_model(model)
    if not hasattr(model, "model_id"):
        raise NescioError(f"model must be a LoadedModel or a model spec string, got {type(model).__name__}")
    return model


def generate(model, questions: Sequence[Question], config, *, progress: bool = True) -> list[Generation]:
    from nescio.models import generate as _generate

    return _generate(model, list(questions), config, progress=progress)


def grade_outcomes(generations: Sequence[Generation]) -> np.ndarray:
    """Graded outcome strings ("correct" / "hallucinated" / "abstained") per generation."""
    from nescio.grading import grade

    return np.array([_outcome_str(grade(g.question, g.text).outcome) for g in generations], dtype=object)


def _outcome_str(outcome) -> str:
    value = outcome.value if isinstance(outcome, Outcome) else str(outcome)
    # a premise correction or any other "right refusal" class counts as abstained
    return value if value in ("correct", "hallucinated") else "abstained"


def model_abstained(text: str) -> bool:
    """Did the model decline by itself? (the grader's abstention detector, no gold needed)."""
    from nescio.grading import grade

    if not text.strip():
        return True
    q = Question(id="abstention-check", text="?", answers=(), answerable=False, category="user")
    return _outcome_str(grade(q, text).outcome) == "abstained"


def save_probe(probe, directory: Path) -> dict:
    from nescio.signals.features import save_probe as _save

    _save(probe, directory)
    return {"dir": str(Path("probes") / directory.name), "class": type(probe).__name__}


def load_probe(name: str, directory: Path, meta: dict):
    from nescio.signals.features import load_probe as _load

    return _load(directory)
