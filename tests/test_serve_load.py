"""Bounded loopback load test of `nescio serve` (tiny model, a guard fitted on it):

100 concurrent clients × 5 requests against a small --max-queue: every request gets exactly
one well-formed answer (200) or a 429 that says the queue was full; then a second burst with
a SIGTERM in the middle: the server stops accepting, answers every request it accepted, and
exits cleanly.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time

import httpx
import pytest

pytest.importorskip("fastapi")

from serve_support import Server, built_once  # noqa: E402

KEY = "load-key"
MAX_QUEUE = 16
CLIENTS, PER_CLIENT = 100, 5


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _, _, model_dir, guard_dir = built_once(tmp_path_factory)
    log = tmp_path_factory.mktemp("serve-load") / "server.log"
    srv = Server(model_dir, guard_dir, "--max-batch", "8", "--max-queue", str(MAX_QUEUE), "--served-model-name",
                 "tiny", "--timeout", "300", api_key=KEY, log_path=log)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def _body(c: int, i: int) -> dict:
    return {"model": "tiny", "messages": [{"role": "user", "content": f"What is item {c} of list {i}?"}],
            "max_tokens": 3}


async def _burst(base: str, clients: int, per_client: int, on_response=None) -> list:
    """Each client sends its requests one after another; returns (client, i, status | exception, json, headers)."""
    out = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300,
                                 headers={"authorization": f"Bearer {KEY}"}) as http:
        async def client(c: int):
            for i in range(per_client):
                try:
                    r = await http.post("/v1/chat/completions", json=_body(c, i))
                    out.append((c, i, r.status_code, r.json(), r.headers))
                except httpx.HTTPError as exc:  # refused once the server stops accepting
                    out.append((c, i, exc, None, None))
                if on_response is not None:
                    on_response(out)

        await asyncio.gather(*(client(c) for c in range(clients)))
    return out


def _check_well_formed(results) -> tuple[int, int]:
    ok = [r for r in results if r[2] == 200]
    full = [r for r in results if r[2] == 429]
    ids = [r[3]["id"] for r in ok]
    assert len(ids) == len(set(ids))  # no response delivered twice
    for _, _, _, body, _ in ok:
        ch = body["choices"]
        assert len(ch) == 1 and isinstance(ch[0]["message"]["content"], str) and ch[0]["message"]["content"]
        assert ch[0]["nescio"]["action"] in ("answer", "hedge", "abstain")
        assert ch[0]["finish_reason"] in ("stop", "length")
    for _, _, _, body, headers in full:
        assert body["error"]["code"] == "queue_full" and int(headers["retry-after"]) >= 1
        # refused only when the queue held --max-queue requests
        assert int(re.search(r"\((\d+) waiting\)", body["error"]["message"]).group(1)) == MAX_QUEUE
    return len(ok), len(full)


def _counter(server, name: str, status: str) -> float:
    text = httpx.get(server.base + "/metrics", headers={"authorization": f"Bearer {KEY}"}).text
    m = re.search(rf'^{name}{{endpoint="chat",status="{status}"}} ([0-9.e+]+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def test_load_then_sigterm_mid_load(server):
    # 1. 100 concurrent clients × 5 requests, queue of 16: no request lost, none answered twice
    t0 = time.monotonic()
    results = asyncio.run(_burst(server.base, CLIENTS, PER_CLIENT))
    elapsed = time.monotonic() - t0
    assert len(results) == CLIENTS * PER_CLIENT
    assert all(isinstance(r[2], int) and r[2] in (200, 429) for r in results), \
        {r[2] for r in results if r[2] not in (200, 429)}
    n_ok, n_full = _check_well_formed(results)
    assert n_ok + n_full == CLIENTS * PER_CLIENT
    assert n_full > 0 and n_ok >= MAX_QUEUE  # 100 clients against a queue of 16
    assert _counter(server, "nescio_requests_total", "200") == n_ok  # the server answered exactly these
    assert _counter(server, "nescio_requests_total", "429") == n_full
    health = httpx.get(server.base + "/health").json()
    assert health["queue_depth"] == 0
    print(f"load: {n_ok} answered, {n_full} refused with 429 in {elapsed:.1f} s")

    # 2. a second burst; SIGTERM once some of it is answered
    sent = {"signalled": False}

    def maybe_stop(out):
        if not sent["signalled"] and sum(1 for r in out if r[2] == 200) >= 40:
            sent["signalled"] = True
            server.proc.send_signal(signal.SIGTERM)

    results2 = asyncio.run(_burst(server.base, CLIENTS // 2, 4, on_response=maybe_stop))
    assert sent["signalled"]
    rc = server.proc.wait(120)
    assert rc == 0, server.log()
    n_ok2, n_full2 = _check_well_formed(results2)
    refused = [r for r in results2 if not isinstance(r[2], int)]
    assert all(isinstance(r[2], (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)) for r in refused)
    assert {r[2] for r in results2 if isinstance(r[2], int)} <= {200, 429, 503}
    log = server.log()
    m = re.search(r"drained; accepted (\d+) requests, answered (\d+), abandoned by the client (\d+)", log)
    assert m, log[-2000:]
    accepted, answered, abandoned = map(int, m.groups())
    # every accepted request got exactly one answer, and the clients received every one of them
    assert accepted == answered and abandoned == 0
    assert accepted == n_ok + n_ok2
