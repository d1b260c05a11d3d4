"""Continuous batching in the server's engine (tiny model, in process): a short request joins a
running long one and is answered first; answers and the guard's decisions equal the micro-batch
path's; drain on stop; cancel; what stays on the micro-batch path."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

pytest.importorskip("fastapi")

from serve_support import ANSWERABLE, UNKNOWN, built_once  # noqa: E402

from nescio.serve.backend import Work  # noqa: E402
from nescio.serve.engine import Engine  # noqa: E402
from nescio.serve.protocol import Sampling  # noqa: E402



@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_once(tmp_path_factory)


@pytest.fixture(scope="module")
def backend(built):
    from nescio.models.backend import as_backend

    return as_backend(built[0])


def _work(backend, text, *, max_tokens=8, temperature=0.0, n=1, seed=None, top_logprobs=0, guarded=False,
          alpha=None) -> Work:
    from nescio.types import Question

    s = Sampling(max_tokens=max_tokens, temperature=temperature, top_p=1.0 if temperature == 0 else 0.9, n=n,
                 seed=seed, stop=(), logprobs=top_logprobs > 0, top_logprobs=top_logprobs, raw=not guarded,
                 alpha=alpha)
    prompt = backend.render(Question(id="x", text=text))
    return Work(prompt=prompt, encoded=backend.encode([prompt])[0], question=text, sampling=s, guarded=guarded,
                alpha=alpha, calibrated_prompt=True)


def _run(engine: Engine, works, *, stagger: int = 0):
    """Submit ``works`` (the first ``stagger`` ones first, the rest once the worker runs them), return the results."""
    async def main():
        loop = asyncio.get_running_loop()
        engine.start()
        jobs = [engine.submit(w, loop) for w in works[:stagger]]
        while stagger and engine.running == 0 and not all(j.future.done() for j in jobs):
            await asyncio.sleep(0.001)
        jobs += [engine.submit(w, loop) for w in works[stagger:]]
        out = await asyncio.gather(*(j.future for j in jobs))
        await loop.run_in_executor(None, engine.stop)
        return out

    return asyncio.run(main())


def _tokens(result):
    return [tuple(t.token_id for t in c.tokens) for c in result.choices]


def test_continuous_is_the_default_and_falls_back_where_it_cannot_join(backend):
    from nescio.models.backend import as_backend
    from nescio.models.tiny import tiny_model
    from nescio.types import NescioError

    assert Engine(backend, None).batching == "continuous"
    assert Engine(backend, None, batching="micro").batching == "micro"
    assert Engine(backend, None, runner=lambda lm, g, w: []).batching == "micro"  # a custom runner is a micro-batch
    assert Engine(as_backend(tiny_model("gemma3")), None).batching == "micro"  # sliding-window layers
    with pytest.raises(NescioError, match="accepted: continuous, micro"):
        Engine(backend, None, batching="streaming")


@pytest.mark.parametrize("mode", ["continuous", "micro"])
def test_a_short_request_joins_a_running_long_one_and_finishes_first(backend, mode):
    """The worker pauses after its first step until the short request is queued; continuously
    batched, the short one is answered while the long one still runs; micro-batched, after it."""
    first_step, submitted = threading.Event(), threading.Event()

    def on_batch(size, seconds):
        if not first_step.is_set():
            first_step.set()
            submitted.wait(30)

    long_w = _work(backend, ANSWERABLE[0], max_tokens=120)
    short_w = _work(backend, ANSWERABLE[1], max_tokens=2)
    engine = Engine(backend, None, max_batch=8, on_batch=on_batch, batching=mode)
    order = []

    async def main():
        loop = asyncio.get_running_loop()
        engine.start()
        long_job = engine.submit(long_w, loop)
        long_job.future.add_done_callback(lambda f: order.append("long"))
        await loop.run_in_executor(None, first_step.wait, 30)
        short_job = engine.submit(short_w, loop)
        short_job.future.add_done_callback(lambda f: order.append("short"))
        submitted.set()
        out = await asyncio.gather(long_job.future, short_job.future)
        await loop.run_in_executor(None, engine.stop)
        return out

    long_r, short_r = asyncio.run(main())
    assert len(long_r.choices[0].tokens) > 20  # it really was long (no early end of turn)
    assert len(short_r.choices[0].tokens) <= 2
    assert order == (["short", "long"] if mode == "continuous" else ["long", "short"])


def test_continuous_answers_equal_the_micro_batch_answers(backend):
    works = [_work(backend, ANSWERABLE[0], max_tokens=24, top_logprobs=3),
             _work(backend, ANSWERABLE[1], max_tokens=4),
             _work(backend, ANSWERABLE[2], max_tokens=12, temperature=0.8, n=2, seed=7),
             _work(backend, UNKNOWN[0], max_tokens=9),
             _work(backend, UNKNOWN[1], max_tokens=12, temperature=0.8, n=3, seed=11),
             _work(backend, ANSWERABLE[0], max_tokens=5, temperature=0.8, n=1, seed=3)]
    micro = _run(Engine(backend, None, max_batch=4, batching="micro"), works)
    for stagger in (1, 3):
        cont = _run(Engine(backend, None, max_batch=4), works, stagger=stagger)
        for m, c in zip(micro, cont):
            assert _tokens(c) == _tokens(m)
            assert [ch.text for ch in c.choices] == [ch.text for ch in m.choices]
            assert [ch.finish_reason for ch in c.choices] == [ch.finish_reason for ch in m.choices]
            assert c.prompt_tokens == m.prompt_tokens
            for cc, mc in zip(c.choices, m.choices):
                np.testing.assert_allclose([t.logprob for t in cc.tokens], [t.logprob for t in mc.tokens], atol=1e-4)
                assert [tuple(i for i, _ in t.top) for t in cc.tokens] == [tuple(i for i, _ in t.top) for t in mc.tokens]


@pytest.mark.parametrize("precheck_first", [True, False])
def test_guarded_decisions_equal_the_micro_batch_path(built, backend, precheck_first):
    from nescio.serve.guarding import GuardView

    view = GuardView(built[1], precheck_first=precheck_first)
    texts = ANSWERABLE + UNKNOWN
    works = [_work(backend, t, max_tokens=8, guarded=True, alpha=view.default_alpha) for t in texts]
    works += [_work(backend, ANSWERABLE[0], max_tokens=8, guarded=False, alpha=view.default_alpha),  # raw mode
              _work(backend, UNKNOWN[0], max_tokens=8, temperature=0.8, n=2, seed=5, guarded=True,
                    alpha=view.default_alpha),
              _work(backend, ANSWERABLE[2], max_tokens=3, guarded=True, alpha=view.default_alpha)]  # cut short
    micro = _run(Engine(backend, view, max_batch=4, batching="micro"), works)
    cont = _run(Engine(backend, view, max_batch=4), works, stagger=2)
    actions = []
    for m, c in zip(micro, cont):
        assert c.verdict.action == m.verdict.action
        assert c.verdict.reason == m.verdict.reason and c.verdict.precheck_fired == m.verdict.precheck_fired
        assert (c.verdict.p_correct is None) == (m.verdict.p_correct is None)
        if m.verdict.p_correct is not None:
            assert c.verdict.p_correct == pytest.approx(m.verdict.p_correct, abs=1e-4)
        assert c.certified == m.certified and c.guarded == m.guarded
        assert [ch.text for ch in c.choices] == [ch.text for ch in m.choices]
        assert _tokens(c) == _tokens(m)
        actions.append(m.verdict.action)
    if precheck_first:
        assert any(m.verdict.precheck_fired for m in micro)  # the pre-check path was exercised


def test_stop_drains_every_accepted_request(backend):
    works = [_work(backend, ANSWERABLE[i % 3], max_tokens=3 + 5 * i) for i in range(7)]

    async def main():
        engine = Engine(backend, None, max_batch=3)
        loop = asyncio.get_running_loop()
        jobs = [engine.submit(w, loop) for w in works]
        engine.start()
        await loop.run_in_executor(None, engine.stop)  # drains before the worker exits
        await asyncio.sleep(0.05)
        assert engine.running == 0 and engine.depth == 0
        return [j.future.result() for j in jobs]

    results = asyncio.run(main())
    assert [len(r.choices[0].tokens) <= w.sampling.max_tokens for r, w in zip(results, works)] == [True] * 7
    assert all(r.choices[0].tokens for r in results)


def test_a_cancelled_running_request_is_dropped_and_the_others_answered(backend):
    first_step, cancelled = threading.Event(), threading.Event()

    def on_batch(size, seconds):
        if not first_step.is_set():
            first_step.set()
            cancelled.wait(30)

    engine = Engine(backend, None, max_batch=8, on_batch=on_batch)

    async def main():
        loop = asyncio.get_running_loop()
        gone = engine.submit(_work(backend, ANSWERABLE[0], max_tokens=40), loop)
        kept = engine.submit(_work(backend, ANSWERABLE[1], max_tokens=6), loop)
        engine.start()  # both join the first state
        await loop.run_in_executor(None, first_step.wait, 30)
        assert engine.running == 2
        engine.cancel(gone)
        cancelled.set()
        result = await kept.future
        later = await engine.submit(_work(backend, ANSWERABLE[2], max_tokens=4), loop).future
        await loop.run_in_executor(None, engine.stop)
        return gone, result, later

    gone, result, later = asyncio.run(main())
    assert gone.future.cancelled()
    assert result.choices[0].tokens and later.choices[0].tokens
    assert engine._continuous.requests == 0


def test_rag_requests_take_the_micro_batch_path_between_steps(backend, monkeypatch):
    from dataclasses import replace

    from nescio.serve import backend as sb

    seen = []

    def fake(lm, guard, works):
        seen.append([w.question for w in works])
        return ["rag answer"] * len(works)

    monkeypatch.setattr(sb, "run_batch", fake)
    rag = replace(_work(backend, "rag question", max_tokens=4), retrieval=object())
    out = _run(Engine(backend, None, max_batch=4), [_work(backend, ANSWERABLE[0], max_tokens=10), rag,
                                                    _work(backend, ANSWERABLE[1], max_tokens=4)], stagger=1)
    assert seen == [["rag question"]] and out[1] == "rag answer"
    assert out[0].choices[0].tokens and out[2].choices[0].tokens
