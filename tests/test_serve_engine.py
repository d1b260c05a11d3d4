"""The serving queue and model worker, with a recording runner in place of the model (fast)."""

from __future__ import annotations

import asyncio
import threading

import pytest

pytest.importorskip("fastapi")

from nescio.serve.backend import Work  # noqa: E402
from nescio.serve.engine import Draining, Engine, QueueFull  # noqa: E402
from nescio.serve.protocol import Sampling  # noqa: E402


def _work(max_tokens=8, temperature=0.0, n=1, tag="q") -> Work:
    s = Sampling(max_tokens=max_tokens, temperature=temperature, top_p=1.0, n=n, seed=None, stop=(), logprobs=False,
                 top_logprobs=0, raw=False, alpha=None)
    return Work(prompt=tag, question=tag, sampling=s, guarded=False, alpha=None, calibrated_prompt=False)


class Recorder:
    def __init__(self, gate: threading.Event | None = None):
        self.batches: list[list[str]] = []
        self.gate = gate

    def __call__(self, lm, guard, works):
        if self.gate is not None:
            self.gate.wait(10)
        self.batches.append([w.prompt for w in works])
        return [f"result {w.prompt}" for w in works]


def test_batches_group_compatible_requests_in_order():
    async def main():
        gate = threading.Event()
        rec = Recorder(gate)
        eng = Engine(None, None, max_batch=3, max_queue=100, runner=rec)
        eng.start()
        loop = asyncio.get_running_loop()
        first = eng.submit(_work(tag="a0"), loop)  # taken alone while the gate is closed
        while eng.running == 0:
            await asyncio.sleep(0.01)
        jobs = [eng.submit(_work(max_tokens=8 if i % 2 == 0 else 16, tag=f"b{i}"), loop) for i in range(7)]
        jobs.append(eng.submit(_work(temperature=0.7, n=2, tag="s0"), loop))
        gate.set()
        results = await asyncio.gather(first.future, *(j.future for j in jobs))
        eng.stop()
        return rec.batches, results

    batches, results = asyncio.run(main())
    assert results[0] == "result a0" and results[1:] == [f"result b{i}" for i in range(7)] + ["result s0"]
    assert batches == [["a0"], ["b0", "b2", "b4"], ["b1", "b3", "b5"], ["b6"], ["s0"]]


def test_full_queue_refuses_and_cancel_frees_a_slot():
    async def main():
        gate = threading.Event()
        eng = Engine(None, None, max_batch=1, max_queue=2, runner=Recorder(gate))
        eng.start()
        loop = asyncio.get_running_loop()
        running = eng.submit(_work(tag="r"), loop)
        while eng.running == 0:
            await asyncio.sleep(0.01)
        a, b = eng.submit(_work(tag="a"), loop), eng.submit(_work(tag="b"), loop)
        with pytest.raises(QueueFull) as full:
            eng.submit(_work(tag="c"), loop)
        assert full.value.depth == 2 and full.value.retry_after >= 1
        eng.cancel(a)
        assert eng.depth == 1
        c = eng.submit(_work(tag="c"), loop)  # the freed slot
        gate.set()
        out = await asyncio.gather(running.future, b.future, c.future)
        assert a.future.cancelled()
        eng.stop()
        with pytest.raises(Draining):
            eng.submit(_work(), loop)
        return out

    assert asyncio.run(main()) == ["result r", "result b", "result c"]


def test_stop_finishes_every_accepted_request_and_failures_reach_each_waiter():
    def boom(lm, guard, works):
        if works[0].prompt == "bad":
            raise RuntimeError("model failed")
        return [w.prompt for w in works]

    async def main():
        eng = Engine(None, None, max_batch=4, max_queue=50, runner=boom)
        loop = asyncio.get_running_loop()
        jobs = [eng.submit(_work(tag=f"j{i}"), loop) for i in range(10)]
        bad = eng.submit(_work(max_tokens=3, tag="bad"), loop)
        eng.start()
        await asyncio.get_running_loop().run_in_executor(None, eng.stop)  # drains before the worker exits
        await asyncio.sleep(0.05)
        return [j.future.result() for j in jobs], bad.future.exception()

    done, exc = asyncio.run(main())
    assert done == [f"j{i}" for i in range(10)]
    assert isinstance(exc, RuntimeError)


def test_record_counts_one_decision_per_choice_shown_from_the_typed_results():
    """record() reads the Results, not the response dict: a guarded result counts its verdict's
    action once per choice, a raw one (raw mode or no guard) counts ``raw``; tokens are summed."""
    from prometheus_client.parser import text_string_to_metric_families

    from nescio.serve.app import record
    from nescio.serve.backend import Choice, Result, TokenInfo
    from nescio.serve.guarding import Verdict
    from nescio.serve.metrics import Metrics

    tok = (TokenInfo(1, -0.1, ()), TokenInfo(2, -0.2, ()))
    c = Choice(text="x", raw_answer="x", finish_reason="stop", tokens=tok)

    def result(action, guarded, n=1):
        v = None if action is None else Verdict(action=action, text="x", p_correct=0.5, reason="r",
                                                 precheck_fired=False, model_abstained=False)
        return Result(choices=(c,) * n, prompt_tokens=5, verdict=v, alpha=0.1, certified=False, guarded=guarded,
                      sampled=n > 1)

    m = Metrics()
    record(m, [result("hedge", True, n=3), result("abstain", True), result("answer", False), result(None, False)])
    fams = {f.name: f for f in text_string_to_metric_families(m.render()[0].decode())}
    counts = {s.labels["action"]: s.value for s in fams["nescio_decisions"].samples}
    assert counts == {"hedge": 3.0, "abstain": 1.0, "raw": 2.0}
    assert fams["nescio_prompt_tokens"].samples[0].value == 20
    assert fams["nescio_completion_tokens"].samples[0].value == 2 * 6


def test_verdict_action_is_an_action_enum_and_a_string_only_in_json():
    import json

    from nescio.serve.guarding import Verdict
    from nescio.serve.responses import extension
    from nescio.serve.backend import Choice, Result
    from nescio.types import Action, NescioError

    v = Verdict(action="abstain", text="I don't know.", p_correct=None, reason="r", precheck_fired=True,
                model_abstained=False)
    assert v.action is Action.ABSTAIN
    assert Verdict(action=Action.HEDGE, text="", p_correct=None, reason="", precheck_fired=False,
                   model_abstained=False).action is Action.HEDGE
    with pytest.raises(NescioError, match="accepted: answer, hedge, abstain"):
        Verdict(action="abstian", text="", p_correct=None, reason="", precheck_fired=False, model_abstained=False)
    c = Choice(text="x", raw_answer=None, finish_reason="stop", tokens=())
    r = Result(choices=(c,), prompt_tokens=1, verdict=v, alpha=0.1, certified=False, guarded=True, sampled=False)
    ext = extension(r, c, _work(), 0.2)
    assert type(ext["action"]) is str and json.loads(json.dumps(ext))["action"] == "abstain"
