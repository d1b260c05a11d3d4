"""One batch of compatible requests through the model and the guard.

Per batch: (0) with ``--rag``, requests whose retrieval kept no passage under the
``abstain`` policy are answered "I don't know" without running the model (as ``ask --rag``);
(1) the knowability pre-check reads the prompts of guarded requests (one
prefill, one token) and those it fires on are answered "I don't know" without generating;
(2) the rest are generated together in one batched call (greedy row + the sampled rows,
captures the guard needs in the same passes); (3) the guard decides on each greedy answer.
All of it runs in :class:`nescio.pipeline.AnswerPipeline` over the model's Backend.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from nescio.serve.guarding import GuardView, Verdict, render
from nescio.serve.protocol import Sampling
import numpy as np

from nescio.types import Action, Generation, GenerationConfig, Question


@dataclass(frozen=True)
class Work:
    """What the model worker needs for one request."""

    prompt: str  # the full prompt text, chat template applied
    question: str  # the last user turn (the question the guard judges)
    sampling: Sampling
    guarded: bool  # the guard decides what is shown (False: raw mode or no guard)
    alpha: float | None  # risk level the guard decides at (None without a guard)
    calibrated_prompt: bool  # the prompt has the form the guard was calibrated on
    strip: bool = True  # chat strips the answer; completions keep its leading space
    retrieval: Any = None  # --rag: the question's Retrieval (the prompt shows its kept passages)
    require_support: bool = False  # --rag: abstain when the answer is not in the kept evidence
    encoded: Any = None  # the prompt tokenised once when the request was checked (a models.tokens.Prompt)

    def batch_key(self) -> tuple:
        s = self.sampling
        return (s.max_tokens, s.temperature, s.top_p, s.n) if s.sampled else (s.max_tokens, 0.0, 1.0, 1)


@dataclass(frozen=True)
class TokenInfo:
    token_id: int
    logprob: float
    top: tuple[tuple[int, float], ...]  # the most likely tokens at that step (greedy choices only)


@dataclass(frozen=True)
class Choice:
    text: str  # what the client sees
    raw_answer: str | None  # the model's answer (None: the pre-check answered without generating)
    finish_reason: str  # "stop" | "length"
    tokens: tuple[TokenInfo, ...]


@dataclass(frozen=True)
class Result:
    choices: tuple[Choice, ...]
    prompt_tokens: int
    verdict: Verdict | None  # the guard's decision on the greedy answer (None without a guard)
    alpha: float | None
    certified: bool
    guarded: bool
    sampled: bool
    extra: dict = field(default_factory=dict)

    @property
    def completion_tokens(self) -> int:
        return sum(len(c.tokens) for c in self.choices)


def _questions(works: Sequence[Work]) -> list[Question]:
    out = []
    for w in works:
        seed = w.sampling.seed if w.sampling.seed is not None else random.getrandbits(62)
        # sampled answers draw from a generator seeded by (question id, sample index): same seed → same answers
        out.append(Question(id=f"seed={seed}", text=w.question or "?", retrieval=w.retrieval))
    return out


def _config(works: Sequence[Work], guard: GuardView | None) -> GenerationConfig:
    """The batch's generation settings: its sampling, the top-k it reports, the captures the guard reads."""
    s = works[0].sampling
    top_k = max([10] + [w.sampling.top_logprobs for w in works])
    capture = ()
    if guard is not None:
        top_k = max(top_k, guard.config.top_k)
        capture = guard.config.capture
    return GenerationConfig(max_new_tokens=s.max_tokens, n_samples=s.n if s.sampled else 0,
                            temperature=s.temperature if s.sampled else 1.0, top_p=s.top_p, seed=0, top_k=top_k,
                            capture=capture, batch_size=max(len(works), 1))


def _verdict(batch, i: int) -> Verdict:
    p = batch.p_correct[i]
    return Verdict(action=batch.actions[i], text=batch.texts[i], p_correct=float(p) if np.isfinite(p) else None,
                   reason=batch.reasons[i], precheck_fired=bool(batch.precheck_fired[i]),
                   model_abstained=bool(batch.model_abstained[i]))


def run_batch(backend: Any, guard: GuardView | None, works: Sequence[Work]) -> list[Result]:
    """Answer a batch of requests sharing :meth:`Work.batch_key` through the answering pipeline
    (:class:`nescio.pipeline.AnswerPipeline`): guarded requests take the pre-check first (when
    the server runs it first); raw-mode requests are generated and decided without it, so
    what they show is the model's own text."""
    from nescio.models.backend import as_backend
    from nescio.pipeline import AnswerPipeline
    from nescio.rag.retrieve import abstains_without_evidence

    backend = as_backend(backend)
    works = list(works)
    results: list[Result | None] = [None] * len(works)
    questions = _questions(works)
    config = _config(works, guard)
    if guard is None:  # no guard: the no-evidence rule, then the model's own answers
        todo = [i for i, q in enumerate(questions) if not abstains_without_evidence(q)]
        for i in set(range(len(works))) - set(todo):
            results[i] = _no_evidence_result(works[i], None)
        gens = backend.generate([questions[i] for i in todo], config, prompts=[works[i].encoded or works[i].prompt for i in todo]) if todo else []
        for i, g in zip(todo, gens):
            results[i] = _result(backend, works[i], g, None, None)
        return results  # type: ignore[return-value]
    for first in (True, False):
        idx = [i for i, w in enumerate(works) if (w.guarded and guard.precheck_first) == first]
        if not idx:
            continue
        pipe = AnswerPipeline(backend, guard.guard, precheck_first=first,
                              require_support=any(works[i].require_support for i in idx))
        done = pipe.run([questions[i] for i in idx], alphas=[works[i].alpha for i in idx],
                        prompts=[works[i].encoded or works[i].prompt for i in idx], config=config)
        for k, i in enumerate(idx):
            g, v = done.generations[k], _verdict(done.decisions, k)
            if g is not None:
                results[i] = _result(backend, works[i], g, v, guard)
            elif questions[i].retrieval is not None and abstains_without_evidence(questions[i]):
                results[i] = _no_evidence_result(works[i], guard)
            else:
                results[i] = _precheck_result(works[i], guard, done.prompt_tokens[k])
    return results  # type: ignore[return-value]


def _precheck_result(work: Work, guard: GuardView, prompt_tokens: int) -> Result:
    from nescio.policy.precheck import PRECHECK_REASON
    from nescio.policy.scoring import ABSTAIN_TEXT

    verdict = Verdict(action=Action.ABSTAIN, text=ABSTAIN_TEXT, p_correct=None, precheck_fired=True, model_abstained=False,
                      reason=PRECHECK_REASON)
    choice = Choice(text=ABSTAIN_TEXT, raw_answer=None, finish_reason="stop", tokens=())
    return Result(choices=(choice,) * work.sampling.n, prompt_tokens=prompt_tokens, verdict=verdict,
                  alpha=work.alpha, certified=guard.certified(work.alpha) and work.calibrated_prompt,
                  guarded=True, sampled=work.sampling.sampled)


def _no_evidence_result(work: Work, guard: GuardView | None) -> Result:
    from nescio.policy.scoring import ABSTAIN_TEXT
    from nescio.rag.answer import NO_EVIDENCE_REASON

    verdict = Verdict(action=Action.ABSTAIN, text=ABSTAIN_TEXT, p_correct=None, precheck_fired=False,
                      model_abstained=False, reason=NO_EVIDENCE_REASON)
    choice = Choice(text=ABSTAIN_TEXT, raw_answer=None, finish_reason="stop", tokens=())
    certified = bool(guard is not None and work.alpha is not None and guard.certified(work.alpha)
                     and work.calibrated_prompt)
    return Result(choices=(choice,) * work.sampling.n, prompt_tokens=0, verdict=verdict, alpha=work.alpha,
                  certified=certified, guarded=work.guarded, sampled=work.sampling.sampled)


def _cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    cut = min((text.find(s) for s in stops if s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _choice(backend: Any, work: Work, ids, logprobs, tops, stop_reason: str, verdict: Verdict | None,
            guarded_text: str | None) -> Choice:
    text = backend.decode(ids)
    if stop_reason == "stop_string":  # few-shot prompts end the answer at a newline
        text = text.split("\n")[0]
    if work.strip:
        text = text.strip()
    text, stopped = _cut_at_stop(text, work.sampling.stop)
    n_keep = len(ids)
    if stopped:  # keep the tokens that lie inside the cut text
        n_keep = 0
        while n_keep < len(ids):
            piece = backend.decode(ids[: n_keep + 1])
            if len(piece.strip() if work.strip else piece) > len(text):
                break
            n_keep += 1
    # "length" whenever max_tokens cut the generation, also when a hedge or "I don't know" is shown
    finish = "stop" if stopped or stop_reason != "max_tokens" else "length"
    tokens = tuple(TokenInfo(int(ids[t]), float(logprobs[t]), tuple(tops[t]) if tops else ())
                   for t in range(n_keep))
    shown = text
    if verdict is not None and work.guarded:
        shown = guarded_text if guarded_text is not None else render(verdict.action, text)
    return Choice(text=shown, raw_answer=text, finish_reason=finish, tokens=tokens)


def cut_short(work: Work, g: Generation, guard: GuardView | None) -> int | None:
    """The guard's answer budget when ``max_tokens`` below it cut this greedy answer, else None.
    The guard was calibrated on answers of up to that budget, never on such a cut one."""
    if guard is None:
        return None
    budget = int(guard.config.max_new_tokens)
    return budget if g.stop_reason == "max_tokens" and work.sampling.max_tokens < budget else None


def _cut_verdict(verdict: Verdict, max_tokens: int, budget: int) -> Verdict:
    from nescio.policy.scoring import ABSTAIN_TEXT

    return replace(verdict, action=Action.ABSTAIN, text=ABSTAIN_TEXT,
                   reason=f"the answer was cut at max_tokens = {max_tokens}, below the guard's answer budget of "
                          f"{budget} tokens; a cut answer is not what the guard was calibrated on and is not certified")


def _result(backend: Any, work: Work, g: Generation, verdict: Verdict | None, guard: GuardView | None) -> Result:
    s = work.sampling
    budget = cut_short(work, g, guard)
    if budget is not None and verdict is not None:  # abstain; raw_answer still shows the cut answer
        verdict = _cut_verdict(verdict, s.max_tokens, budget)
    choices = []
    if s.sampled:
        for smp in g.samples[: s.n]:
            if backend.prompt_format == "fewshot" and "\n" in backend.decode(smp.token_ids):
                reason = "stop_string"
            else:
                reason = "max_tokens" if len(smp.token_ids) >= s.max_tokens else "eos"
            choices.append(_choice(backend, work, smp.token_ids, smp.token_logprobs, None, reason, verdict, None))
    else:
        tops = [tuple(zip(ids, lps))[: s.top_logprobs] for ids, lps in zip(g.top_k_ids, g.top_k_logprobs)]
        # the guard's own rendering of the greedy answer, unless a stop string changed it
        guarded_text = verdict.text if verdict is not None and not s.stop else None
        c = _choice(backend, work, g.token_ids, g.token_logprobs, tops, g.stop_reason, verdict, guarded_text)
        choices = [c] * s.n
    certified = bool(guard is not None and work.alpha is not None and guard.certified(work.alpha)
                     and work.calibrated_prompt and not s.sampled and not s.stop and budget is None)
    return Result(choices=tuple(choices), prompt_tokens=g.prompt_token_count, verdict=verdict, alpha=work.alpha,
                  certified=certified, guarded=work.guarded, sampled=s.sampled)
