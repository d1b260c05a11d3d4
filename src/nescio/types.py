"""The typed artifacts that flow between nescio's stages.

``Question ──generate──▶ Generation ──grade──▶ Grade(Outcome) ──signals──▶ SignalTable
──detector + policy──▶ Decision``

Every artifact is a frozen dataclass with named fields. Saving and loading lives
next to the stage that produces it (``nescio.models.io`` for generations,
``nescio.signals.table`` for signal tables); nothing here imports torch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

SCHEMA_VERSION = 1


class NescioError(Exception):
    """A user-facing error: the CLI prints its message on one line, no traceback."""


MAX_QUESTION_CHARS = 4000


def check_question(text: object) -> str:
    """The one question validator (ask, answer, score, serve): a non-empty string of at most
    :data:`MAX_QUESTION_CHARS` characters; returns it stripped."""
    if not isinstance(text, str):
        raise NescioError(f"question must be a string, got {type(text).__name__}")
    if not text.strip():
        raise NescioError("question is empty; give a non-empty question")
    if len(text) > MAX_QUESTION_CHARS:
        raise NescioError(f"question is {len(text):,} characters long; accepted: at most {MAX_QUESTION_CHARS:,}")
    return text.strip()


class _ValueEnum(str, enum.Enum):
    """A str-enum whose ``str()`` is its value (numpy turns an enum scalar into ``str(member)``),
    with :meth:`coerce` turning a misspelt value into a NescioError instead of an empty mask."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def coerce(cls, value: object):
        """``value`` as a member (a member or its string value); anything else is a NescioError."""
        try:
            return value if isinstance(value, cls) else cls(value)
        except ValueError:
            raise NescioError(f"unknown {cls.__name__.lower()} {value!r}; accepted: "
                              f"{', '.join(m.value for m in cls)}") from None


class Outcome(_ValueEnum):
    """How a generation is graded.

    CORRECT: matches a gold alias. ABSTAINED: declines, says it does not know, or (for a
    false-premise question) corrects the premise. HALLUCINATED: asserts anything else;
    for an unanswerable question every asserted answer is HALLUCINATED.

    ``str(member)`` is its value, so numpy masks work: ``outcomes == Outcome.CORRECT`` on an
    object array of Outcomes. JSON carries the value; :meth:`coerce` reads it back.
    """

    CORRECT = "correct"
    HALLUCINATED = "hallucinated"
    ABSTAINED = "abstained"


class Action(_ValueEnum):
    """What the guard does with a question.

    ANSWER: show the model's answer. HEDGE: show it with an explicit uncertainty statement
    (``nescio.policy.scoring.HEDGE_TEMPLATE``). ABSTAIN: show the abstention text instead
    (``ABSTAIN_TEXT``), or the model's own refusal when the model declined by itself.
    """

    ANSWER = "answer"
    HEDGE = "hedge"
    ABSTAIN = "abstain"


# Question categories used by the built-in benchmark. Known-fact categories start with
# "fact/"; the unanswerable kinds are listed in UNANSWERABLE_CATEGORIES.
UNANSWERABLE_CATEGORIES = ("fabricated", "future", "random_fact", "false_premise")


@dataclass(frozen=True)
class RetrievedPassage:
    """One passage a retriever returned for a question (``nescio.rag``).

    ``score``: the hybrid (reciprocal-rank-fusion) retrieval score; ``relevance``: the
    relevance filter's calibrated probability that the passage is evidence for the
    question (None without a filter); ``kept``: whether it passed the filter and enters the prompt.
    """

    id: str
    text: str
    title: str = ""
    score: float = 0.0
    relevance: float | None = None
    kept: bool = True


@dataclass(frozen=True)
class Retrieval:
    """What retrieval gave one question: the top-k passages, best first, with the filter's verdict.

    ``no_evidence``: what to do when no passage passed the filter — ``"closed_book"``
    (answer without passages) or ``"abstain"``. ``answer_logprob_without_passages`` is
    filled after generation by :func:`nescio.rag.score_context_reliance` (one extra
    forward pass) and read by the ``rag_context_reliance`` signal.
    """

    passages: tuple[RetrievedPassage, ...] = ()
    no_evidence: str = "closed_book"
    answer_logprob_without_passages: float | None = None

    def __post_init__(self) -> None:
        if self.no_evidence not in NO_EVIDENCE_POLICIES:
            raise NescioError(f"unknown no-evidence policy {self.no_evidence!r}; accepted: {', '.join(NO_EVIDENCE_POLICIES)}")
        object.__setattr__(self, "passages", tuple(
            p if isinstance(p, RetrievedPassage) else RetrievedPassage(**p) for p in self.passages))

    @property
    def kept(self) -> tuple[RetrievedPassage, ...]:
        """The passages that enter the prompt."""
        return tuple(p for p in self.passages if p.kept)


NO_EVIDENCE_POLICIES = ("closed_book", "abstain")


@dataclass(frozen=True)
class Question:
    """One question. ``answers`` are gold aliases (empty when unanswerable).

    ``entity`` is the entity the question is about, as it appears verbatim in ``text``
    (used by the known-entity direction); ``None`` when unknown. ``retrieval``: passages
    retrieved for it (``nescio.rag``); the prompt then asks for an answer from them.
    ``family``: the template family the question was generated from (the ``wide``
    benchmark splits by whole families); ``popularity``: ``"head"`` for a well-known fact,
    ``"tail"`` for a long-tail one. Both ``None`` when unknown (every other set).
    """

    id: str
    text: str
    answers: tuple[str, ...] = ()
    answerable: bool = True
    category: str = "unknown"
    source: str = "user"
    entity: str | None = None
    split: str | None = None
    retrieval: Retrieval | None = None
    family: str | None = None
    popularity: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise NescioError(f"question {self.id!r}: text is empty")
        object.__setattr__(self, "answers", tuple(self.answers))
        if isinstance(self.retrieval, dict):  # from saved JSON
            object.__setattr__(self, "retrieval", Retrieval(**self.retrieval))


# ---------------------------------------------------------------- capture requests

SITES = ("resid", "mlp_act", "cett", "attn_logdiag")
"""Capture sites.

- ``resid``: residual stream output of decoder layer L (what ``output_hidden_states``
  returns at index L+1).
- ``mlp_act``: the input of layer L's ``down_proj`` (FFN intermediate activations z).
- ``cett``: per-neuron CETT of layer L's FFN at each token,
  ``|z_j,t| * ||W_down[:, j]||_2 / ||h_t||_2`` with h = ``down_proj`` output,
  computed inside the hook (H-Neurons, Gao et al. 2025).
- ``attn_logdiag``: per head, log a_tt — the log attention weight of token t to itself in
  layer L's self-attention (``[n_heads]`` per token), computed from the attention function's
  query and key states for the requested layers only (``nescio.models.attention``); always
  stored as float32.
"""

POSITIONS = ("last_prompt", "prompt_mean", "answer", "answer_mean", "entity_last")
"""Token positions a capture can read.

- ``last_prompt``: last prompt token (before the model answers).
- ``prompt_mean``: mean over the prompt tokens (padding excluded).
- ``answer``: every answer token fed to the model during generation, stacked
  ``[n_tokens, dim]`` (the last answer token is included when generation stopped at
  EOS/stop string, since the step that produced EOS read it).
- ``answer_mean``: mean over those answer tokens.
- ``entity_last``: last token of ``Question.entity`` inside the prompt (falls back to
  ``last_prompt`` when the entity is unknown or not found).
"""


LAYER_WORDS = ("all", "middle")


@dataclass(frozen=True)
class CaptureSpec:
    """One capture request: a site, its layers (tuple of ints, "all", or "middle": layer
    n_layers // 2 of the model that generates), positions."""

    site: str
    layers: tuple[int, ...] | str = "all"
    positions: tuple[str, ...] = ("last_prompt",)

    def __post_init__(self) -> None:
        if self.site not in SITES:
            raise NescioError(f"unknown capture site {self.site!r}; accepted: {', '.join(SITES)}")
        bad = [p for p in self.positions if p not in POSITIONS]
        if bad:
            raise NescioError(f"unknown capture position {bad[0]!r}; accepted: {', '.join(POSITIONS)}")
        if not isinstance(self.layers, str):
            object.__setattr__(self, "layers", tuple(int(x) for x in self.layers))
        elif self.layers not in LAYER_WORDS:
            raise NescioError(f"capture layers must be a list of ints, 'all' or 'middle', got {self.layers!r}")
        object.__setattr__(self, "positions", tuple(self.positions))


def activation_key(site: str, layer: int, position: str) -> str:
    """Name under which a captured activation is stored: ``"resid/12/last_prompt"``."""
    return f"{site}/{layer}/{position}"


@dataclass(frozen=True)
class NeuronScaling:
    """Scale FFN neurons' activations (the input of ``down_proj``) by ``scale`` during generation.

    ``neurons``: (layer, neuron index) pairs, e.g. the H-Neurons of a fitted
    :class:`nescio.signals.neurons.HNeuronProbe`. ``scale`` 1 leaves the model unchanged,
    0 silences the neurons.
    """

    neurons: tuple[tuple[int, int], ...]
    scale: float

    def __post_init__(self) -> None:
        import math

        pairs = tuple((int(a), int(b)) for a, b in self.neurons)
        if not pairs:
            raise NescioError("neuron scaling needs at least one (layer, neuron) pair")
        if any(a < 0 or b < 0 for a, b in pairs):
            raise NescioError("neuron scaling: layer and neuron indices must be non-negative")
        if not isinstance(self.scale, (int, float)) or not math.isfinite(self.scale):
            raise NescioError(f"neuron scale must be a finite number, got {self.scale!r}")
        object.__setattr__(self, "neurons", pairs)
        object.__setattr__(self, "scale", float(self.scale))


@dataclass(frozen=True)
class GenerationConfig:
    """What ``nescio.generate`` does: decoding, sampling, reflexive prompts, captures."""

    max_new_tokens: int = 24
    batch_size: int = 16
    n_samples: int = 0
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0
    top_k: int = 10
    capture: tuple[CaptureSpec, ...] = ()
    p_true: bool = False
    verbal_confidence: bool = False
    activation_dtype: str = "float16"
    neuron_scaling: NeuronScaling | None = None


# ---------------------------------------------------------------- generations


@dataclass(frozen=True)
class Sample:
    """One sampled answer with its own chosen-token log-probabilities."""

    text: str
    token_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]


@dataclass(frozen=True)
class Generation:
    """The model's greedy answer to one question plus everything captured with it.

    Per answer token t: ``token_ids[t]``, ``token_logprobs[t]`` (log-prob of the chosen
    token), ``token_entropies[t]`` (entropy of the full next-token distribution, nats),
    ``top_k_ids[t]`` / ``top_k_logprobs[t]`` (the k most likely tokens at that step).
    ``activations`` maps :func:`activation_key` names to arrays (``[dim]`` for pooled
    positions, ``[n_tokens, dim]`` for ``answer``). ``p_true`` is P("True") for the
    model's own answer; ``verbal_confidence`` is the stated 0–100 confidence divided by
    100, ``None`` when not asked for or unparseable.
    """

    question: Question
    prompt: str
    text: str
    token_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]
    token_entropies: tuple[float, ...]
    top_k_ids: tuple[tuple[int, ...], ...]
    top_k_logprobs: tuple[tuple[float, ...], ...]
    stop_reason: str = "eos"  # "eos" | "stop_string" | "max_tokens"
    samples: tuple[Sample, ...] = ()
    activations: Mapping[str, np.ndarray] = field(default_factory=dict)
    prompt_token_count: int = 0
    p_true: float | None = None
    verbal_confidence: float | None = None
    verbal_confidence_text: str | None = None


@dataclass(frozen=True)
class RunInfo:
    """Metadata saved with a set of generations so later stages know what made them."""

    model: str  # the spec the user gave (name, path or hub id)
    model_id: str  # stable identity: e.g. "gguf-sha256:..." or the resolved path/hub id
    architecture: str
    prompt_format: str  # "chat" | "fewshot"
    prompt_template: str  # the template text / chat-template description
    config: GenerationConfig
    schema_version: int = SCHEMA_VERSION
    dtype: str = "float32"  # the weights' dtype (stores written before it was recorded: float32)


# ---------------------------------------------------------------- grading


@dataclass(frozen=True)
class Grade:
    """An outcome plus the evidence: the alias or abstention phrase that decided it.

    ``hedged``: the answer asserts something while stating uncertainty ("I'm not sure, but
    it may be: X", "X, but I'm not sure"); its outcome is still CORRECT or HALLUCINATED
    by what it asserts.
    """

    outcome: Outcome
    evidence: str = ""
    answer_span: str = ""
    hedged: bool = False


# ---------------------------------------------------------------- signals → decisions


@dataclass(frozen=True)
class SignalTable:
    """One row per question, one column per signal; higher = more likely hallucinated.

    ``values[name]`` is a float array of length ``len(question_ids)``; NaN = missing.
    ``costs[name]`` is the signal's extra model forward passes per question relative to
    greedy generation (0 for signals read off the greedy pass).
    """

    question_ids: tuple[str, ...]
    values: Mapping[str, np.ndarray]
    costs: Mapping[str, float] = field(default_factory=dict)

    def matrix(self, names: list[str] | tuple[str, ...]) -> np.ndarray:
        """``[n_questions, len(names)]`` float array of the named columns."""
        missing = [n for n in names if n not in self.values]
        if missing:
            raise NescioError(f"signal {missing[0]!r} not in table; have: {', '.join(sorted(self.values))}")
        return np.column_stack([np.asarray(self.values[n], dtype=float) for n in names])


@dataclass(frozen=True)
class Decision:
    """What the guard does with one question.

    ``action`` decides; ``text`` is what the user sees (the answer, the hedged answer, the
    abstention text, or the model's own refusal); ``answer`` is the model's answer, ``None``
    when the guard abstained or never generated one (pre-check before generating).
    ``p_correct`` is the calibrated P(correct), ``None`` when no answer was generated.
    ``signals`` maps signal names to values (higher = riskier; NaN = missing).
    """

    action: Action
    text: str
    answer: str | None
    p_correct: float | None
    reason: str
    signals: Mapping[str, float] = field(default_factory=dict)
    question_id: str = ""

    @property
    def abstained(self) -> bool:
        return self.action is Action.ABSTAIN

    @property
    def hedged(self) -> bool:
        return self.action is Action.HEDGE


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def _json_number(x: float) -> float | str | None:
    x = float(x)
    if np.isnan(x):
        return None
    return x if np.isfinite(x) else ("inf" if x > 0 else "-inf")


@dataclass(frozen=True, eq=False)
class DecisionBatch:
    """The guard's decisions for a batch of generations (``Guard.decide`` / ``nescio.policy.answer``).

    One entry per question, in input order:

    - ``question_ids``; ``actions`` (:class:`Action`); ``texts``: what the user sees (the
      answer, ``HEDGE_TEMPLATE`` around it, ``ABSTAIN_TEXT``, or the model's own refusal);
      ``answers``: the model's raw answer text ("" when none was generated);
    - ``p_correct``: calibrated P(correct), NaN when no answer was generated (pre-check
      before generating); ``scores``: the detector's raw score on which the threshold is
      certified (NaN likewise); ``precheck_scores``: the knowability pre-check's
      P(unanswerable) (signal ``precheck_signal``), NaN when the pre-check is off;
    - ``precheck_fired`` / ``model_abstained``: bool arrays; ``reasons``: one sentence each;
    - ``signal_names`` and ``signals`` ``[n, k]`` (higher = riskier, NaN = missing).

    Batch-level: ``alpha`` / ``delta`` (the risk level the thresholds were certified at) and
    ``certified``: whether an answer threshold was certified at ``alpha`` (if not, nothing
    is answered unhedged). ``batch[i]`` is a :class:`Decision`; ``to_json()`` the JSON form
    (enums as strings, non-finite numbers as ``None`` / ``"inf"``).
    """

    question_ids: tuple[str, ...]
    actions: tuple[Action, ...]
    texts: tuple[str, ...]
    answers: tuple[str, ...]
    p_correct: np.ndarray
    scores: np.ndarray
    precheck_fired: np.ndarray
    model_abstained: np.ndarray
    reasons: tuple[str, ...]
    signal_names: tuple[str, ...]
    signals: np.ndarray
    alpha: float
    delta: float
    certified: bool
    precheck_scores: np.ndarray | None = None
    precheck_signal: str = "precheck"

    def __post_init__(self) -> None:
        n = len(self.question_ids)
        object.__setattr__(self, "actions", tuple(Action.coerce(a) for a in self.actions))
        for name in ("p_correct", "scores"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float).reshape(n))
        for name in ("precheck_fired", "model_abstained"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=bool).reshape(n))
        pc = np.full(n, np.nan) if self.precheck_scores is None else np.asarray(self.precheck_scores, dtype=float)
        object.__setattr__(self, "precheck_scores", pc.reshape(n))
        object.__setattr__(self, "signals", np.asarray(self.signals, dtype=float).reshape(n, len(self.signal_names)))
        for name in ("actions", "texts", "answers", "reasons"):
            if len(getattr(self, name)) != n:
                raise NescioError(f"DecisionBatch: {name} has {len(getattr(self, name))} entries, expected {n}")

    def __len__(self) -> int:
        return len(self.question_ids)

    def __getitem__(self, i: int) -> Decision:
        if not -len(self) <= i < len(self):
            raise IndexError(f"decision {i} out of range for a batch of {len(self)}")
        action = self.actions[i]
        generated = bool(np.isfinite(self.p_correct[i]))
        signals = {n: float(v) for n, v in zip(self.signal_names, self.signals[i])} if generated else {}
        if np.isfinite(self.precheck_scores[i]):
            signals[self.precheck_signal] = float(self.precheck_scores[i])
        return Decision(
            action=action,
            text=self.texts[i],
            answer=None if action is Action.ABSTAIN or not generated else self.answers[i],
            p_correct=float(self.p_correct[i]) if generated else None,
            reason=self.reasons[i],
            signals=signals,
            question_id=self.question_ids[i],
        )

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def action_array(self) -> np.ndarray:
        """The actions as a numpy object array (for masks such as ``== Action.ANSWER``)."""
        out = np.empty(len(self), dtype=object)
        out[:] = list(self.actions)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecisionBatch):
            return NotImplemented
        plain = ("question_ids", "actions", "texts", "answers", "reasons", "signal_names", "alpha", "delta", "certified",
                 "precheck_signal")
        arrays = ("p_correct", "scores", "precheck_fired", "model_abstained", "signals", "precheck_scores")
        return all(getattr(self, k) == getattr(other, k) for k in plain) and all(
            _same_array(getattr(self, k), getattr(other, k)) for k in arrays)

    __hash__ = None  # type: ignore[assignment]

    def to_json(self) -> dict:
        """JSON-able dict: batch-level fields plus one record per question (enums as strings)."""
        return {
            "alpha": float(self.alpha),
            "delta": float(self.delta),
            "certified": bool(self.certified),
            "signal_names": list(self.signal_names),
            "precheck_signal": self.precheck_signal,
            "decisions": [
                {
                    "question_id": self.question_ids[i],
                    "action": self.actions[i].value,
                    "text": self.texts[i],
                    "answer": self.answers[i],
                    "p_correct": _json_number(self.p_correct[i]),
                    "score": _json_number(self.scores[i]),
                    "precheck_score": _json_number(self.precheck_scores[i]),
                    "precheck_fired": bool(self.precheck_fired[i]),
                    "model_abstained": bool(self.model_abstained[i]),
                    "reason": self.reasons[i],
                    "signals": {n: _json_number(v) for n, v in zip(self.signal_names, self.signals[i])},
                }
                for i in range(len(self))
            ],
        }
