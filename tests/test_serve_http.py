"""The server's HTTP layer on a real uvicorn server on loopback: bad bodies are 400s, no error
drops a keep-alive connection, request ids, CORS, 405's Allow, the API key from a file or the
environment, and `nescio serve` refusing a port in use before it loads the model."""

from __future__ import annotations

import io
import logging
import socket

import httpx
import pytest

pytest.importorskip("fastapi")

from serve_support import ThreadServer, built_once  # noqa: E402

NAME = "tiny"
KEY = "file-key-456"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_once(tmp_path_factory)


def _app(built, **config):
    from nescio.serve import ServeConfig, create_app

    return create_app(built[0], built[1], ServeConfig(served_model_name=NAME, **config))


@pytest.fixture(scope="module")
def srv(built):
    s = ThreadServer(_app(built))
    try:
        yield s
    finally:
        s.stop()


GOOD = {"model": NAME, "messages": [{"role": "user", "content": "What is item 3 of list 2?"}], "max_tokens": 2}


def _local_port(r: httpx.Response) -> int:
    return r.extensions["network_stream"].get_extra_info("client_addr")[1]


BAD_BODIES = [
    ("lone surrogate in a message", "/v1/chat/completions",
     b'{"model": "tiny", "messages": [{"role": "user", "content": "hi \\ud800 there"}]}', "messages.0.content"),
    ("lone surrogate in a text part", "/v1/chat/completions",
     b'{"model": "tiny", "messages": [{"role": "user", "content": [{"type": "text", "text": "\\udfff"}]}]}',
     "messages.0.content.0.text"),
    ("lone surrogate in a prompt", "/v1/completions", b'{"model": "tiny", "prompt": "hi \\ud800"}', "prompt"),
    ("100,000-deep nesting", "/v1/chat/completions", b"[" * 100_000 + b"]" * 100_000, None),
    ("nesting under the recursion limit", "/v1/chat/completions",
     b'{"model": "tiny", "messages": [], "x": ' + b"[" * 500 + b"]" * 500 + b"}", None),
]


@pytest.mark.parametrize("name,path,raw,param", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_body_is_a_400_and_the_connection_stays(srv, name, path, raw, param):
    with httpx.Client(base_url=srv.base, timeout=60) as c:
        bad = c.post(path, content=raw, headers={"content-type": "application/json"})
        assert bad.status_code == 400, bad.text
        err = bad.json()["error"]
        assert set(err) == {"message", "type", "param", "code"} and err["type"] == "invalid_request_error"
        assert err["param"] == param
        assert ("surrogate" if param else "nests deeper") in err["message"]
        good = c.post("/v1/chat/completions", json=GOOD)
        assert good.status_code == 200, good.text
        assert _local_port(good) == _local_port(bad)  # the same keep-alive connection


def test_an_unexpected_error_is_an_openai_500_logged_once_and_the_connection_stays(built, monkeypatch, caplog):
    from nescio.serve import prompting

    real = prompting.chat_work

    def boom(lm, req, s, **kw):
        if req.messages[-1].content == "boom":
            raise RuntimeError("a bug in the server")
        return real(lm, req, s, **kw)

    monkeypatch.setattr(prompting, "chat_work", boom)
    s = ThreadServer(_app(built))
    try:
        with httpx.Client(base_url=s.base, timeout=60) as c, caplog.at_level(logging.ERROR):
            bad = c.post("/v1/chat/completions", json={**GOOD, "messages": [{"role": "user", "content": "boom"}]},
                         headers={"x-request-id": "req-boom-1"})
            assert bad.status_code == 500
            assert bad.json()["error"] == {"message": "internal server error; see the server log", "type": "server_error",
                                           "param": None, "code": None}
            assert "Traceback" not in bad.text and bad.headers["x-request-id"] == "req-boom-1"
            good = c.post("/v1/chat/completions", json=GOOD)
            assert good.status_code == 200 and _local_port(good) == _local_port(bad)
            metrics = c.get("/metrics").text
    finally:
        s.stop()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "req-boom-1" in tracebacks[0].getMessage()
    assert 'nescio_requests_total{endpoint="chat",status="500"} 1.0' in metrics


def test_request_id_is_echoed_or_generated(srv):
    r = httpx.post(srv.base + "/v1/chat/completions", json=GOOD, headers={"x-request-id": "trace-42.a"}, timeout=60)
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-42.a"
    ids = [httpx.get(srv.base + "/health").headers["x-request-id"] for _ in range(2)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids) and ids[0] != ids[1]  # uuid4 hex, one per request
    odd = httpx.get(srv.base + "/health", headers={"x-request-id": "bad id\twith spaces"}).headers["x-request-id"]
    assert len(odd) == 32 and " " not in odd  # an unusable id is replaced, not echoed into logs
    err = httpx.get(srv.base + "/nothing", headers={"x-request-id": "e-1"})
    assert err.status_code == 404 and err.headers["x-request-id"] == "e-1"


def test_405_names_the_allowed_methods(srv):
    r = httpx.get(srv.base + "/v1/chat/completions")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert set(r.json()["error"]) == {"message", "type", "param", "code"} and "POST" in r.json()["error"]["message"]
    assert httpx.delete(srv.base + "/health").headers["allow"] == "GET"


def test_cors_only_for_the_allowed_origins(built, srv):
    allowed, other = "https://app.example.com", "https://evil.example.com"
    # without --cors-origin: no CORS headers at all
    r = httpx.get(srv.base + "/health", headers={"origin": allowed})
    assert "access-control-allow-origin" not in r.headers
    s = ThreadServer(_app(built, cors_origins=(allowed, "http://localhost:3000")))
    try:
        r = httpx.get(s.base + "/health", headers={"origin": allowed})
        assert r.headers["access-control-allow-origin"] == allowed
        assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
        assert "access-control-allow-origin" not in httpx.get(s.base + "/health", headers={"origin": other}).headers
        pre = httpx.options(s.base + "/v1/chat/completions", headers={
            "origin": allowed, "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == allowed
        denied = httpx.options(s.base + "/v1/chat/completions", headers={
            "origin": other, "access-control-request-method": "POST"})
        assert denied.status_code == 400 and "access-control-allow-origin" not in denied.headers
    finally:
        s.stop()
    from nescio.serve import ServeConfig
    from nescio.types import NescioError

    with pytest.raises(NescioError, match="cors-origin"):
        ServeConfig(cors_origins=("https://app.example.com/",))


def test_access_log_line_carries_the_request_id(built):
    from nescio.serve import ServeConfig
    from nescio.serve.run import uvicorn_options

    config = ServeConfig(served_model_name=NAME, access_log=True)
    s = ThreadServer(_app(built, access_log=True), **uvicorn_options(config, "info"))
    lines = io.StringIO()
    try:
        for h in logging.getLogger("uvicorn.access").handlers:
            h.setStream(lines)
        httpx.get(s.base + "/health", headers={"x-request-id": "acc-7"})
        httpx.get(s.base + "/health")
    finally:
        s.stop()
    out = lines.getvalue().splitlines()
    assert len(out) == 2 and "GET /health" in out[0] and out[0].endswith("request_id=acc-7")
    assert len(out[1].rsplit("request_id=", 1)[1]) == 32
    assert uvicorn_options(ServeConfig())["access_log"] is False  # off by default


# ---------------------------------------------------------------- the command line
def _run_cli(monkeypatch, args, env=None):
    """`nescio serve ARGS` with serve() replaced: returns the ServeConfig it was given (or the exception)."""
    from typer.testing import CliRunner

    import nescio.serve
    from nescio.cli import app

    got = {}
    monkeypatch.setattr(nescio.serve, "serve", lambda model, guard, config, **kw: got.setdefault("config", config))
    monkeypatch.delenv("NESCIO_API_KEY", raising=False)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    result = CliRunner().invoke(app, ["serve", *args])
    return got.get("config"), result


def test_api_key_from_a_file_or_the_environment(built, monkeypatch, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\nsecond line ignored\n")
    from_file, _ = _run_cli(monkeypatch, ["--api-key-file", str(key_file)])
    from_env, _ = _run_cli(monkeypatch, [], env={"NESCIO_API_KEY": "env-key-789"})
    flag, _ = _run_cli(monkeypatch, ["--api-key", "flag-key"], env={"NESCIO_API_KEY": "env-key-789"})
    none, _ = _run_cli(monkeypatch, [])
    assert (from_file.api_key, from_env.api_key, flag.api_key, none.api_key) == (KEY, "env-key-789", "flag-key", None)
    _, both = _run_cli(monkeypatch, ["--api-key", "a", "--api-key-file", str(key_file)])
    assert "not both" in str(both.exception)
    (tmp_path / "empty").write_text("\n")
    _, empty = _run_cli(monkeypatch, ["--api-key-file", str(tmp_path / "empty")])
    assert "is empty" in str(empty.exception)
    for config, right in ((from_file, KEY), (from_env, "env-key-789")):
        from nescio.serve import create_app

        s = ThreadServer(create_app(built[0], built[1], config))
        try:
            models = s.base + "/v1/models"
            assert httpx.get(models, headers={"authorization": f"Bearer {right}"}).status_code == 200
            wrong = httpx.get(models, headers={"authorization": "Bearer wrong"})
            assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        finally:
            s.stop()


def test_cli_options_reach_the_config(monkeypatch):
    config, _ = _run_cli(monkeypatch, ["--access-log", "--cors-origin", "https://a.example",
                                       "--cors-origin", "http://localhost:3000"])
    assert config.access_log is True and config.cors_origins == ("https://a.example", "http://localhost:3000")
    config, _ = _run_cli(monkeypatch, [])
    assert config.access_log is False and config.cors_origins == ()


def test_a_port_in_use_is_refused_before_the_model_loads(monkeypatch):
    from typer.testing import CliRunner

    import nescio.models
    from nescio.cli import app
    from nescio.types import NescioError

    def never(*a, **k):
        raise AssertionError("the model was loaded although the port is taken")

    monkeypatch.setattr(nescio.models, "load_model", never)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--model", "tiny", "--port", str(port)])
    assert isinstance(result.exception, NescioError)
    assert str(result.exception) == f"port {port} on 127.0.0.1 is in use; pick another with --port"
