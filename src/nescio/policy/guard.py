"""The Guard: model + signals (+ fitted probes) + calibrated detector + risk-controlled policy.

``Guard.fit(model, questions, alpha=0.1, delta=0.1)`` generates answers for the training
and calibration questions (one greedy pass that also captures what the probes read),
fits the probes and the detector's combiner on the training split, then — on the
calibration split — the calibrator, the Learn-then-Test answer threshold (hallucination
rate among answered ≤ alpha w.p. ≥ 1 − delta), the hedge floor and the knowability
pre-check. ``guard.ask(text)`` answers one question with a :class:`~nescio.types.Decision`.

Decision order for one question:
1. pre-check: the last-prompt-token knowability probe says "unknowable" with high
   confidence → abstain (the answer is never shown);
2. the model declined by itself → abstain, keeping its own words;
3. detector score ≥ threshold → answer; ≥ hedge floor → hedged answer; else abstain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.artifacts import read_artifact, write_artifact
from nescio.models.io import config_from_dict, config_to_dict
from nescio.policy import adapters
from nescio.policy.detector import Detector
from nescio.policy.risk import RiskController, check_level
from nescio.policy.scoring import ABSTAIN, ABSTAIN_TEXT, ANSWER, HEDGE, BandPolicy
from nescio.types import (
    Decision,
    Generation,
    GenerationConfig,
    NescioError,
    Question,
)

GUARD_SCHEMA_VERSION = 1
MAX_QUESTION_CHARS = 4000
DEFAULT_SIGNALS = adapters.DEFAULT_SIGNALS
PRECHECK_SIGNAL = adapters.PRECHECK_SIGNAL


def check_question(text: object) -> str:
    """Validate a user question: a non-empty string of at most MAX_QUESTION_CHARS characters."""
    if not isinstance(text, str):
        raise NescioError(f"question must be a string, got {type(text).__name__}")
    if not text.strip():
        raise NescioError("question is empty; give a non-empty question")
    if len(text) > MAX_QUESTION_CHARS:
        raise NescioError(f"question is {len(text):,} characters long; accepted: at most {MAX_QUESTION_CHARS:,}")
    return text.strip()


class Guard:
    """Answer-or-abstain wrapper around a model with a stated hallucination rate.

    Parameters (stored as given; see :meth:`fit`)
    ----------
    alpha, delta : risk target: hallucinations among answered ≤ alpha w.p. ≥ 1 − delta.
    signals : signal names (registry names, probes included); default :data:`DEFAULT_SIGNALS`.
    hedge_alpha : looser risk level whose certified threshold becomes the hedge floor
        (None disables hedging).
    precheck : use the last-prompt knowability probe to abstain before answering.
    precheck_alpha : allowed share of answerable questions among those the pre-check blocks.
    detector : ``"logistic"`` or ``"boosting"``; calibrator : ``"isotonic"`` or ``"platt"`` (the calibration method).
    max_new_tokens : answer length budget.
    """

    def __init__(
        self,
        alpha: float = 0.1,
        delta: float = 0.1,
        signals: Sequence[str] | None = None,
        hedge_alpha: float | None = 0.3,
        precheck: bool = True,
        precheck_alpha: float = 0.05,
        detector: str = "logistic",
        calibrator: str = "isotonic",
        max_new_tokens: int = 24,
        random_state: int = 0,
    ):
        self.alpha = alpha
        self.delta = delta
        self.signals = signals
        self.hedge_alpha = hedge_alpha
        self.precheck = precheck
        self.precheck_alpha = precheck_alpha
        self.detector = detector
        self.calibrator = calibrator
        self.max_new_tokens = max_new_tokens
        self.random_state = random_state
        self.model = None

    # ------------------------------------------------------------------ config
    def _signal_names(self) -> list[str]:
        names = list(DEFAULT_SIGNALS if self.signals is None else self.signals)
        if not names:
            raise NescioError("signals list is empty; name at least one signal")
        for name in names:
            adapters.check_signal(name)
        return names

    def _probe_names(self) -> list[str]:
        names = [n for n in self._signal_names() if adapters.is_fitted_signal(n)]
        if self.precheck and PRECHECK_SIGNAL not in names:
            names.append(PRECHECK_SIGNAL)
        return names

    def generation_config(self, probes: dict | None = None, model=None) -> GenerationConfig:
        """What generation must capture for this guard (probes narrow to their layers once fitted;
        before fitting, to the layers their search covers when ``model`` is given)."""
        names = self._signal_names() + ([PRECHECK_SIGNAL] if self.precheck else [])
        n_layers = _n_layers(model) if model is not None else None
        needs = adapters.capture_needs(list(dict.fromkeys(names)), probes=probes, n_layers=n_layers)
        return GenerationConfig(max_new_tokens=self.max_new_tokens, **needs)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls,
        model,
        questions: Sequence[Question] | None = None,
        *,
        train: Sequence[Question] | None = None,
        calibration: Sequence[Question] | None = None,
        progress: bool = True,
        **params,
    ) -> Guard:
        """Fit a guard for ``model`` (a LoadedModel or a spec string).

        Either ``questions`` carrying ``split`` fields ("train" / "calibration"; others are
        ignored) or separate ``train`` and ``calibration`` lists. ``params`` are the
        constructor's (alpha, delta, signals, hedge_alpha, precheck, ...).
        """
        guard = cls(**params)
        check_level("alpha", guard.alpha)
        check_level("delta", guard.delta)
        guard._signal_names()
        model = adapters.ensure_model(model)
        train, calibration = split_questions(questions, train, calibration)
        config = guard.generation_config(model=model)
        gens = adapters.generate(model, list(train) + list(calibration), config, progress=progress)
        by_id = {g.question.id: g for g in gens}
        train_g = [by_id[q.id] for q in train]
        cal_g = [by_id[q.id] for q in calibration]
        outcomes_t = adapters.grade_outcomes(train_g)
        outcomes_c = adapters.grade_outcomes(cal_g)
        return guard.fit_generations(model, train_g, outcomes_t, cal_g, outcomes_c)

    def fit_generations(
        self,
        model,
        train: Sequence[Generation],
        train_outcomes: Sequence[str],
        calibration: Sequence[Generation],
        calibration_outcomes: Sequence[str],
    ) -> Guard:
        """Fit from saved generations and their graded outcomes ("correct"/"hallucinated"/"abstained").

        ``model`` is the LoadedModel (or anything with ``model_id`` and ``spec``) the
        generations came from; the guard remembers its identity.
        """
        alpha = check_level("alpha", self.alpha)
        delta = check_level("delta", self.delta)
        names = self._signal_names()
        self.model = model if hasattr(model, "tokenizer") else None
        self.model_id_ = str(getattr(model, "model_id", model))
        self.model_spec_ = str(getattr(model, "spec", model))
        ot = np.asarray(train_outcomes, dtype=object)
        oc = np.asarray(calibration_outcomes, dtype=object)
        # 1. probes on the training split (out-of-fold scores for the combiner)
        self.probes_ = {}
        oof = {}
        for name in self._probe_names():
            est, scores = adapters.fit_probe_oof(name, list(train), ot, random_state=self.random_state)
            self.probes_[name] = est
            oof[name] = scores
        self.signal_names_ = tuple(names)
        X_train = adapters.signal_matrix(train, names, self.probes_, precomputed=oof)
        X_cal = adapters.signal_matrix(calibration, names, self.probes_)
        # 2. combiner on train (model's own abstentions left out), calibrator on calibration
        mt = ot != "abstained"
        mc = oc != "abstained"
        self.detector_ = Detector(names, kind=self.detector, calibration=self.calibrator, random_state=self.random_state)
        self.detector_.fit(X_train[mt], ot[mt] == "correct")
        self.detector_.fit_calibration(X_cal[mc], oc[mc] == "correct")
        # 3. pre-check on calibration: block when the unknowability score is high, with
        #    answerable questions among the blocked certified ≤ precheck_alpha.
        self.precheck_threshold_ = np.inf
        fired_c = np.zeros(len(calibration), dtype=bool)
        if self.precheck:
            pc = adapters.signal_matrix(calibration, [PRECHECK_SIGNAL], self.probes_)[:, 0]
            answerable = np.array([g.question.answerable for g in calibration])
            ok = np.isfinite(pc)
            rc = RiskController(check_level("precheck_alpha", self.precheck_alpha), delta, n_starts=1)
            rc.fit(_squash(pc[ok]), answerable[ok])
            self.precheck_threshold_ = rc.threshold_
            fired_c = self._precheck_fired(pc)
        # 4. risk control on calibration questions the guard would otherwise answer
        s_cal = self.detector_.raw_score(X_cal)
        use = mc & ~fired_c
        self.risk_ = RiskController(alpha, delta).fit(s_cal[use], oc[use] == "hallucinated")
        self.threshold_ = self.risk_.threshold_
        self.hedge_floor_ = None
        if self.hedge_alpha is not None:
            ha = check_level("hedge_alpha", self.hedge_alpha)
            floor = RiskController(max(ha, alpha), delta).fit(s_cal[use], oc[use] == "hallucinated").threshold_
            self.hedge_floor_ = float(min(floor, self.threshold_))
        self.generation_config_ = self.generation_config(self.probes_)
        self.fit_summary_ = {
            "n_train": len(train),
            "n_calibration": len(calibration),
            "threshold": _json_float(self.threshold_),
            "hedge_floor": _json_float(self.hedge_floor_),
            "precheck_threshold": _json_float(self.precheck_threshold_),
            "certified": self.risk_.certified_,
            "calibration_answered": int(self.risk_.answer_mask(s_cal[use]).sum()),
            "calibration_risk_upper_bound": _json_float(
                float(np.interp(-self.threshold_, -self.risk_.grid_, self.risk_.upper_bounds_)) if self.risk_.certified_ else 1.0
            ),
        }
        return self

    def _precheck_fired(self, precheck_scores: np.ndarray) -> np.ndarray:
        s = np.asarray(precheck_scores, dtype=float)
        return np.isfinite(s) & (_squash(np.nan_to_num(s, nan=-np.inf)) >= self.precheck_threshold_)

    # ------------------------------------------------------------------ deciding
    def decide_generations(self, generations: Sequence[Generation]) -> dict[str, np.ndarray]:
        """Vectorised decisions for saved generations.

        Returns arrays: ``action`` (answer/hedge/abstain), ``p_correct`` (calibrated),
        ``score`` (raw detector score), ``precheck_fired``, ``model_abstained``, ``reason``,
        and ``signals`` [n, n_signals].
        """
        self._check_fitted()
        gens = list(generations)
        X = adapters.signal_matrix(gens, list(self.signal_names_), self.probes_)
        score = self.detector_.raw_score(X) if gens else np.zeros(0)
        p = self.detector_.predict_proba(X) if gens else np.zeros(0)
        if self.precheck and np.isfinite(self.precheck_threshold_):
            fired = self._precheck_fired(adapters.signal_matrix(gens, [PRECHECK_SIGNAL], self.probes_)[:, 0])
        else:
            fired = np.zeros(len(gens), bool)
        declined = np.array([adapters.model_abstained(g.text) for g in gens], dtype=bool)
        band = BandPolicy(self.threshold_, self.hedge_floor_)
        action = band.actions(score)
        action[fired | declined] = ABSTAIN
        reason = np.empty(len(gens), dtype=object)
        for i in range(len(gens)):
            if fired[i]:
                reason[i] = "pre-check: the question looks unknowable to the model (last-prompt probe)"
            elif declined[i]:
                reason[i] = "the model itself declined to answer"
            elif action[i] == ANSWER:
                reason[i] = f"P(correct) = {p[i]:.2f}; score clears the threshold certified for α = {self.alpha}"
            elif action[i] == HEDGE:
                reason[i] = f"P(correct) = {p[i]:.2f}; between the hedge floor and the answer threshold"
            else:
                reason[i] = f"P(correct) = {p[i]:.2f}; too low to answer at α = {self.alpha}"
        return {"action": action, "p_correct": p, "score": score, "precheck_fired": fired,
                "model_abstained": declined, "reason": reason, "signals": X}

    def decisions(self, generations: Sequence[Generation]) -> list[Decision]:
        """:class:`Decision` objects for saved generations."""
        gens = list(generations)
        d = self.decide_generations(gens)
        band = BandPolicy(self.threshold_, self.hedge_floor_)
        out = []
        for i, g in enumerate(gens):
            act = d["action"][i]
            answer = g.text.strip()
            if d["model_abstained"][i] and not d["precheck_fired"][i]:
                shown = answer or ABSTAIN_TEXT
            else:
                shown = band.render(act, answer)
            out.append(
                Decision(
                    text=shown,
                    answer=None if act == ABSTAIN else answer,
                    abstained=act == ABSTAIN,
                    hedged=act == HEDGE,
                    p_correct=float(d["p_correct"][i]),
                    reason=str(d["reason"][i]),
                    signals={n: float(v) for n, v in zip(self.signal_names_, d["signals"][i])},
                )
            )
        return out

    def ask_many(self, texts: Sequence[str], *, progress: bool = False) -> list[Decision]:
        """Answer several questions (generation batched)."""
        self._check_fitted()
        if self.model is None:
            raise NescioError("this guard has no model attached; load it with Guard.load(dir, model)")
        questions = [Question(id=f"ask-{i}", text=check_question(t)) for i, t in enumerate(texts)]
        blocked, scores = self._precheck_before_generating(questions)
        todo = [q for q, b in zip(questions, blocked) if not b]
        gens = adapters.generate(self.model, todo, self.generation_config_, progress=progress) if todo else []
        answered = iter(self.decisions(gens))
        return [self._precheck_decision(s) if b else next(answered) for b, s in zip(blocked, scores)]

    def _precheck_before_generating(self, questions: Sequence[Question]) -> tuple[list[bool], list[float]]:
        """Run the knowability pre-check on the prompt alone (one prefill, one token).

        Questions it blocks are never generated for; the rest are generated as usual (their
        prefill is repeated: one extra forward pass, against ``max_new_tokens`` saved for each
        blocked question).
        """
        if not (self.precheck and np.isfinite(self.precheck_threshold_)):
            return [False] * len(questions), [float("nan")] * len(questions)
        needs = adapters.capture_needs([PRECHECK_SIGNAL], probes=self.probes_)
        config = GenerationConfig(max_new_tokens=1, capture=needs["capture"])
        prefills = adapters.generate(self.model, questions, config, progress=False)
        scores = adapters.signal_matrix(prefills, [PRECHECK_SIGNAL], self.probes_)[:, 0]
        return [bool(f) for f in self._precheck_fired(scores)], [float(x) for x in scores]

    def _precheck_decision(self, score: float) -> Decision:
        return Decision(text=ABSTAIN_TEXT, answer=None, abstained=True, hedged=False, p_correct=None,
                        reason="pre-check: the question looks unknowable to the model (last-prompt probe); "
                               "abstained before generating", signals={PRECHECK_SIGNAL: score})

    def ask(self, text: str) -> Decision:
        """Answer one question, or abstain, with the reason and the signals behind it."""
        return self.ask_many([text])[0]

    def _check_fitted(self) -> None:
        if not hasattr(self, "detector_"):
            raise NescioError("guard is not fitted; call Guard.fit(model, questions) or Guard.load(dir, model)")

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``guard.json`` + ``guard.safetensors`` (+ one file pair per probe) to ``directory``."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        det_meta, arrays = self.detector_.state()
        probes_meta = {}
        for name, est in self.probes_.items():
            probes_meta[name] = adapters.save_probe(est, directory / "probes" / name)
        meta = {
            "model_id": self.model_id_,
            "model_spec": self.model_spec_,
            "params": {k: getattr(self, k) for k in _PARAMS},
            "signals": list(self.signal_names_),
            "threshold": _json_float(self.threshold_),
            "hedge_floor": _json_float(self.hedge_floor_),
            "precheck_threshold": _json_float(self.precheck_threshold_),
            "detector": det_meta,
            "probes": probes_meta,
            "generation_config": config_to_dict(self.generation_config_),
            "fit_summary": self.fit_summary_,
        }
        if meta["params"]["signals"] is not None:
            meta["params"]["signals"] = list(meta["params"]["signals"])
        return write_artifact(directory, "guard", artifact="guard", version=GUARD_SCHEMA_VERSION, meta=meta,
                              arrays=arrays)

    @classmethod
    def load(cls, directory: str | Path, model=None) -> Guard:
        """Load a saved guard. ``model`` (LoadedModel or spec) must be the one it was fitted for.

        Pass ``model=None`` to load only the policy (for deciding on saved generations).
        """
        directory = Path(directory)
        meta, arrays = read_artifact(directory, "guard", artifact="guard", version=GUARD_SCHEMA_VERSION)
        guard = cls(**meta["params"])
        if model is not None:
            model = adapters.ensure_model(model)
            if str(model.model_id) != meta["model_id"]:
                raise NescioError(
                    f"guard in {str(directory)!r} was fitted for model {meta['model_spec']!r} "
                    f"({meta['model_id']}), not {model.spec!r} ({model.model_id}); fit a guard for this model"
                )
            guard.model = model
        guard.detector_ = Detector.from_state(meta["detector"], arrays)
        guard.probes_ = {name: adapters.load_probe(name, directory / "probes" / name, pm) for name, pm in meta["probes"].items()}
        guard.signal_names_ = tuple(meta["signals"])
        guard.threshold_ = _from_json_float(meta["threshold"])
        guard.hedge_floor_ = _from_json_float(meta["hedge_floor"])
        guard.precheck_threshold_ = _from_json_float(meta["precheck_threshold"])
        guard.model_id_ = meta["model_id"]
        guard.model_spec_ = meta["model_spec"]
        guard.generation_config_ = config_from_dict(meta["generation_config"])
        guard.fit_summary_ = meta["fit_summary"]
        return guard


_PARAMS = ("alpha", "delta", "signals", "hedge_alpha", "precheck", "precheck_alpha", "detector", "calibrator",
           "max_new_tokens", "random_state")


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


def _squash(x: np.ndarray) -> np.ndarray:
    """Map a real score monotonically to (0, 1) so the fixed threshold grid applies."""
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, dtype=float), -700, 700)))


def _json_float(x):
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else ("inf" if x > 0 else "-inf")


def _from_json_float(x):
    if x is None:
        return None
    return float(x)
