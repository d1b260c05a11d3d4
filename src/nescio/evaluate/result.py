"""What ``nescio eval`` measures, as frozen typed records: :class:`EvalResult` and its parts.

``evaluate(...)`` returns an :class:`EvalResult`; ``results.json`` is its :meth:`~EvalResult.to_json`
(schema ``nescio.results/1``, the same keys, order and rounding as before the records were typed,
so files written earlier load unchanged) and ``decisions.jsonl`` holds one
:class:`DecisionRecord` per evaluated question. Inside, outcomes and actions are
:class:`~nescio.types.Outcome` / :class:`~nescio.types.Action`; JSON carries their string values.

Numbers are normalised when a record is made, exactly as they are written: finite floats
rounded to 6 decimals, NaN / ±inf → ``None`` ("not measurable", e.g. realised risk when
nothing was answered; JSON ``null``). The guard's thresholds keep ``inf`` (JSON ``"inf"``:
nothing certified). So ``EvalResult.from_json(r.to_json()) == r``.

:meth:`from_json` reads JSON only and refuses what it does not know — an unknown or missing
key, a wrong type, another schema — with a one-line :class:`~nescio.types.NescioError`
naming the place and what is accepted.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from nescio.policy.guard import GuardFitSummary
from nescio.types import Action, NescioError, Outcome

RESULTS_SCHEMA = "nescio.results/1"


def _num(x):
    """numpy scalars → Python; floats rounded to 6 decimals; NaN / ±inf → None."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return round(float(x), 6) if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _num(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return tuple(_num(v) for v in x)
    return x


def _keep_inf(x):
    """Like :func:`_num` for thresholds: ±inf stays (it means "nothing certified"), NaN → None."""
    if isinstance(x, (float, np.floating)) and math.isinf(x):
        return float(x)
    return _num(x)


def _encode(v):
    if isinstance(v, _Record):
        return v.to_json()
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, dict):
        return {k: _encode(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [_encode(x) for x in v]
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _decode(tp, value, where: str):
    """``value`` (parsed JSON) as type ``tp``; a one-line NescioError naming ``where`` otherwise."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _decode(inner, value, where)
    if isinstance(tp, type) and issubclass(tp, _Record):
        return tp.from_json(value, where)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp.coerce(value)
        except NescioError as exc:
            raise NescioError(f"{where}: {exc}") from None
    if origin is dict:
        if not isinstance(value, dict):
            raise NescioError(f"{where}: expected an object, got {type(value).__name__}")
        return {k: _decode(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list):
            raise NescioError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is float:
        if value in ("inf", "-inf"):
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise NescioError(f"{where}: expected a number, got {value!r}")
        return float(value) if isinstance(value, float) else value
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise NescioError(f"{where}: expected {tp.__name__}, got {value!r}")
        return value
    return value  # Any: JSON kept as parsed


class _Record:
    """Base of the frozen result records: numbers normalised on construction, JSON by field."""

    OPTIONAL: ClassVar[tuple[str, ...]] = ()
    """Fields left out of the JSON when None (they appear only in some runs)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.metadata.get("json", True):
                object.__setattr__(self, f.name, _num(getattr(self, f.name)))

    def to_json(self) -> dict:
        """A JSON-ready dict (strings for enums, ``null`` for not measurable) in field order."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if not f.metadata.get("json", True) or (v is None and f.name in self.OPTIONAL):
                continue
            out[f.name] = _encode(v)
        return out

    @classmethod
    def from_json(cls, d, where: str | None = None):
        """Read :meth:`to_json`'s output back; unknown, missing or mistyped keys are a NescioError."""
        where = where or cls.__name__
        if not isinstance(d, dict):
            raise NescioError(f"{where}: expected an object, got {type(d).__name__}")
        own = [f for f in fields(cls) if f.metadata.get("json", True)]
        names = [f.name for f in own]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise NescioError(f"{where}: unknown key {unknown[0]!r}; accepted: {', '.join(names)}")
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for f in own:
            if f.name not in d:
                if f.name in cls.OPTIONAL:
                    continue
                raise NescioError(f"{where}: missing key {f.name!r}")
            kwargs[f.name] = _decode(hints[f.name], d[f.name], f"{where}.{f.name}")
        return cls(**kwargs)


_frozen = dataclass(frozen=True, kw_only=True)


@_frozen
class RawTally(_Record):
    """The raw model's outcomes: shares of all questions, and ``risk`` = hallucinated / (correct + hallucinated)."""

    n: int
    correct: float
    hallucinated: float
    abstained: float
    risk: float


@_frozen
class Tally(_Record):
    """What the guard shows, as shares of all questions (:func:`nescio.policy.scoring.tally`).

    ``kept``: share of the raw correct answers still given unhedged; ``realised_risk``:
    hallucinated / answered (None when nothing was answered)."""

    n: int
    answered: float
    correct: float
    hallucinated: float
    abstained: float
    hedged: float
    hedged_correct: float
    hedged_hallucinated: float
    kept: Optional[float]
    kept_incl_hedged: Optional[float]
    realised_risk: Optional[float]
    hedged_risk: Optional[float]


@_frozen
class GuardedTally(Tally):
    """The guard at the requested risk target."""

    alpha: float
    delta: float


@_frozen
class OperatingPoint(Tally):
    """Another operating point of the same fitted guard (pre-check only; hedges as answers)."""

    unanswerable_abstained: Optional[float]
    known_fact_correct_kept: Optional[float]


@_frozen
class TightestLevel(Tally):
    """Nothing certified at α: what the guard does at the tightest level it certified (a diagnostic)."""

    alpha: float
    tightest_alpha: Optional[float]


@_frozen
class FrontierPoint(_Record):
    """One certified level of the risk–coverage frontier: its threshold, what clears it on the
    calibration split (with the certified upper bound) and on the evaluated questions."""

    alpha: float
    threshold: float
    calibration_answered: int
    calibration_hallucinated: int
    calibration_risk_upper_bound: float
    answered: Optional[float]
    realised_risk: Optional[float]
    kept: Optional[float]


@_frozen
class CategoryTally(_Record):
    raw: RawTally
    guarded: Tally


@_frozen
class SignalScore(_Record):
    """One signal on the evaluation set: AUROC / PRR / AURC (hallucinated vs correct) and extra passes per question."""

    auroc: Optional[float]
    prr: Optional[float]
    aurc: Optional[float]
    cost: Optional[float]


@_frozen
class DetectorScore(_Record):
    auroc: Optional[float]
    prr: Optional[float]
    aurc: Optional[float]
    ece: Optional[float]


@_frozen
class PrecheckRates(_Record):
    fire_rate: Optional[float]
    fire_rate_unanswerable: Optional[float]
    wrongful_block_rate: Optional[float]
    blocked_correct_rate: Optional[float]


@_frozen
class Targets(_Record):
    unanswerable_abstained: Optional[float]
    unanswerable_not_answered_hedges_count_as_abstained: Optional[float]
    known_fact_correct_kept: Optional[float]
    known_fact_correct_kept_incl_hedged: Optional[float]


@_frozen
class Cost(_Record):
    forward_passes_per_question_vs_greedy: float
    sampled_share: float


@_frozen
class Timing(_Record):
    """Wall seconds of each stage; ``total_s`` / ``report_s`` only on the first model's result."""

    OPTIONAL: ClassVar[tuple[str, ...]] = ("total_s", "report_s")
    load_s: float
    generation_s: float
    generation_s_per_question: float
    grading_s: float
    fit_s: float
    decide_s: float
    total_s: Optional[float] = None
    report_s: Optional[float] = None


@_frozen
class GuardInfo(_Record):
    """The fitted guard: its :class:`GuardFitSummary` (flattened into the JSON object), signals,
    hedge level and the answer threshold certified at each risk level (``inf``: none)."""

    summary: GuardFitSummary = field(metadata={"json": False})
    signals: tuple[str, ...]
    hedge_alpha: Optional[float]
    certified_levels: dict[str, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "summary", GuardFitSummary(
            **{k: _keep_inf(v) for k, v in dataclasses.asdict(self.summary).items()}))
        object.__setattr__(self, "signals", tuple(self.signals))
        object.__setattr__(self, "hedge_alpha", _num(self.hedge_alpha))
        object.__setattr__(self, "certified_levels", {str(k): _keep_inf(v) for k, v in self.certified_levels.items()})

    def to_json(self) -> dict:
        return {k: _encode(v) for k, v in dataclasses.asdict(self.summary).items()} | super().to_json()

    @classmethod
    def from_json(cls, d, where: str | None = None):
        where = where or cls.__name__
        if not isinstance(d, dict):
            raise NescioError(f"{where}: expected an object, got {type(d).__name__}")
        summary_hints = typing.get_type_hints(GuardFitSummary)
        own_hints = {f.name: typing.get_type_hints(cls)[f.name] for f in fields(cls) if f.name != "summary"}
        names = [*summary_hints, *own_hints]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise NescioError(f"{where}: unknown key {unknown[0]!r}; accepted: {', '.join(names)}")
        missing = [k for k in names if k not in d]
        if missing:
            raise NescioError(f"{where}: missing key {missing[0]!r}")
        summary = GuardFitSummary(**{k: _decode(t, d[k], f"{where}.{k}") for k, t in summary_hints.items()})
        return cls(summary=summary, **{k: _decode(t, d[k], f"{where}.{k}") for k, t in own_hints.items()})


@_frozen
class DecisionRecord(_Record):
    """One evaluated question (a line of ``decisions.jsonl``): what the model said, how it was
    graded (``outcome``), what the guard did (``action``), shown text, why, and the signals."""

    id: str
    question: str
    category: str
    answerable: bool
    gold: str
    answer: str
    outcome: Outcome
    action: Action
    p_correct: Optional[float]
    score: Optional[float]
    precheck_fired: bool
    model_abstained: bool
    reason: str
    shown: str
    msp_prob: Optional[float]
    signals: dict[str, Optional[float]]


@_frozen
class EvalResult(_Record):
    """One model's evaluation (``results.json``); ``compare`` holds a second model's, ``records``
    its :class:`DecisionRecord` rows (kept in ``decisions.jsonl``, not in ``results.json``)."""

    OPTIONAL: ClassVar[tuple[str, ...]] = ("training", "prompt", "at_tightest_level", "frontier", "compare",
                                           "precheck_bench")
    schema: str = RESULTS_SCHEMA
    model: str
    model_id: str
    n: int
    n_train: int
    n_calibration: int
    raw: RawTally
    guarded: GuardedTally
    guard: GuardInfo
    signals: dict[str, SignalScore]
    detector: DetectorScore
    confidence_target: dict[str, Optional[float]]
    precheck: PrecheckRates
    targets: Targets
    per_category: dict[str, CategoryTally]
    cost: Cost
    timing: Timing
    training: Optional[dict[str, Any]] = None
    prompt: Optional[str] = None
    operating_points: dict[str, OperatingPoint]
    at_tightest_level: Optional[TightestLevel] = None
    frontier: Optional[tuple[FrontierPoint, ...]] = None
    bench: str
    train_bench: str
    precheck_bench: Optional[str] = None
    compare: Optional[dict[str, EvalResult]] = None
    records: tuple[DecisionRecord, ...] = field(default=(), compare=False, repr=False, metadata={"json": False})

    @classmethod
    def from_json(cls, d, where: str | None = None):
        where = where or cls.__name__
        if isinstance(d, dict) and d.get("schema") != RESULTS_SCHEMA:
            raise NescioError(f"{where}: results schema {d.get('schema')!r}; this nescio reads {RESULTS_SCHEMA!r}")
        return super().from_json(d, where)

    @property
    def runs(self) -> list[EvalResult]:
        """This result and the ``--compare`` model's, in order."""
        return [self, *(self.compare or {}).values()]

    def write(self, path: str | Path) -> Path:
        """Write ``results.json`` (indent 1, as ``nescio eval`` always has)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: str | Path) -> EvalResult:
        """Read a ``results.json``; damage is a one-line NescioError naming the file."""
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NescioError(f"{path}: not found; give the results.json written by nescio eval") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise NescioError(f"{path}: damaged, not valid JSON ({getattr(exc, 'msg', exc)})") from None
        return cls.from_json(d, where=str(path))


def write_decisions(records, path: str | Path) -> Path:
    """``decisions.jsonl``: one JSON object per :class:`DecisionRecord`."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r.to_json()) + "\n")
    return path


def read_decisions(path: str | Path) -> tuple[DecisionRecord, ...]:
    """Read ``decisions.jsonl`` (JSON only); a damaged line is a NescioError naming file and line."""
    path = Path(path)
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise NescioError(f"{path}:{i}: damaged, not valid JSON ({exc.msg})") from None
        out.append(DecisionRecord.from_json(d, where=f"{path}:{i}"))
    return tuple(out)
