"""Recalibrating a fitted guard on a user's own labelled questions (``nescio calibrate``).

What a guard learns splits in two:

- what reads the model — the fitted signals (residual-stream probes) and the knowability
  pre-check — is **kept**, bit-identical;
- what depends on the question distribution is **refitted** on the user's questions: the
  calibrator (raw score → P(correct)) and the risk policy (the answer threshold certified
  at α by Learn-then-Test, the hedge floor and the other certified levels); with
  ``refit_detector=True`` also the combiner that weighs the signals. The combiner is then
  fitted on one part of the questions (``detector_share``) and the calibrator and thresholds
  on the rest: a threshold certified on the very questions its combiner was fitted on would
  carry no guarantee.

The pre-check's threshold was certified on unanswerable questions, which a sample of real
user questions rarely contains, so it is kept; how many of the user's questions it blocks
is reported.

A certificate at α needs a minimum of correct answers (:func:`min_correct_answers`,
from the same exact binomial test the risk policy uses); with fewer, :func:`recalibrate`
refuses with the number of labelled questions needed (:func:`questions_needed`).
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.policy.calibrate import check_calibration_method
from nescio.policy.detector import Detector
from nescio.policy.guard import Guard, as_outcomes
from nescio.policy.risk import FrontierPoint, RiskPolicy, check_level, level_key, start_size
from nescio.policy.scoring import tally_at_level
from nescio.types import Generation, NescioError, Outcome

RECALIBRATION_FILE = "recalibration.json"


# ------------------------------------------------------------------ how many questions
@functools.lru_cache(maxsize=1024)
def min_correct_answers(alpha: float, delta: float, n_starts: int = 3) -> tuple[int, int, int]:
    """``(n_start, k_start, min_correct)`` for certifying risk ≤ ``alpha`` at ``delta``.

    The risk policy's fixed sequences (:class:`~nescio.policy.risk.RiskController`) only
    test thresholds answering at least ``n_start = start_size(α, δ/n_starts)`` calibration
    questions, each at level δ/n_starts with the exact binomial test; a threshold answering
    n questions passes only with at most ``k*(n)`` hallucinated (the largest k with
    P(Bin(n, α) ≤ k) ≤ δ/n_starts). So a certificate needs at least
    ``min_correct = min over n ≥ n_start of n − k*(n)`` correct answers among the calibration
    questions the guard may answer. ``k_start = k*(n_start)``. Necessary, not sufficient:
    the detector must also rank those correct answers above the hallucinations."""
    from scipy.stats import binom

    alpha, delta = check_level("alpha", alpha), check_level("delta", delta)
    level = delta / n_starts
    start = start_size(alpha, level)
    n = np.arange(start, max(start, 5000) + 1)
    k = binom.ppf(level, n, alpha)  # smallest k with cdf ≥ level; the largest k with cdf ≤ level is k or k − 1
    k = np.where(binom.cdf(k, n, alpha) <= level, k, k - 1)
    ok = k >= 0
    correct = np.where(ok, n - k, np.inf)
    return int(start), int(max(k[0], -1)), int(correct.min())


def questions_needed(alpha: float, delta: float, accuracy: float, n_starts: int = 3) -> int | None:
    """Fewest labelled questions with which a threshold at ``alpha`` can be certified at all,
    when a share ``accuracy`` of them gets a correct answer the guard may keep (answered by the
    model, not blocked by the pre-check): ``ceil(min_correct / accuracy)``. A lower bound — more
    are needed unless the detector puts every correct answer above every hallucination.
    None when ``accuracy`` is 0 (no number of such questions suffices)."""
    if not 0.0 <= float(accuracy) <= 1.0:
        raise NescioError(f"accuracy must be between 0 and 1, got {accuracy!r}")
    if accuracy <= 0:
        return None
    return int(math.ceil(min_correct_answers(alpha, delta, n_starts)[2] / float(accuracy) - 1e-9))


# ------------------------------------------------------------------ summary
@dataclass(frozen=True)
class OperatingPoint:
    """What a guard does at one risk level on a set of graded questions (counts, and shares of
    ``n``). ``kept``: share of the raw model's correct answers given unhedged (None when it had
    none); ``realised_risk``: hallucinated / answered (None when nothing is answered)."""

    alpha: float
    threshold: float
    n: int
    answered: int
    hallucinated: int
    kept: float | None
    realised_risk: float | None


@dataclass(frozen=True)
class RecalibrationSummary:
    """What :func:`recalibrate` did, on how many questions, and what the new guard does.

    ``at_alpha`` / ``at_tightest``: the recalibrated guard on its own calibration questions
    (in-sample); ``before``: the original guard on the same questions, at the same α when it
    certified that level (else its own α). ``tightest_alpha`` is a diagnostic: choosing α after
    seeing it voids the guarantee. ``refitted`` / ``kept`` name the guard's parts
    (``probes``: the fitted signals kept bit-identical)."""

    n_questions: int
    n_combiner: int
    n_calibration: int
    n_model_abstained: int
    n_precheck_blocked: int
    n_usable: int
    n_usable_correct: int
    refitted: tuple[str, ...]
    kept: tuple[str, ...]
    probes: tuple[str, ...]
    alpha: float
    delta: float
    certified: bool
    tightest_alpha: float | None
    min_correct: int
    at_alpha: OperatingPoint
    at_tightest: OperatingPoint | None
    before: OperatingPoint
    frontier: tuple[FrontierPoint, ...] = ()
    """The recalibrated guard's certified risk–coverage frontier on these questions
    (:meth:`Guard.certified_frontier`: per certified level, the calibration answers clearing it)."""

    def to_json(self) -> dict:
        def clean(x):
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if isinstance(x, float) and not np.isfinite(x):
                return "inf" if x > 0 else "-inf"
            return x

        return clean(asdict(self))


# ------------------------------------------------------------------ the work
def recalibrate(guard: Guard, generations: Sequence[Generation], outcomes, *, alpha: float | None = None,
                delta: float | None = None, refit_detector: bool = False, detector_share: float = 0.5,
                random_state: int = 0, require_certifiable: bool = True, calibrator: str | None = None,
                dtype: str | None = None, device: str | None = None) -> Guard:
    """A copy of ``guard`` recalibrated on ``generations`` (made with ``guard.generation_config_``
    or a superset) and their graded ``outcomes``; ``guard`` itself is not changed.

    Refits the calibrator and the risk policy (at ``alpha`` / ``delta``, default the guard's),
    and with ``refit_detector`` the combiner (on a random ``detector_share`` of the questions,
    seeded by ``random_state``); keeps the fitted signals and the pre-check. The tightest
    certifiable level is added to the certified levels so ``decide(alpha=tightest)`` works.
    With ``require_certifiable`` (default) too few correct answers to certify ``alpha`` at all
    is a NescioError saying how many labelled questions are needed. The result carries
    ``recalibration_`` (:class:`RecalibrationSummary`). ``calibrator`` switches the calibration
    method (one of :data:`~nescio.policy.calibrate.CALIBRATION_METHODS`; default: the guard's)."""
    guard._check_fitted()
    gens = list(generations)
    if not gens:
        raise NescioError("no questions to recalibrate on")
    oc = as_outcomes(outcomes, len(gens), "recalibration")
    new = copy.deepcopy(guard)
    new.alpha = guard.alpha if alpha is None else check_level("alpha", alpha)
    new.delta = guard.delta if delta is None else check_level("delta", delta)
    if calibrator is not None:
        new.calibrator = new.detector_.calibration = check_calibration_method(calibrator)
    new._check_params()
    n = len(gens)
    fit_idx = np.zeros(0, dtype=int)
    cal_idx = np.arange(n)
    if refit_detector:
        share = float(detector_share)
        if not 0.0 < share < 1.0:
            raise NescioError(f"detector_share must be strictly between 0 and 1, got {detector_share!r}")
        perm = np.random.default_rng(random_state).permutation(n)
        n_fit = int(round(share * n))
        if n_fit < 10 or n - n_fit < 10:
            raise NescioError(f"--refit-detector needs at least 10 questions for the combiner and 10 for calibration; "
                              f"{n} questions split {n_fit} / {n - n_fit}")
        fit_idx, cal_idx = np.sort(perm[:n_fit]), np.sort(perm[n_fit:])
    cal = [gens[i] for i in cal_idx]
    oc_cal = oc[cal_idx]
    fired = new.precheck(cal).fired
    usable = (oc_cal != Outcome.ABSTAINED) & ~fired
    n_usable_correct = int((usable & (oc_cal == Outcome.CORRECT)).sum())
    need = min_correct_answers(new.alpha, new.delta, new.policy_.n_starts)[2]
    if require_certifiable and n_usable_correct < need:
        raise NescioError(_too_few_message(new.alpha, new.delta, len(cal), int(usable.sum()), n_usable_correct, need,
                                           refit_detector, n))
    if int((oc_cal == Outcome.CORRECT).sum()) == 0 or int((oc_cal == Outcome.HALLUCINATED).sum()) == 0:
        raise NescioError(f"the {len(cal)} calibration questions need both correct and hallucinated answers "
                          "to fit a calibrator; give more (or more varied) labelled questions")
    det = new.detector_
    if refit_detector:
        fit = [gens[i] for i in fit_idx]
        of = oc[fit_idx]
        m = of != Outcome.ABSTAINED
        det = Detector(new.signal_set_.signals, kind=new.detector, calibration=new.calibrator,
                       random_state=new.random_state)
        det.fit(new.signal_set_.transform(fit)[m], of[m] == Outcome.CORRECT)
    n_train = len(fit_idx) if refit_detector else guard.fit_summary_.n_train
    new._fit_calibration(new.signal_set_, det, new.precheck_, cal, oc_cal, n_train=n_train, dtype=dtype, device=device)
    _add_level(new, new.tightest_alpha_)
    new.recalibration_ = RecalibrationSummary(
        n_questions=n, n_combiner=len(fit_idx), n_calibration=len(cal),
        n_model_abstained=int((oc_cal == Outcome.ABSTAINED).sum()), n_precheck_blocked=int(fired.sum()),
        n_usable=int(usable.sum()), n_usable_correct=n_usable_correct,
        refitted=("calibrator", "risk_policy") + (("combiner",) if refit_detector else ()),
        kept=("signals",) + (() if refit_detector else ("combiner",)) + (() if new.precheck_ is None else ("pre-check",)),
        probes=tuple(sorted(new.signal_set_.estimators_)),
        alpha=float(new.alpha), delta=float(new.delta), certified=bool(new.fit_summary_.certified),
        tightest_alpha=new.tightest_alpha_, min_correct=need,
        at_alpha=operating_point(new, cal, oc_cal, new.alpha),
        at_tightest=None if new.tightest_alpha_ is None else operating_point(new, cal, oc_cal, new.tightest_alpha_),
        before=operating_point(guard, cal, oc_cal, new.alpha if level_key(new.alpha) in guard.certified_levels()
                               else guard.alpha),
        frontier=tuple(new.certified_frontier()),
    )
    return new


def operating_point(guard: Guard, generations: Sequence[Generation], outcomes, alpha: float) -> OperatingPoint:
    """What ``guard`` does at level ``alpha`` (one of its certified levels) on graded generations
    (:func:`~nescio.policy.scoring.tally_at_level`, the rule ``nescio eval``'s frontier uses)."""
    gens = list(generations)
    oc = as_outcomes(outcomes, len(gens), "operating point")
    d = guard.decide(gens)
    t = tally_at_level(guard.policy_, alpha, d.scores, d.precheck_fired | d.model_abstained, oc)
    answered, halluc = t.n_answered, t.n_hallucinated
    has_correct = bool((oc == Outcome.CORRECT).any())
    return OperatingPoint(alpha=float(alpha), threshold=float(guard.policy_.thresholds(alpha)[0]), n=len(gens),
                          answered=answered, hallucinated=halluc, kept=t.kept if has_correct else None,
                          realised_risk=halluc / answered if answered else None)


def _add_level(guard: Guard, alpha: float | None) -> None:
    """Certify ``alpha`` too (from the policy's saved counts: the same thresholds elsewhere)."""
    if alpha is None or level_key(alpha) in guard.policy_.certified_levels_:
        return
    guard.levels = tuple(sorted(set(guard.levels) | {float(alpha)}))
    old = guard.policy_
    guard.policy_ = RiskPolicy(old.alpha, old.delta, old.hedge_alpha, guard.levels, old.n_starts).fit_counts(
        old.risk_.n_answered_, old.risk_.n_hallucinated_)
    guard._set_derived()


def _too_few_message(alpha, delta, n_cal, n_usable, n_correct, need, refit_detector, n) -> str:
    acc = n_correct / n_cal if n_cal else 0.0
    what = (f"{n_cal} calibration questions ({n - n_cal} went to the combiner)" if refit_detector
            else f"{n_cal} questions")
    head = (f"too few correct answers to certify α = {alpha:g} at δ = {delta:g}: of your {what}, {n_usable} can be "
            f"used (the model answered and the pre-check let them through) and {n_correct} of those are correct; "
            f"a certificate needs at least {need} correct answers")
    if n_correct == 0:
        return head + "; the model answered none of these correctly, so more of the same questions cannot help"
    total = questions_needed(alpha, delta, acc)
    if refit_detector:
        total = int(math.ceil(total * n / n_cal))
    return (head + f", so at this accuracy ({acc:.1%}) at least about {total:,} labelled questions"
            f"{' in all' if refit_detector else ''} (more unless the detector ranks every correct answer first), "
            "or a larger --alpha")


# ------------------------------------------------------------------ the workflow behind `nescio calibrate`
def calibrate(model, guard_dir: str | Path, bench: str, out: str | Path, *, alpha: float | None = None,
              delta: float | None = None, refit_detector: bool = False, detector_share: float = 0.5,
              overwrite: bool = False, generations_dir: str | Path | None = None, limit: int | None = None,
              random_state: int = 0, progress: bool = True, calibrator: str | None = None) -> RecalibrationSummary:
    """Recalibrate the guard saved in ``guard_dir`` on the labelled questions ``bench`` (any spec
    :func:`nescio.data.load_questions` accepts) and save the new guard to ``out``. ``model``: a
    LoadedModel or spec; None uses the one the guard records.

    Generates the answers with the captures the guard reads (resumable: the store lives in
    ``generations_dir``, default ``out/generations``), grades them, calls :func:`recalibrate`
    and writes the guard (loadable with :meth:`Guard.load`) plus ``recalibration.json``.
    ``calibrator``: another calibration method than the guard's (default: keep its own).
    ``out`` already holding a guard is refused unless ``overwrite``."""
    from nescio.data import load_questions
    from nescio.grading import grade_outcomes
    from nescio.models.io import generate_stored
    from nescio.models.backend import HFBackend
    from nescio.policy.answering import ensure_model

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NescioError(f"--out {out} is a file; give a directory for the new guard")
    if (out / "guard.json").exists() and not overwrite:
        raise NescioError(f"{out} already holds a guard; pass --overwrite to replace it, or choose another --out")
    if not (Path(guard_dir) / "guard.json").is_file():
        raise NescioError(f"--guard {guard_dir} is not a saved guard (no guard.json); give a directory written by "
                          "nescio eval (…/guard) or Guard.save")
    for name, value in (("alpha", alpha), ("delta", delta)):
        if value is not None:
            check_level(name, value)
    if limit is not None and limit < 10:
        raise NescioError(f"--limit must be at least 10 questions, got {limit}")
    if calibrator is not None:
        check_calibration_method(calibrator)
    questions = list(load_questions(bench))[:limit]
    _check_labelled(questions, bench)
    if model is None:  # the model the guard was fitted for
        from nescio.models.embedded import DEFAULT_MODEL

        model = Guard.load(guard_dir).model_spec_ or DEFAULT_MODEL
    lm = ensure_model(model)
    guard = Guard.load(guard_dir, model_id=lm.model_id)
    guard.check_backend(HFBackend(lm))  # its probes, kept, must read this dtype's internals as they were fitted
    gens = generate_stored(lm, questions, guard.generation_config_, Path(generations_dir or out / "generations"),
                           progress=progress)
    new = recalibrate(guard, gens, grade_outcomes(gens), alpha=alpha, delta=delta, refit_detector=refit_detector,
                      detector_share=detector_share, random_state=random_state, calibrator=calibrator,
                      dtype=lm.dtype, device=lm.device)
    _save(new, out, {"source_guard": str(guard_dir), "bench": bench, "model": lm.spec, "model_id": lm.model_id})
    return new.recalibration_


def _check_labelled(questions, bench: str) -> None:
    if len(questions) < 10:
        raise NescioError(f"{bench!r} has {len(questions)} questions; calibration needs at least 10 labelled ones")
    unlabelled = [q for q in questions if q.answerable and not q.answers]
    if unlabelled:
        raise NescioError(f"{len(unlabelled)} questions of {bench!r} (e.g. {unlabelled[0].id!r}) are answerable but "
                          "have no gold answers; calibration needs labelled questions: give 'answers' for each "
                          "answerable one, or 'answerable': false")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise NescioError(f"question id {dup!r} appears twice in {bench!r}; ids must be unique")


def _save(guard: Guard, out: Path, provenance: dict) -> None:
    """Write the guard to ``out`` via a sibling temporary directory, replacing an earlier one."""
    import json
    import shutil
    import tempfile

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".calibrate-", dir=out))
    try:
        guard.save(tmp)
        (tmp / RECALIBRATION_FILE).write_text(json.dumps(provenance | guard.recalibration_.to_json(), indent=1),
                                              encoding="utf-8")
        (out / "guard.json").unlink(missing_ok=True)  # the JSON marks a complete guard: remove it first
        for p in sorted(tmp.iterdir(), key=lambda p: p.name == "guard.json"):
            dest = out / p.name
            if dest.is_dir():
                shutil.rmtree(dest)
            elif dest.exists():
                dest.unlink()
            p.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
