"""The one answering pipeline: backend + guard (+ retriever) → :class:`~nescio.types.DecisionBatch`.

::

    retrieve → no-evidence rule → pre-check (one prefill) → generate → post-passes → decide → support rule

Every caller that answers questions through a guard runs this: :func:`answer` / :func:`ask`
(the Python API and ``nescio ask``), ``--rag`` (:func:`nescio.rag.answer.rag_answer`) and
``nescio serve`` (its batching worker). Each step is a small function over typed values; a
step that is not needed (no retriever, no pre-check) is skipped, not re-checked elsewhere.
The pre-check's prefill result is handed to ``guard.decide``, which does not compute it
again. Only the :class:`~nescio.models.backend.Backend` runs the model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from nescio.models.backend import Backend, as_backend
from nescio.policy.precheck import PRECHECK_REASON, PrecheckResult
from nescio.policy.scoring import ABSTAIN_TEXT
from nescio.rag.answer import NO_EVIDENCE_REASON, UNSUPPORTED_REASON, unsupported
from nescio.types import Action, DecisionBatch, Generation, GenerationConfig, NescioError, Question, check_question


@dataclass(frozen=True)
class Answered:
    """What the pipeline did for each question, in input order: the decisions, the questions as
    answered (retrieval attached) and each generation (``None`` where the no-evidence rule or the
    pre-check abstained without generating)."""

    decisions: DecisionBatch
    questions: tuple[Question, ...]
    generations: tuple[Generation | None, ...]
    prompt_tokens: tuple[int, ...]  # the prompt's tokens (0 where nothing was run)


class AnswerPipeline:
    """``AnswerPipeline(backend, guard, retriever=None).run(questions) -> Answered``.

    ``backend``: a :class:`~nescio.models.backend.Backend` (or a LoadedModel / spec string), the
    one the guard was fitted for. ``guard``: a fitted :class:`~nescio.policy.guard.Guard`.
    ``retriever``: anything with ``attach(questions) -> questions`` and ``require_support``
    (:class:`nescio.rag.answer.RagSettings`). ``precheck_first``: run the pre-check on a
    prefill so blocked questions are never generated for (else it reads the generation)."""

    def __init__(self, backend: Any, guard: Any, retriever: Any = None, *, precheck_first: bool = True,
                 require_support: bool | None = None):
        guard._check_fitted()
        self.backend: Backend = as_backend(backend)
        self.guard = guard
        self.retriever = retriever
        self.precheck_first = precheck_first
        self.require_support = (bool(getattr(retriever, "require_support", False)) if require_support is None
                                else require_support)
        guard.check_backend(self.backend, post_passes=self.post_passes)  # its model; another dtype: checked once

    # ------------------------------------------------------------------ steps
    def retrieve(self, questions: list[Question]) -> tuple[list[Question], np.ndarray]:
        """Retrieval attached (questions may also come with theirs), and the no-evidence rule: True
        where nothing passed the filter and the policy is to abstain (never generated for)."""
        from nescio.rag.retrieve import abstains_without_evidence

        if self.retriever is not None:
            questions = self.retriever.attach(questions)
        return questions, np.array([abstains_without_evidence(q) for q in questions], dtype=bool)

    def precheck(self, questions: list[Question], prompts: list[str] | None) -> tuple[PrecheckResult | None, list[int]]:
        """The knowability pre-check on one prefill per question (None when the guard has none),
        and each prompt's token count."""
        config = self.guard.precheck_config_
        if config is None or not self.precheck_first or not questions:
            return None, [0] * len(questions)
        prefills = self.backend.generate(questions, config, prompts=prompts)
        return self.guard.precheck(prefills), [g.prompt_token_count for g in prefills]

    def generate(self, questions: list[Question], config: GenerationConfig, prompts: list[str] | None,
                 progress: bool, **prefetched) -> list[Generation]:
        gens = self.backend.generate(questions, config, prompts=prompts, progress=progress, **prefetched) \
            if questions else []
        return self.post_passes(gens)

    def post_passes(self, gens: list[Generation]) -> list[Generation]:
        """The passes after generation the guard's signals declare: context reliance (the answer
        teacher-forced under the closed-book prompt) when the guard reads it."""
        return post_passes(self.backend, self.guard, gens)

    def support_rule(self, batch: DecisionBatch, gens: list[Generation]) -> DecisionBatch:
        """With ``retriever.require_support``: abstain on answers the kept evidence does not hold."""
        if not self.require_support or not gens:
            return batch
        drop = [unsupported(g) and a is not Action.ABSTAIN for g, a in zip(gens, batch.actions)]
        return replace(batch, actions=tuple(Action.ABSTAIN if u else a for u, a in zip(drop, batch.actions)),
                       texts=tuple(ABSTAIN_TEXT if u else t for u, t in zip(drop, batch.texts)),
                       reasons=tuple(UNSUPPORTED_REASON if u else r for u, r in zip(drop, batch.reasons)))

    # ------------------------------------------------------------------ the run
    def run(self, questions: Sequence[Question | str], *, alpha: float | None = None,
            alphas: Sequence[float | None] | None = None, prompts: Sequence[Any] | None = None,
            config: GenerationConfig | None = None, progress: bool = False) -> Answered:
        """Answer each question or abstain; input order kept.

        ``questions``: Questions, or texts (checked by :func:`~nescio.policy.guard.check_question`).
        ``alpha`` (or one per question in ``alphas``): a level of ``guard.certified_levels()``.
        ``prompts``: ready-made full prompts (texts or ``Backend.encode``-d: a server's chat template output) instead of the
        backend's rendering. ``config``: generation settings (default ``guard.generation_config_``;
        a server's sampling settings must keep its captures)."""
        qs = [q if isinstance(q, Question) else Question(id=f"ask-{i}", text=check_question(q))
              for i, q in enumerate(questions)]
        n = len(qs)
        alphas = list(alphas) if alphas is not None else [alpha] * n
        if len(alphas) != n or (prompts is not None and len(prompts) != n):
            raise NescioError(f"the pipeline got {len(alphas)} levels / prompts for {n} questions")
        for a in set(alphas):
            self.guard.policy_.thresholds(a)  # fail on an uncertified α before any model pass
        qs, no_evidence = self.retrieve(qs)
        todo = np.flatnonzero(~no_evidence)
        pick = (lambda idx: [prompts[i] for i in idx]) if prompts is not None else (lambda idx: None)
        config = config or self.guard.generation_config_
        # an upstream engine starts generating now, while the pre-check reads the prompts here
        prefetch = getattr(self.backend, "prefetch", None)
        pending = prefetch([qs[i] for i in todo], config, pick(todo)) \
            if prefetch is not None and self.guard.precheck_config_ is not None and self.precheck_first else None
        pre, counts = self.precheck([qs[i] for i in todo], pick(todo))
        fired = np.zeros(n, dtype=bool)
        pre_scores = np.full(n, np.nan)
        prompt_tokens = np.zeros(n, dtype=int)
        prompt_tokens[todo] = counts
        if pre is not None:
            fired[todo], pre_scores[todo] = pre.fired, pre.scores
        gen_idx = np.flatnonzero(~no_evidence & ~fired)
        extra = {}
        if pending is not None and len(gen_idx):  # (all blocked: the upstream's answers are not needed)
            where = {int(i): k for k, i in enumerate(todo)}
            replies = pending.result()
            extra["prefetched"] = [replies[where[int(i)]] for i in gen_idx]
        gens = self.generate([qs[i] for i in gen_idx], config, pick(gen_idx), progress, **extra)
        decided = self.decide(gens, [alphas[i] for i in gen_idx],
                              None if pre is None else PrecheckResult(fired[gen_idx], pre_scores[gen_idx]))
        batch = merge_decisions(qs, gen_idx, pre_scores, self.support_rule(decided, gens),
                                reasons={i: NO_EVIDENCE_REASON if no_evidence[i] else PRECHECK_REASON
                                         for i in np.flatnonzero(no_evidence | fired)},
                                precheck_fired=fired)
        by_index = dict(zip(gen_idx.tolist(), gens))
        for i, g in by_index.items():
            prompt_tokens[i] = g.prompt_token_count
        return Answered(batch, tuple(qs), tuple(by_index.get(i) for i in range(n)), tuple(prompt_tokens.tolist()))

    def decide(self, gens: list[Generation], alphas: list[float | None], pre: PrecheckResult | None) -> DecisionBatch:
        """``guard.decide`` per risk level (requests of one server batch may ask for different α)."""
        groups: dict[float | None, list[int]] = {}
        for k, a in enumerate(alphas):
            groups.setdefault(a, []).append(k)
        if len(groups) <= 1:
            return self.guard.decide(gens, alpha=alphas[0] if alphas else None, precheck=pre)
        parts = [(ks, self.guard.decide([gens[k] for k in ks], alpha=a, precheck=None if pre is None else
                                        PrecheckResult(pre.fired[ks], pre.scores[ks]))) for a, ks in groups.items()]
        order = np.concatenate([ks for ks, _ in parts])
        return merge_decisions([g.question for g in gens], order, np.full(len(gens), np.nan),
                               concat_decisions([d for _, d in parts]), reasons={})


def post_passes(backend: Backend, guard: Any, gens: list[Generation]) -> list[Generation]:
    """:meth:`AnswerPipeline.post_passes` for ``backend`` and ``guard``."""
    if "rag_context_reliance" in guard.signal_names_ and any(g.question.retrieval for g in gens):
        from nescio.rag.signals import score_context_reliance

        return score_context_reliance(backend, gens)
    return gens


def check_guard(backend: Any, guard: Any) -> float:
    """Allow ``guard`` on ``backend`` (its model; in another dtype only when the guard's probe
    sample agrees: :meth:`nescio.policy.guard.Guard.check_backend`), with the pipeline's post-passes."""
    backend = as_backend(backend)
    return guard.check_backend(backend, post_passes=lambda gens: post_passes(backend, guard, gens))


def concat_decisions(batches: list[DecisionBatch]) -> DecisionBatch:
    """Decision batches one after another (their ``alpha`` is the first's; rows keep their own reasons)."""
    first = batches[0]
    cat = lambda name: tuple(x for b in batches for x in getattr(b, name))  # noqa: E731
    arr = lambda name: np.concatenate([np.asarray(getattr(b, name)) for b in batches])  # noqa: E731
    return replace(first, question_ids=cat("question_ids"), actions=cat("actions"), texts=cat("texts"),
                   answers=cat("answers"), reasons=cat("reasons"), p_correct=arr("p_correct"), scores=arr("scores"),
                   precheck_fired=arr("precheck_fired"), model_abstained=arr("model_abstained"),
                   signals=np.concatenate([b.signals for b in batches]),
                   precheck_scores=None if first.precheck_scores is None else arr("precheck_scores"),
                   certified=all(b.certified for b in batches))


def merge_decisions(questions: Sequence[Question], decided_at: np.ndarray, pre_scores: np.ndarray, d: DecisionBatch,
                    *, reasons: dict[int, str], precheck_fired: np.ndarray | None = None) -> DecisionBatch:
    """A batch over all ``questions``: row ``decided_at[k]`` is ``d``'s row k; the others abstained
    before generating, with ``reasons[i]`` (and no answer, NaN P(correct))."""
    n, k = len(questions), len(d.signal_names)
    pos = np.asarray(decided_at, dtype=int)

    def spread(values, fill, dtype=object):
        out = np.empty(n, dtype=object) if dtype is object else np.full(n, fill, dtype=dtype)
        if dtype is object:
            out[:] = [fill] * n
        out[pos] = list(values) if dtype is object else values
        return out

    signals = np.full((n, k), np.nan)
    signals[pos] = d.signals
    pre = np.array(pre_scores, dtype=float)
    if d.precheck_scores is not None:
        pre[pos] = d.precheck_scores
    fired = spread(d.precheck_fired, False, bool)
    if precheck_fired is not None:
        fired |= np.asarray(precheck_fired, dtype=bool)
    reason_col = spread(d.reasons, "")
    for i, r in reasons.items():
        reason_col[i] = r
    return replace(
        d, question_ids=tuple(q.id for q in questions), actions=tuple(spread(d.actions, Action.ABSTAIN)),
        texts=tuple(spread(d.texts, ABSTAIN_TEXT)), answers=tuple(spread(d.answers, "")),
        p_correct=spread(d.p_correct, np.nan, float), scores=spread(d.scores, np.nan, float), precheck_fired=fired,
        model_abstained=spread(d.model_abstained, False, bool), reasons=tuple(reason_col), signals=signals,
        precheck_scores=pre)


# ---------------------------------------------------------------- the public entry points


def answer(model, guard, texts: Sequence[str | Question], *, alpha: float | None = None, retriever: Any = None,
           progress: bool = False) -> DecisionBatch:
    """Answer each question through ``guard`` with ``model`` (a Backend, LoadedModel or spec), or
    abstain; input order kept (:class:`AnswerPipeline`)."""
    return AnswerPipeline(model, guard, retriever).run(texts, alpha=alpha, progress=progress).decisions


def ask(model, guard, text: str, *, alpha: float | None = None, retriever: Any = None):
    """One question: ``answer(model, guard, [text])[0]`` (a :class:`~nescio.types.Decision`)."""
    return answer(model, guard, [text], alpha=alpha, retriever=retriever)[0]


def rag_answer(model, guard, settings: Any, texts: Sequence[str | Question], *, alpha: float | None = None,
               progress: bool = False) -> DecisionBatch:
    """:func:`answer` from an index: ``settings`` (:class:`nescio.rag.answer.RagSettings`) is the retriever."""
    return answer(model, guard, texts, alpha=alpha, retriever=settings, progress=progress)


def ask_default(question: str, model: Any = None, guard_dir=None, *, retriever: Any = None, console=None):
    """``nescio ask`` (and ``ask --rag``): one question through ``guard_dir`` or the cached default
    guard for ``model`` (fitted on the built-in splits on first use)."""
    from nescio.models import DEFAULT_MODEL
    from nescio.policy.default import default_guard
    from nescio.policy.guard import Guard

    check_question(question)
    guard = Guard.load(guard_dir) if guard_dir is not None else None  # a damaged guard fails before the model loads
    backend = as_backend(model or DEFAULT_MODEL)
    guard = guard or default_guard(backend, console=console)
    return ask(backend, guard, question, retriever=retriever)
