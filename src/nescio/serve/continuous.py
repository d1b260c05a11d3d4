"""Continuous batching for the model worker: requests join running decode states at step boundaries.

One running :class:`~nescio.models.decode.DecodeState` per sampling key (temperature, top_p;
greedy-only requests join any). At each step boundary the worker hands newly taken requests
to :meth:`Continuous.admit`: they are prefilled (grouped by ``max_tokens`` and ``n``) and
joined into the running state (:func:`nescio.models.batching.join_states`); then
:meth:`Continuous.step` runs one ``decode_step`` per state and returns the requests whose
rows have all finished, answered at once.

With a guard: the knowability pre-check (one prompt prefill) runs when a request is admitted
(requests it fires on are answered "I don't know" there); generation runs without captures
(join_states refuses them); a finished answer's internals (captures, log-probs, top-k) come
from teacher forcing it (:func:`nescio.models.teacher.score`, which reproduces the decoder's
captures), batched over the requests finishing at the same step, and the guard decides through
:class:`nescio.pipeline.AnswerPipeline` as in the micro-batch path.

Not here (the engine keeps them on the micro-batch path): requests with a RAG retrieval,
backends other than the HF one, and models with sliding-window layers (join_states needs full
KV caches).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from nescio.pipeline import AnswerPipeline
from nescio.policy.precheck import PrecheckResult
from nescio.serve import backend as sb
from nescio.serve.backend import Work
from nescio.serve.protocol import MAX_TOP_LOGPROBS

BATCHING_MODES = ("continuous", "micro")


def loaded_model(lm: Any) -> Any | None:
    """The LoadedModel under ``lm`` when its decoder can join states (full KV caches), else None."""
    from nescio.models.backend import HFBackend
    from nescio.models.load import LoadedModel

    if isinstance(lm, HFBackend):
        lm = lm.lm
    if not isinstance(lm, LoadedModel):
        return None
    from transformers import DynamicCache

    try:
        layers = getattr(DynamicCache(config=lm.model.config), "layers", None)
    except Exception:  # noqa: BLE001 - an exotic config: keep the micro-batch path
        return None
    if not layers or any(getattr(layer, "is_sliding", False) for layer in layers):
        return None
    return lm


def eligible(work: Work) -> bool:
    """Whether a request may join a running state (RAG requests stay on the micro-batch path)."""
    return work.retrieval is None and not work.require_support


def rows_of(work: Work) -> int:
    s = work.sampling
    return 1 + (s.n if s.sampled else 0)


@dataclass(eq=False)
class _Entry:
    job: Any  # the engine's Job
    question: Any  # nescio.types.Question
    prompt: Any  # nescio.models.tokens.Prompt
    pre_score: float = float("nan")  # the pre-check's score (NaN: not run)
    rows: dict = field(default_factory=dict)  # sample index (None: greedy) → DecodedRow

    @property
    def work(self) -> Work:
        return self.job.work

    @property
    def complete(self) -> bool:
        return len(self.rows) == rows_of(self.work)


def _trim(state) -> None:
    """Drop the leading cache slots no active row attends to (left by finished or joined rows)."""
    k = int(state.attn.any(0).int().argmax())
    if k == 0:
        return
    state.attn = state.attn[:, k:]
    for layer in state.cache.layers:
        layer.keys, layer.values = layer.keys[:, :, k:], layer.values[:, :, k:]


class Continuous:
    """The running states of one engine; called from its worker thread only."""

    def __init__(self, lm: Any, backend: Any, guard: Any):
        from nescio.models.backend import as_backend

        self.lm, self.backend, self.guard = lm, as_backend(backend), guard
        self.top_k = max(10, MAX_TOP_LOGPROBS, int(guard.config.top_k) if guard is not None else 0)
        self.states: dict[tuple, Any] = {}  # (temperature, top_p) → DecodeState
        self.owners: dict[tuple, dict[int, _Entry]] = {}  # same key → prompt index → its request
        lm.model.eval()

    @property
    def requests(self) -> int:
        return sum(len(o) for o in self.owners.values())

    @property
    def rows(self) -> int:
        return sum(rows_of(e.work) - len(e.rows) for o in self.owners.values() for e in o.values())

    # ------------------------------------------------------------------ admission
    def admit(self, jobs: Sequence[Any]) -> list[tuple[Any, Any, BaseException | None]]:
        """Prefill ``jobs`` and join them into the running states; returns the ones answered at once
        (pre-check fired, or a failure) as (job, result, exception)."""
        from nescio.models.tokens import encode_prompts

        done: list = []
        works = [j.work for j in jobs]
        questions = sb._questions(works)
        try:
            prompts = [w.encoded if w.encoded is not None else
                       encode_prompts(self.lm, [w.prompt], [(q.text, q.entity)])[0] for w, q in zip(works, questions)]
        except BaseException as e:  # noqa: BLE001
            return [(j, None, e) for j in jobs]
        entries = [_Entry(j, q, p) for j, q, p in zip(jobs, questions, prompts)]
        if self.guard is not None:
            entries, done = self._precheck(entries)
        groups: dict[tuple, list[_Entry]] = {}
        for e in entries:
            s = e.work.sampling
            key = (s.temperature, s.top_p) if s.sampled else next(iter(self.states), (1.0, 1.0))
            groups.setdefault((key, s.max_tokens, s.n if s.sampled else 0), []).append(e)
        for (key, max_tokens, n), group in groups.items():
            try:
                self._prefill_and_join(key, max_tokens, n, group)
            except BaseException as e:  # noqa: BLE001 - every request gets an answer
                done += [(g.job, None, e) for g in group]
        return done

    def _precheck(self, entries: list[_Entry]) -> tuple[list[_Entry], list]:
        idx = [i for i, e in enumerate(entries) if e.work.guarded and self.guard.precheck_first]
        if not idx or self.guard.guard.precheck_config_ is None:
            return entries, []
        try:
            pipe = AnswerPipeline(self.backend, self.guard.guard, precheck_first=True, require_support=False)
            pre, counts = pipe.precheck([entries[i].question for i in idx], [entries[i].prompt for i in idx])
        except BaseException as e:  # noqa: BLE001
            failed = {entries[i].job for i in idx}
            return [x for x in entries if x.job not in failed], [(j, None, e) for j in failed]
        done, fired = [], set()
        for k, i in enumerate(idx):
            entries[i].pre_score = float(pre.scores[k])
            if pre.fired[k]:
                fired.add(i)
                done.append((entries[i].job, sb._precheck_result(entries[i].work, self.guard, counts[k]), None))
        return [e for i, e in enumerate(entries) if i not in fired], done

    def _prefill_and_join(self, key: tuple, max_tokens: int, n: int, group: list[_Entry]) -> None:
        from nescio.models.batching import join_states
        from nescio.models.decode import prefill
        from nescio.models.sampling import seed_for

        seeds = [[seed_for(0, e.question.id, j) for j in range(n)] for e in group] if n else None
        new = prefill(self.lm, [e.prompt for e in group], max_new_tokens=max_tokens, n_samples=n, seeds=seeds,
                      temperature=key[0], top_p=key[1], top_k=self.top_k)
        running = self.states.get(key)
        if running is None:
            self.states[key], self.owners[key], offset = new, {}, 0
        else:
            offset = len(running.prompt_lengths)
            join_states(self.lm, running, new)
        now = time.monotonic()
        for i, e in enumerate(group):
            e.job.started = now
            self.owners[key][offset + i] = e

    # ------------------------------------------------------------------ one step
    def step(self) -> list[tuple[Any, Any, BaseException | None]]:
        """One decode step of every running state; returns the requests it finished as (job, result, exception)."""
        from nescio.models.decode import decode_step

        done: list = []
        for key in list(self.states):
            state, owners = self.states[key], self.owners[key]
            try:
                out = decode_step(self.lm, state)
            except BaseException as e:  # noqa: BLE001 - the state is lost; its requests get the failure
                done += [(x.job, None, e) for x in owners.values()]
                del self.states[key], self.owners[key]
                continue
            finished = []
            for row in out.finished:
                entry = owners[row.prompt]
                entry.rows[row.sample] = row
                if entry.complete:
                    finished.append(owners.pop(row.prompt))
            if state.done:
                del self.states[key], self.owners[key]
            else:
                _trim(state)
            done += self._answer(state, finished)
        return done

    def _generation(self, e: _Entry) -> Any:
        from nescio.models.generation import answer_text
        from nescio.types import Generation, Sample

        tok, g = self.lm.tokenizer, e.rows[None]
        n = rows_of(e.work) - 1
        samples = tuple(Sample(answer_text(tok, s), s.token_ids, s.token_logprobs) for s in (e.rows[j] for j in range(n)))
        return Generation(question=e.question, prompt=e.prompt.text, text=answer_text(tok, g), token_ids=g.token_ids,
                          token_logprobs=g.token_logprobs, token_entropies=g.token_entropies, top_k_ids=g.top_k_ids,
                          top_k_logprobs=g.top_k_logprobs, stop_reason=g.stop_reason, samples=samples,
                          activations={}, prompt_token_count=len(e.prompt.ids))

    def _answer(self, state, finished: list[_Entry]) -> list:
        live = [e for e in finished if not e.job.cancelled]  # a cancelled request's rows ran out; dropped
        if not live:
            return []
        try:
            gens = [self._generation(e) for e in live]
            if self.guard is None:
                return [(e.job, sb._result(self.backend, e.work, g, None, None), None) for e, g in zip(live, gens)]
            out = []
            for first in (True, False):
                idx = [i for i, e in enumerate(live) if (e.work.guarded and self.guard.precheck_first) == first]
                if idx:
                    out += self._decide([live[i] for i in idx], [gens[i] for i in idx], first)
            return out
        except BaseException as e:  # noqa: BLE001
            return [(x.job, None, e) for x in live]

    def _decide(self, entries: list[_Entry], gens: list, precheck_first: bool) -> list:
        """Teacher-force the finished answers (captures the guard reads), then the pipeline decides."""
        from nescio.models.teacher import score

        config = replace(sb._config([e.work for e in entries], self.guard), n_samples=0)
        scored = score(self.lm, [g.question for g in gens], [g.text for g in gens], config,
                       token_ids=[g.token_ids for g in gens], stop_reasons=[g.stop_reason for g in gens],
                       prompts=[e.prompt for e in entries], progress=False)
        scored = [replace(s, samples=g.samples) for s, g in zip(scored, gens)]
        pre = None
        if precheck_first and self.guard.guard.precheck_config_ is not None:
            pre = PrecheckResult(np.zeros(len(entries), dtype=bool), np.array([e.pre_score for e in entries]))
        pipe = _Scored(self.backend, self.guard.guard, precheck_first=precheck_first, require_support=False)
        pipe.given = (pre, scored)
        answered = pipe.run([e.question for e in entries], alphas=[e.work.alpha for e in entries],
                            prompts=[e.prompt for e in entries])
        return [(e.job, sb._result(self.backend, e.work, answered.generations[k], sb._verdict(answered.decisions, k),
                                   self.guard), None) for k, e in enumerate(entries)]


class _Scored(AnswerPipeline):
    """The answering pipeline over answers already generated and scored (the pre-check already run)."""

    given: tuple = (None, [])

    def precheck(self, questions, prompts):
        pre, gens = self.given
        return pre, [g.prompt_token_count for g in gens]

    def generate(self, questions, config, prompts, progress):
        return self.post_passes(self.given[1])
