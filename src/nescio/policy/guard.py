"""The Guard: signal set + detector + risk policy + knowability pre-check, fitted on generations.

The guard holds no model: decisions are a function of generations.

- ``Guard.from_model(model, questions, alpha=0.1, ...)`` generates answers for the training
  and calibration questions (one greedy pass that captures what the signals read), grades
  them and calls :meth:`Guard.fit`;
- ``guard.fit(train_gens, train_outcomes, cal_gens, cal_outcomes)`` fits the fitted signals
  and the detector's combiner on the training split, then — on the calibration split — the
  calibrator, the pre-check threshold, the Learn-then-Test answer threshold (hallucination
  rate among answered ≤ α w.p. ≥ 1 − δ), the hedge floor and the thresholds at the other
  :meth:`certified_levels`;
- ``guard.decide(generations, alpha=None) -> DecisionBatch``;
  ``nescio.policy.answer(model, guard, texts)`` generates and decides (pre-check first).

Decision order for one question:
1. pre-check: the knowability probe says "unknowable" → abstain (the answer is never shown);
2. the model declined by itself → abstain, keeping its own words;
3. detector score ≥ threshold → answer; ≥ hedge floor → hedged answer; else abstain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.artifacts import damaged, read_artifact, write_artifact
from nescio.params import Params, from_params
from nescio.policy.calibrate import DEFAULT_CALIBRATOR, check_calibration_method
from nescio.policy.detector import Detector
from nescio.policy.placement import FitPlacement, check_backend, fitted_placement
from nescio.policy.precheck import PRECHECK_REASON, PRECHECK_SIGNAL, PreCheck, PrecheckResult
from nescio.policy.risk import ALPHA_LEVELS, FrontierPoint, RiskPolicy, check_level
from nescio.policy.scoring import ABSTAIN_TEXT, BandPolicy
from nescio.policy.signalset import SignalSet, check_signals
from nescio.types import MAX_QUESTION_CHARS, check_question  # noqa: F401  (re-exported)
from nescio.types import Action, DecisionBatch, Generation, GenerationConfig, NescioError, Outcome, Question

GUARD_SCHEMA_VERSION = 2
DEFAULT_SIGNALS = (
    "sequence_nll", "mean_token_nll", "max_token_nll", "mean_token_entropy", "max_token_entropy",
    "one_minus_first_token_margin", "probe_last_prompt", "probe_answer_mean",
)
"""Cheap signals (read off the greedy pass) + probes on captured residual streams."""


@dataclass(frozen=True)
class GuardFitSummary:
    """What fitting found. Thresholds are on the detector's raw score (``inf``: nothing certified).

    ``tightest_alpha``: the smallest risk level (step 0.01) at which a threshold could be
    certified at δ on this calibration split — a diagnostic: choosing α after seeing it
    voids the guarantee."""

    n_train: int
    n_calibration: int
    threshold: float
    hedge_floor: float | None
    precheck_threshold: float
    certified: bool
    calibration_answered: int
    calibration_risk_upper_bound: float
    tightest_alpha: float | None

    def to_json(self) -> dict:
        return {k: _json_float(v) if isinstance(v, float) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, d: dict) -> GuardFitSummary:
        return cls(**{k: (float(v) if isinstance(v, str) else v) for k, v in d.items()})


def as_outcomes(outcomes, n: int, what: str) -> np.ndarray:
    """Outcomes as an object array of :class:`Outcome` (strings accepted; a typo is a NescioError)."""
    out = np.empty(n, dtype=object)
    values = [Outcome.coerce(o) for o in outcomes]
    if len(values) != n:
        raise NescioError(f"{what}: {len(values)} outcomes for {n} generations")
    out[:] = values
    return out


class Guard(Params):
    """Answer-or-abstain policy with a stated hallucination rate, fitted on generations.

    Parameters (stored as given; scikit-learn style)
    ----------
    alpha, delta : risk target: hallucinations among answered ≤ alpha w.p. ≥ 1 − delta.
    signals : registry signal names, computed or fitted (any of ``nescio.signals.list_signals()``);
        default :data:`DEFAULT_SIGNALS`.
    hedge_alpha : looser risk level whose certified threshold becomes the hedge floor (None: no hedging).
    use_precheck : use the knowability pre-check (:class:`~nescio.policy.precheck.PreCheck`; run alone by :meth:`precheck`).
    precheck_alpha : allowed share of answerable questions among those the pre-check blocks.
    detector : ``"logistic"`` or ``"boosting"``; calibrator : ``"isotonic-smooth"`` (default),
        ``"isotonic"``, ``"platt"`` or ``"venn-abers"`` (:mod:`nescio.policy.calibrate`).
    max_new_tokens : answer length budget for generation.
    levels : extra risk levels certified at fit time (see :meth:`certified_levels`).

    Learned (after :meth:`fit`): ``signal_set_``, ``detector_``, ``policy_`` (thresholds),
    ``precheck_`` (None when off), ``threshold_``, ``hedge_floor_``, ``tightest_alpha_``,
    ``generation_config_`` (what generation must capture for :meth:`decide`),
    ``precheck_config_`` (the prefill-only config for :meth:`precheck`; None when off),
    ``fit_summary_`` (:class:`GuardFitSummary`), ``model_id_`` / ``model_spec_``, ``placement_``
    (the dtype and device kind it was fitted under, and its probe sample: :mod:`nescio.policy.placement`).
    """

    def __init__(self, alpha: float = 0.1, delta: float = 0.1, signals: Sequence[str] | None = None,
                 hedge_alpha: float | None = 0.3, use_precheck: bool = True, precheck_alpha: float = 0.05,
                 detector: str = "logistic", calibrator: str = DEFAULT_CALIBRATOR, max_new_tokens: int = 24,
                 random_state: int = 0, levels: Sequence[float] = ALPHA_LEVELS):
        self.alpha = alpha
        self.delta = delta
        self.signals = signals
        self.hedge_alpha = hedge_alpha
        self.use_precheck = use_precheck
        self.precheck_alpha = precheck_alpha
        self.detector = detector
        self.calibrator = calibrator
        self.max_new_tokens = max_new_tokens
        self.random_state = random_state
        self.levels = levels

    # ------------------------------------------------------------------ configuration
    def _check_params(self) -> list[str]:
        check_level("alpha", self.alpha)
        check_level("delta", self.delta)
        if self.hedge_alpha is not None:
            check_level("hedge_alpha", self.hedge_alpha)
        if self.use_precheck:
            check_level("precheck_alpha", self.precheck_alpha)
        check_calibration_method(self.calibrator)
        return check_signals(self.signals, DEFAULT_SIGNALS)

    def _parts(self) -> tuple[SignalSet, PreCheck | None]:
        names = self._check_params()
        pre = PreCheck(self.precheck_alpha, self.delta, PRECHECK_SIGNAL, self.random_state) if self.use_precheck else None
        return SignalSet(tuple(names), random_state=self.random_state), pre

    def generation_config(self, model=None) -> GenerationConfig:
        """What generation must provide: after fit, :attr:`generation_config_`; before, what
        fitting needs (probes capture the layers their search covers: a subset of ``model``'s
        layers when given, else every layer)."""
        if hasattr(self, "generation_config_"):
            return self.generation_config_
        from nescio.signals.registry import merge_captures

        ss, pre = self._parts()
        n_layers = _n_layers(model) if model is not None else None
        needs = ss.capture_needs(n_layers=n_layers, fitting=True)
        if pre is not None:
            needs["capture"] = merge_captures(needs["capture"] + pre.capture_needs(n_layers=n_layers, fitting=True)["capture"])
        return GenerationConfig(max_new_tokens=self.max_new_tokens, **needs)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def from_model(cls, model, questions: Sequence[Question] | None = None, *, train: Sequence[Question] | None = None,
                   calibration: Sequence[Question] | None = None, progress: bool = True, **params) -> Guard:
        """Fit a guard for ``model`` (a LoadedModel or a spec string): generate, grade, :meth:`fit`.

        Either ``questions`` carrying ``split`` fields ("train" / "calibration"; others are
        ignored) or separate ``train`` and ``calibration`` lists. ``params`` are the
        constructor's (alpha, delta, signals, hedge_alpha, use_precheck, ...)."""
        from nescio.grading import grade_outcomes
        from nescio.models.backend import as_backend

        guard = cls(**params)
        guard._check_params()
        backend = as_backend(model)
        train, calibration = split_questions(questions, train, calibration)
        gens = backend.generate(list(train) + list(calibration), guard.generation_config(model=backend),
                                progress=progress)
        by_id = {g.question.id: g for g in gens}
        tr = [by_id[q.id] for q in train]
        ca = [by_id[q.id] for q in calibration]
        return guard.fit(tr, grade_outcomes(tr), ca, grade_outcomes(ca), model_id=backend.model_id,
                         model_spec=getattr(backend, "spec", backend.model_id), dtype=backend.dtype, device=backend.device)

    def precheck_fit_config(self, model=None) -> GenerationConfig | None:
        """The prefill-only config (one forward pass over the prompt, no answer) whose passes
        :meth:`fit` accepts as ``precheck_train`` / ``precheck_calibration``; None when the
        pre-check is off."""
        _, pre = self._parts()
        if pre is None:
            return None
        n_layers = _n_layers(model) if model is not None else None
        return GenerationConfig(max_new_tokens=1, capture=pre.capture_needs(n_layers=n_layers, fitting=True)["capture"])

    def fit(self, train_generations: Sequence[Generation], train_outcomes: Sequence[Outcome],
            calibration_generations: Sequence[Generation], calibration_outcomes: Sequence[Outcome], *,
            model_id: str | None = None, model_spec: str | None = None,
            precheck_train: Sequence[Generation] | None = None,
            precheck_calibration: Sequence[Generation] | None = None,
            dtype: str | None = None, device: str | None = None) -> Guard:
        """Fit on generations and their graded :class:`Outcome` s; returns self.

        ``model_id`` / ``model_spec`` record which model made the generations
        (:meth:`load` refuses another model id); ``dtype`` / ``device`` where (default float32,
        cpu; :meth:`check_backend` checks another dtype). ``precheck_train`` / ``precheck_calibration``:
        fit and certify the pre-check on these instead (e.g. a larger, more varied question set;
        prefill-only passes made with :meth:`precheck_fit_config` suffice: its label is the
        questions' ``answerable`` field, no answer or grade is needed)."""
        if (precheck_train is None) != (precheck_calibration is None):
            raise NescioError("give both precheck_train= and precheck_calibration= generations, or neither")
        ss, pre = self._parts()
        train, cal = list(train_generations), list(calibration_generations)
        ot = as_outcomes(train_outcomes, len(train), "train")
        oc = as_outcomes(calibration_outcomes, len(cal), "calibration")
        self.model_id_ = None if model_id is None else str(model_id)
        self.model_spec_ = None if model_spec is None else str(model_spec)
        # 1. signals and the combiner on train (the model's own abstentions left out)
        X_train = ss.fit_transform(train, ot)
        mt = ot != Outcome.ABSTAINED
        det = Detector(ss.signals, kind=self.detector, calibration=self.calibrator, random_state=self.random_state)
        det.fit(X_train[mt], ot[mt] == Outcome.CORRECT)
        # 2. pre-check: blocked answerable questions certified ≤ precheck_alpha
        if pre is not None and precheck_train is not None:
            pre_train, pre_cal = list(precheck_train), list(precheck_calibration)
            if not pre_train or not pre_cal:
                raise NescioError("precheck_train and precheck_calibration must not be empty")
            pre.fit(pre_train, None, pre_cal)
        elif pre is not None:
            pre.fit(train, ot, cal)
        # 3. calibrator and risk thresholds on calibration
        return self._fit_calibration(ss, det, pre, cal, oc, n_train=len(train), dtype=dtype, device=device)

    def _fit_calibration(self, ss: SignalSet, det: Detector, pre: PreCheck | None, cal: list[Generation],
                         oc: np.ndarray, *, n_train: int, dtype: str | None = None, device: str | None = None
                         ) -> Guard:
        """The calibration-split steps of :meth:`fit` with the signal set, combiner and pre-check
        already fitted: the calibrator, then Learn-then-Test thresholds on the calibration
        questions the guard would otherwise answer (the model's own abstentions and pre-check
        blocks left out); sets the learned state and the fit summary. ``det`` is modified.
        Also the step :func:`nescio.policy.recalibration.recalibrate` repeats on a user's questions."""
        X_cal = ss.transform(cal)
        mc = oc != Outcome.ABSTAINED
        det.fit_calibration(X_cal[mc], oc[mc] == Outcome.CORRECT)
        fired_c = pre.check(cal).fired if pre is not None else np.zeros(len(cal), dtype=bool)
        s_cal = det.raw_score(X_cal)
        use = mc & ~fired_c
        policy = RiskPolicy(self.alpha, self.delta, self.hedge_alpha, tuple(self.levels)).fit(
            s_cal[use], oc[use] == Outcome.HALLUCINATED)
        self.signal_set_, self.detector_, self.precheck_, self.policy_ = ss, det, pre, policy
        old = getattr(self, "placement_", FitPlacement())  # recalibration keeps the dtype unless told
        self.placement_ = fitted_placement(dtype or old.dtype, device or old.device_kind, cal, s_cal)
        self._set_derived()
        self.fit_summary_ = GuardFitSummary(
            n_train=n_train, n_calibration=len(cal), threshold=float(self.threshold_),
            hedge_floor=self.hedge_floor_, precheck_threshold=float(pre.threshold_) if pre else float("inf"),
            certified=policy.risk_.certified_, calibration_answered=int((s_cal[use] >= self.threshold_).sum()),
            calibration_risk_upper_bound=policy.risk_.upper_bound_at(self.threshold_),
            tightest_alpha=policy.tightest_alpha_)
        return self

    def _set_derived(self) -> None:
        from nescio.signals.registry import merge_captures

        self.threshold_ = self.policy_.threshold_
        self.hedge_floor_ = self.policy_.hedge_floor_
        self.tightest_alpha_ = self.policy_.tightest_alpha_
        needs = self.signal_set_.capture_needs()
        self.precheck_config_ = None
        if self.precheck_ is not None:
            pre_capture = self.precheck_.capture_needs()["capture"]
            needs["capture"] = merge_captures(needs["capture"] + pre_capture)
            self.precheck_config_ = GenerationConfig(max_new_tokens=1, capture=pre_capture)
        self.generation_config_ = GenerationConfig(max_new_tokens=self.max_new_tokens, **needs)

    @property
    def signal_names_(self) -> tuple[str, ...]:
        self._check_fitted()
        return tuple(self.signal_set_.signals)

    def certified_levels(self) -> dict[float, float]:
        """Risk level α → the answer threshold certified at it (on the detector's raw score),
        precomputed at fit time for the fitted α, ``hedge_alpha`` and ``levels``. A threshold
        of ``inf`` means nothing could be certified at that α (the guard then answers nothing
        unhedged). :meth:`decide` accepts exactly these α."""
        self._check_fitted()
        return dict(self.policy_.certified_levels_)

    def certified_frontier(self) -> list[FrontierPoint]:
        """Every level this guard certified, tightest first, with what its threshold answers on the
        calibration split (:meth:`nescio.policy.risk.RiskPolicy.frontier`)."""
        self._check_fitted()
        return self.policy_.frontier()

    # ------------------------------------------------------------------ deciding
    def precheck(self, generations: Sequence[Generation]) -> PrecheckResult:
        """Run the knowability pre-check alone, on full generations or on prefill-only ones made
        with :attr:`precheck_config_` (one forward pass over the prompt, no answer), so a caller
        can abstain without generating. Never fires when the pre-check is off or uncertified."""
        self._check_fitted()
        gens = list(generations)
        if self.precheck_ is None:
            return PrecheckResult(np.zeros(len(gens), dtype=bool), np.full(len(gens), np.nan))
        return self.precheck_.check(gens)

    def decide(self, generations: Sequence[Generation], *, alpha: float | None = None,
               precheck: PrecheckResult | None = None) -> DecisionBatch:
        """Decide for each generation: answer, hedge or abstain, with P(correct) and the reason.

        ``alpha=None`` uses the fitted α; any other α must be one of :meth:`certified_levels`
        (else a NescioError naming them). ``precheck``: the pre-check already run on these
        questions' prefills (:meth:`precheck`), not computed again. No model is needed."""
        from nescio.grading import model_abstained

        self._check_fitted()
        threshold, floor = self.policy_.thresholds(alpha)
        a = float(self.alpha if alpha is None else alpha)
        gens = list(generations)
        n = len(gens)
        X = self.signal_set_.transform(gens) if gens else np.zeros((0, len(self.signal_names_)))
        score = self.detector_.raw_score(X) if gens else np.zeros(0)
        p = self.detector_.predict_proba(X) if gens else np.zeros(0)
        pc = self.precheck(gens) if precheck is None else precheck
        if len(pc.fired) != n:
            raise NescioError(f"decide got a pre-check result for {len(pc.fired)} questions, not {n}")
        declined = np.array([model_abstained(g.text) for g in gens], dtype=bool)
        band = BandPolicy(threshold, floor)
        actions = list(band.actions(score))
        texts, reasons = [], []
        for i, g in enumerate(gens):
            answer = g.text.strip()
            if pc.fired[i] or declined[i]:
                actions[i] = Action.ABSTAIN
            if pc.fired[i]:
                reasons.append(PRECHECK_REASON)
            elif declined[i]:
                reasons.append("the model itself declined to answer")
            elif actions[i] is Action.ANSWER:
                reasons.append(f"P(correct) = {p[i]:.2f}; score clears the threshold certified for α = {a:g}")
            elif actions[i] is Action.HEDGE:
                reasons.append(f"P(correct) = {p[i]:.2f}; between the hedge floor and the answer threshold")
            else:
                reasons.append(f"P(correct) = {p[i]:.2f}; too low to answer at α = {a:g}")
            texts.append((answer or ABSTAIN_TEXT) if declined[i] and not pc.fired[i] else band.render(actions[i], answer))
        return DecisionBatch(
            question_ids=tuple(g.question.id for g in gens), actions=tuple(actions), texts=tuple(texts),
            answers=tuple(g.text.strip() for g in gens), p_correct=p, scores=score, precheck_fired=pc.fired,
            model_abstained=declined, reasons=tuple(reasons), signal_names=self.signal_names_, signals=X,
            alpha=a, delta=float(self.delta), certified=bool(np.isfinite(threshold)), precheck_scores=pc.scores,
            precheck_signal=PRECHECK_SIGNAL)

    def check_model(self, model_id: str) -> None:
        """Raise NescioError unless ``model_id`` is the model this guard was fitted for."""
        if self.model_id_ is not None and str(model_id) != self.model_id_:
            raise NescioError(f"this guard was fitted for model {self.model_spec_!r} ({self.model_id_}), "
                              f"not {model_id}; fit a guard for this model")

    def check_backend(self, backend, *, post_passes=None, tolerance: float | None = None) -> float:
        """Its model; another dtype only if the probe sample agrees (:func:`nescio.policy.placement.check_backend`)."""
        return check_backend(self, backend, post_passes=post_passes, tolerance=tolerance)

    def _check_fitted(self) -> None:
        if not hasattr(self, "policy_"):
            raise NescioError("guard is not fitted; call Guard.from_model(model, questions), guard.fit(...) "
                              "or Guard.load(dir)")

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``guard.json`` + ``guard.safetensors`` and one probe pair per fitted signal."""
        self._check_fitted()
        directory = Path(directory)
        det_meta, arrays = self.detector_.state()
        risk = self.policy_.risk_
        arrays |= {"risk.grid": risk.grid_, "risk.n_answered": risk.n_answered_, "risk.n_hallucinated": risk.n_hallucinated_}
        meta = {
            "model_id": self.model_id_, "model_spec": self.model_spec_, "params": self.get_params(),
            "signal_set": self.signal_set_.save(directory / "probes"),
            "detector": det_meta,
            "policy": {"params": self.policy_.get_params(),
                       "certified_levels": {str(k): _json_float(v) for k, v in self.policy_.certified_levels_.items()}},
            "precheck": None if self.precheck_ is None else self.precheck_.state(directory / "precheck"),
            "generation_config": _config_json(self.generation_config_),
            "fit_summary": self.fit_summary_.to_json(),
            "placement": self.placement_.to_json(),
        }
        return write_artifact(directory, "guard", artifact="guard", version=GUARD_SCHEMA_VERSION, meta=meta, arrays=arrays)

    @classmethod
    def load(cls, directory: str | Path, *, model_id: str | None = None) -> Guard:
        """Load a saved guard; with ``model_id``, refuse one fitted for another model.

        Damaged or foreign files are a one-line NescioError naming the file."""
        from nescio.models.io import config_from_dict

        directory = Path(directory)
        meta, arrays = read_artifact(directory, "guard", artifact="guard", version=GUARD_SCHEMA_VERSION,
                                     required=("params", "signal_set", "detector", "policy", "precheck", "fit_summary"))
        try:
            guard = from_params(cls, meta["params"])
            guard.model_id_, guard.model_spec_ = meta.get("model_id"), meta.get("model_spec")
            guard.signal_set_ = SignalSet.load(directory / "probes", meta["signal_set"])
            guard.detector_ = Detector.from_state(meta["detector"], arrays)
            guard.policy_ = from_params(RiskPolicy, meta["policy"]["params"]).fit_counts(
                arrays["risk.n_answered"], arrays["risk.n_hallucinated"])
            guard.precheck_ = None if meta["precheck"] is None else PreCheck.from_state(meta["precheck"], directory / "precheck")
            guard._set_derived()
            guard.fit_summary_ = GuardFitSummary.from_json(meta["fit_summary"])
            guard.placement_ = FitPlacement.from_json(meta.get("placement"))  # absent before: float32 on cpu
            saved_config = config_from_dict(meta["generation_config"])
        except NescioError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise damaged(directory / "guard.json", exc) from None
        if saved_config != guard.generation_config_:
            raise NescioError(f"{directory / 'guard.json'}: damaged, its generation config does not match its probes")
        if model_id is not None:
            guard.check_model(model_id)
        return guard


def split_questions(questions, train, calibration) -> tuple[list[Question], list[Question]]:
    """Resolve the training and calibration lists from ``questions`` (by split) or explicit lists."""
    if train is not None or calibration is not None:
        if train is None or calibration is None:
            raise NescioError("give both train= and calibration= question lists, or questions with split fields")
        train, calibration = list(train), list(calibration)
    else:
        if not questions:
            raise NescioError("no questions given; pass questions with split 'train'/'calibration' or train= and calibration=")
        qs = list(questions)
        train = [q for q in qs if q.split == "train"]
        calibration = [q for q in qs if q.split == "calibration"]
        if not train or not calibration:
            raise NescioError("questions need split fields 'train' and 'calibration' (or pass train= and calibration=)")
    if len(train) < 10 or len(calibration) < 10:
        raise NescioError(f"too few questions to fit a guard (train {len(train)}, calibration {len(calibration)}); need ≥ 10 each")
    return train, calibration


def _n_layers(model) -> int | None:
    n = getattr(model, "n_layers", None)
    if n:
        return int(n)
    cfg = getattr(getattr(model, "model", None), "config", None)
    return int(getattr(cfg, "num_hidden_layers", 0)) or None


def _config_json(config: GenerationConfig) -> dict:
    from nescio.models.io import config_to_dict

    return config_to_dict(config)


def _json_float(x):
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else ("inf" if x > 0 else "-inf")
