"""`nescio serve` end to end: a real server on a free loopback port (the tiny model saved as an
HF directory, a guard fitted on it), talked to with the real `openai` client and raw HTTP."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")

from serve_support import ANSWERABLE, UNKNOWN, Server, ThreadServer, built_once  # noqa: E402

KEY = "test-key-123"
NAME = "tiny"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_once(tmp_path_factory)


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    _, _, model_dir, guard_dir = built
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    srv = Server(model_dir, guard_dir, "--max-batch", "8", "--served-model-name", NAME, api_key=KEY, log_path=log)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.base + "/v1", api_key=KEY, max_retries=0, timeout=120)


def _chat(client, content, **kw):
    return client.chat.completions.create(model=NAME, messages=[{"role": "user", "content": content}], **kw)


def _ext(choice) -> dict:
    return choice.model_extra["nescio"]


def test_start_up_says_guarded_and_lists_the_model(server, client, built):
    assert "guarded by" in server.log()
    models = client.models.list().data
    assert [m.id for m in models] == [NAME]
    info = models[0].model_extra["nescio"]
    from nescio.serve.guarding import GuardView

    levels = GuardView(built[1]).levels  # the α with a finite certified threshold
    assert levels == tuple(sorted(a for a, t in built[1].certified_levels().items() if t < float("inf")))
    assert info["guard"] is True and info["certified_levels"] == list(levels) and built[1].alpha in levels
    assert client.models.retrieve(NAME).id == NAME


def test_decisions_match_the_guard_in_process(client, built):
    from nescio.models import generate
    from nescio.pipeline import ask
    from nescio.types import Question

    lm, guard, _, _ = built
    questions = ANSWERABLE + UNKNOWN
    expected = [ask(lm, guard, q) for q in questions]  # one at a time, as the server receives them
    assert any(d.abstained and d.p_correct is None for d in expected)  # the pre-check fired on something
    assert any(not d.abstained for d in expected)
    for q, d in zip(questions, expected):
        r = _chat(client, q)
        ch = r.choices[0]
        ext = _ext(ch)
        assert ch.message.content == d.text
        assert ext["action"] == ("abstain" if d.abstained else "hedge" if d.hedged else "answer")
        assert ext["reason"].split(";")[0] == d.reason.split(";")[0]
        assert ext["alpha"] == guard.alpha and ext["delta"] == guard.delta
        assert ext["certified"] is True and ext["calibrated_prompt"] is True  # single question, certified α
        if d.p_correct is None:
            assert ext["precheck_fired"] and ext["raw_answer"] is None and ext["p_correct"] is None
            assert r.usage.completion_tokens == 0  # answered without generating
            assert ch.finish_reason == "stop"
        else:
            assert ext["p_correct"] == pytest.approx(d.p_correct, abs=1e-4)
            g = generate(lm, [Question(id="x", text=q)], guard.generation_config_, progress=False)[0]
            # "length" when the guard's budget cut the answer, whatever the guard shows instead of it
            assert ch.finish_reason == ("length" if g.stop_reason == "max_tokens" else "stop")
            assert r.usage.completion_tokens > 0
        assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_an_answer_cut_below_the_guards_budget_is_never_certified(client, built):
    from nescio.models import generate
    from nescio.types import Question

    lm, guard, _, _ = built
    budget = guard.generation_config_.max_new_tokens
    q = ANSWERABLE[0]
    full = generate(lm, [Question(id="x", text=q)], guard.generation_config_, progress=False)[0]
    assert len(full.token_ids) > 3  # max_tokens 3 cuts it
    for alpha in (None, guard.alpha):
        extra = {} if alpha is None else {"extra_body": {"nescio": {"alpha": alpha}}}
        r = _chat(client, q, max_tokens=3, **extra)
        ch, ext = r.choices[0], _ext(r.choices[0])
        assert not ext["precheck_fired"] and r.usage.completion_tokens == 3
        assert ext["action"] == "abstain" and ext["certified"] is False
        assert ch.message.content == "I don't know."
        assert "max_tokens = 3" in ext["reason"] and f"budget of {budget} tokens" in ext["reason"]
        assert ext["raw_answer"] and full.text.startswith(ext["raw_answer"])
        assert ch.finish_reason == "length"
    raw = _chat(client, q, max_tokens=3, extra_body={"nescio": {"raw": True}})  # raw mode: the cut text, uncertified
    assert raw.choices[0].message.content == _ext(raw.choices[0])["raw_answer"] and raw.choices[0].finish_reason == "length"
    assert _ext(raw.choices[0])["action"] == "abstain" and _ext(raw.choices[0])["certified"] is False
    at_budget = _chat(client, q, max_tokens=budget)  # the length the guard was calibrated on: its own decision
    assert _ext(at_budget.choices[0])["certified"] is True and "max_tokens =" not in _ext(at_budget.choices[0])["reason"]


def test_logprobs_match_nescio_generation(client, built):
    from nescio.models import generate
    from nescio.types import Question

    lm, guard, _, _ = built
    q = ANSWERABLE[0]
    g = generate(lm, [Question(id="x", text=q)], guard.generation_config_, progress=False)[0]
    r = _chat(client, q, logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == len(g.token_ids) == r.usage.completion_tokens
    assert _ext(r.choices[0])["raw_answer"] == g.text
    for t, tid, lp, top_ids, top_lps in zip(content, g.token_ids, g.token_logprobs, g.top_k_ids, g.top_k_logprobs):
        assert t.token == lm.tokenizer.decode([tid])
        assert t.bytes == list(t.token.encode("utf-8"))
        assert t.logprob == pytest.approx(lp, abs=1e-4)
        assert len(t.top_logprobs) == 3
        assert [x.token for x in t.top_logprobs] == [lm.tokenizer.decode([i]) for i in top_ids[:3]]
        assert [x.logprob for x in t.top_logprobs] == pytest.approx(list(top_lps[:3]), abs=1e-4)
        assert t.top_logprobs[0].logprob >= t.logprob - 1e-6  # greedy: the chosen token is the most likely


def test_multi_turn_goes_through_the_chat_template(client, built):
    from nescio.models.prompts import SYSTEM_PROMPT
    from nescio.models.backend import HFBackend
    from nescio.types import GenerationConfig, Question

    lm, guard, _, _ = built
    messages = [{"role": "user", "content": "What is item 1 of list 1?"}, {"role": "assistant", "content": "x"},
                {"role": "user", "content": "And item 2?"}]
    r = client.chat.completions.create(model=NAME, messages=messages, extra_body={"nescio": {"raw": True}})
    ext = _ext(r.choices[0])
    assert ext["calibrated_prompt"] is False and ext["certified"] is False and ext["mode"] == "raw"
    prompt = lm.tokenizer.apply_chat_template([{"role": "system", "content": SYSTEM_PROMPT}] + messages,
                                              tokenize=False, add_generation_prompt=True)
    cfg = GenerationConfig(max_new_tokens=guard.generation_config_.max_new_tokens)
    g = HFBackend(lm).generate([Question(id="m", text="And item 2?")], cfg, prompts=[prompt])[0]
    assert r.choices[0].message.content == g.text == ext["raw_answer"]
    assert r.usage.prompt_tokens == g.prompt_token_count


def test_n_sampling_and_seed(client):
    q = ANSWERABLE[1]
    a = _chat(client, q, n=3, temperature=0.9, seed=7, max_tokens=6)
    b = _chat(client, q, n=3, temperature=0.9, seed=7, max_tokens=6)
    assert len(a.choices) == 3 and [c.index for c in a.choices] == [0, 1, 2]
    assert [_ext(c)["raw_answer"] for c in a.choices] == [_ext(c)["raw_answer"] for c in b.choices]
    assert len({_ext(c)["raw_answer"] for c in a.choices}) > 1  # three different samples
    assert all(_ext(c)["sampled"] and _ext(c)["certified"] is False for c in a.choices)
    g = _chat(client, q, n=2, temperature=0)
    assert len(g.choices) == 2 and g.choices[0].message.content == g.choices[1].message.content


def test_streaming_sends_the_decided_text(client):
    q = ANSWERABLE[2]
    full = _chat(client, q)
    chunks = list(_chat(client, q, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == [full.choices[0].finish_reason]
    assert chunks[-1].usage.total_tokens == full.usage.total_tokens
    ext = [c.choices[0].model_extra.get("nescio") for c in chunks if c.choices and c.choices[0].model_extra.get("nescio")]
    assert ext and ext[0]["action"] == _ext(full.choices[0])["action"]


def test_raw_mode_shows_what_the_precheck_withheld(client):
    q = UNKNOWN[0]
    guarded = _chat(client, q)
    raw = _chat(client, q, extra_body={"nescio": {"raw": True}})
    assert _ext(guarded.choices[0])["precheck_fired"] and guarded.choices[0].message.content == "I don't know."
    ext = _ext(raw.choices[0])
    assert ext["mode"] == "raw" and raw.choices[0].message.content == ext["raw_answer"] != "I don't know."
    assert raw.usage.completion_tokens > 0


def test_alpha_among_certified_levels_else_400(client, built):
    guard = built[1]
    ok = _chat(client, ANSWERABLE[0], extra_body={"nescio": {"alpha": guard.alpha}})
    assert _ext(ok.choices[0])["alpha"] == guard.alpha
    with pytest.raises(openai.BadRequestError) as e:
        _chat(client, ANSWERABLE[0], extra_body={"nescio": {"alpha": 0.01}})
    assert e.value.body["param"] == "nescio.alpha" and f"{guard.alpha:g}" in e.value.body["message"]


def test_stop_strings_cut_the_answer(client):
    full = _chat(client, ANSWERABLE[0], extra_body={"nescio": {"raw": True}})
    raw = _ext(full.choices[0])["raw_answer"]
    assert len(raw) >= 4
    stop = raw[2:4]
    r = _chat(client, ANSWERABLE[0], stop=[stop], logprobs=True, extra_body={"nescio": {"raw": True}})
    assert r.choices[0].message.content == raw[: raw.find(stop)]
    assert r.choices[0].finish_reason == "stop"
    assert len(r.choices[0].logprobs.content) == r.usage.completion_tokens < full.usage.completion_tokens


def test_completions_endpoint(client):
    r = client.completions.create(model=NAME, prompt=["The list holds", "Item one is"], max_tokens=5, logprobs=2,
                                  extra_body={"nescio": {"raw": True}})
    assert [c.index for c in r.choices] == [0, 1]
    for c in r.choices:
        lp = c.logprobs
        assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset)
        assert lp.text_offset == sorted(lp.text_offset) and lp.text_offset[:1] in ([], [0])
        assert all(len(t) <= 2 for t in lp.top_logprobs)
        assert c.finish_reason in ("stop", "length")
    assert r.usage.completion_tokens == sum(len(c.logprobs.tokens) for c in r.choices)


def _post(server, body, *, key=KEY, raw: bytes | None = None, path="/v1/chat/completions"):
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(server.base + path, content=content, headers=headers, timeout=60)


BAD = [
    ("invalid json", None, b'{"model": "tiny", "messages": [', 400, None),
    ("not an object", None, b"[1, 2]", 400, None),
    ("wrong type", {"model": NAME, "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, None, 400,
     "temperature"),
    ("messages not a list", {"model": NAME, "messages": "hi"}, None, 400, "messages"),
    ("empty messages", {"model": NAME, "messages": []}, None, 400, "messages"),
    ("bad role", {"model": NAME, "messages": [{"role": "robot", "content": "hi"}]}, None, 400, "messages.0.role"),
    ("unknown model", {"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}, None, 404, "model"),
    ("negative max_tokens", {"model": NAME, "messages": [{"role": "user", "content": "hi"}], "max_tokens": -5}, None,
     400, "max_tokens"),
    ("huge max_tokens", {"model": NAME, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10**9}, None,
     400, "max_tokens"),
    ("n too large", {"model": NAME, "messages": [{"role": "user", "content": "hi"}], "n": 1000}, None, 400, "n"),
    ("tools", {"model": NAME, "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}, None,
     400, "tools"),
    ("empty question", {"model": NAME, "messages": [{"role": "user", "content": "  "}]}, None, 400, "messages.0.content"),
    ("long question", {"model": NAME, "messages": [{"role": "user", "content": "q" * 5000}]}, None, 400,
     "messages.0.content"),
    ("2 MB body", None, b'{"model": "tiny", "messages": [{"role": "user", "content": "' + b"a" * 2_000_000 + b'"}]}',
     413, None),
]


@pytest.mark.parametrize("name,body,raw,status,param", BAD, ids=[b[0] for b in BAD])
def test_bad_input_gets_openai_error_json(server, name, body, raw, status, param):
    r = _post(server, body, raw=raw)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    assert "Traceback" not in r.text
    if param is not None:
        assert err["param"] == param


def test_auth_and_routes(server):
    ok = {"model": NAME, "messages": [{"role": "user", "content": ANSWERABLE[0]}]}
    for key in (None, "wrong-key", KEY + "x"):
        r = _post(server, ok, key=key)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(server.base + "/v1/models").status_code == 401
    assert httpx.get(server.base + "/metrics").status_code == 401
    assert httpx.get(server.base + "/health").status_code == 200  # open without a key
    r = httpx.get(server.base + "/v1/nothing", headers={"authorization": f"Bearer {KEY}"})
    assert r.status_code == 404 and r.json()["error"]["message"]
    # the server keeps serving after all the bad input
    assert _post(server, ok).status_code == 200


def test_metrics_in_prometheus_format(server, client):
    _chat(client, UNKNOWN[1])
    text = httpx.get(server.base + "/metrics", headers={"authorization": f"Bearer {KEY}"}).text
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {"nescio_requests", "nescio_decisions", "nescio_queue_depth", "nescio_request_latency_seconds",
            "nescio_batch_size"} <= set(families)
    abstain = [s.value for s in families["nescio_decisions"].samples if s.labels.get("action") == "abstain"]
    assert abstain and abstain[0] >= 1


def test_guard_for_another_model_is_refused(built, tmp_path):
    from nescio.models import tiny_model
    from nescio.serve import load_for_serving
    from nescio.types import NescioError

    other = tmp_path / "other-instruct"
    t = tiny_model("llama", seed=1)
    t.model.save_pretrained(other)
    t.tokenizer.save_pretrained(other)
    with pytest.raises(NescioError, match="fitted for model"):
        load_for_serving(str(other), built[3])
    with pytest.raises(NescioError, match="no guard"):
        load_for_serving(str(other), tmp_path)


# ---------------------------------------------------------------- in-process servers


def test_raw_server_without_guard(built):
    from nescio.serve import ServeConfig, create_app

    srv = ThreadServer(create_app(built[0], None, ServeConfig(served_model_name=NAME)))
    try:
        c = openai.OpenAI(base_url=srv.base + "/v1", api_key="none", max_retries=0)
        r = _chat(c, UNKNOWN[0], max_tokens=4)
        ext = _ext(r.choices[0])
        assert ext["mode"] == "raw" and ext["action"] is None and ext["certified"] is False
        assert r.choices[0].message.content == ext["raw_answer"]
        with pytest.raises(openai.BadRequestError, match="needs a guard"):
            _chat(c, UNKNOWN[0], extra_body={"nescio": {"alpha": 0.1}})
    finally:
        srv.stop()


def test_base_model_uses_its_few_shot_prompt():
    from nescio.models import tiny_model
    from nescio.models.prompts import fewshot_prefix
    from nescio.serve import ServeConfig, create_app

    lm = tiny_model("llama", seed=2, prompt_format="fewshot")
    srv = ThreadServer(create_app(lm, None, ServeConfig(served_model_name=NAME)))
    try:
        c = openai.OpenAI(base_url=srv.base + "/v1", api_key="none", max_retries=0)
        prompt = fewshot_prefix() + "Question: What is item 2 of list 3?\nAnswer:"
        r = c.completions.create(model=NAME, prompt=prompt, max_tokens=12)
        assert _ext(r.choices[0])["calibrated_prompt"] is True
        assert "\n" not in r.choices[0].text  # a few-shot answer ends at the newline
        chat = _chat(c, "What is item 2 of list 3?", max_tokens=12)
        assert chat.choices[0].message.content == r.choices[0].text.strip()  # the same few-shot prompt
        assert chat.usage.prompt_tokens == r.usage.prompt_tokens
        with pytest.raises(openai.BadRequestError, match="base model"):
            c.chat.completions.create(model=NAME, messages=[{"role": "user", "content": "a"},
                                                            {"role": "assistant", "content": "b"},
                                                            {"role": "user", "content": "c"}])
        free = c.completions.create(model=NAME, prompt="Once upon a time", max_tokens=4)
        assert _ext(free.choices[0])["calibrated_prompt"] is False
    finally:
        srv.stop()


def test_precheck_in_the_generation_pass(built):
    from nescio.serve import ServeConfig, create_app

    srv = ThreadServer(create_app(built[0], built[1], ServeConfig(served_model_name=NAME, precheck_first=False)))
    try:
        c = openai.OpenAI(base_url=srv.base + "/v1", api_key="none", max_retries=0)
        r = _chat(c, UNKNOWN[0])
        ext = _ext(r.choices[0])
        assert r.choices[0].message.content == "I don't know." and ext["precheck_fired"]
        assert ext["raw_answer"] and r.usage.completion_tokens > 0  # generated, then withheld
        assert c.models.list().data[0].model_extra["nescio"]["precheck_first"] is False
    finally:
        srv.stop()


def _slow_runner(seconds, gate=None):
    import time

    from nescio.serve import backend

    real = backend.run_batch

    def run(lm, guard, works):
        if gate is not None:
            gate.wait(30)
        time.sleep(seconds)
        return real(lm, guard, works)

    return run


def test_timeout_504_and_disconnect_frees_the_slot(built, monkeypatch):
    import socket
    import threading
    import time

    from nescio.serve import ServeConfig, backend, create_app

    gate = threading.Event()
    monkeypatch.setattr(backend, "run_batch", _slow_runner(0.0, gate))
    app = create_app(built[0], built[1], ServeConfig(served_model_name=NAME, max_queue=1, max_batch=1, timeout_s=8.0,
                                                     batching="micro"))  # the slow runner is the micro path's
    srv = ThreadServer(app)
    body = {"model": NAME, "messages": [{"role": "user", "content": ANSWERABLE[0]}], "max_tokens": 2}
    engine = app.state.nescio.engine
    try:
        results = {}

        def send(name):
            results[name] = httpx.post(srv.base + "/v1/chat/completions", json=body, timeout=60)

        def wait_for(cond, what, limit=30.0):
            end = time.monotonic() + limit
            while not cond():
                assert time.monotonic() < end, what
                time.sleep(0.01)

        a = threading.Thread(target=send, args=("running",))  # taken by the worker, blocked on the gate
        a.start()
        wait_for(lambda: engine.running == 1, "the first request never reached the worker")
        # a raw-socket client that waits in the queue and then hangs up
        raw = json.dumps(body).encode()
        gone = socket.create_connection(("127.0.0.1", srv.port))
        gone.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(raw) + raw)
        wait_for(lambda: engine.depth == 1, "the second request was never queued")
        full = httpx.post(srv.base + "/v1/chat/completions", json=body, timeout=30)
        assert full.status_code == 429 and int(full.headers["retry-after"]) >= 1
        assert full.json()["error"]["code"] == "queue_full"
        gone.close()
        wait_for(lambda: engine.depth == 0, "a disconnected client kept its queue slot", limit=5.0)
        c = threading.Thread(target=send, args=("queued",))  # takes the freed slot
        c.start()
        a.join()  # still blocked → the first request runs into its timeout
        c.join()
        assert results["running"].status_code == 504 and results["running"].json()["error"]["code"] == "timeout"
        assert results["queued"].status_code == 504
        gate.set()
        ok = httpx.post(srv.base + "/v1/chat/completions", json=body, timeout=60)
        assert ok.status_code == 200  # still serving
        assert app.state.nescio.stats.abandoned == 1
    finally:
        gate.set()
        srv.stop()
