"""Shared helpers of the server tests: a tiny chat model saved as an HF directory, a guard
fitted on it, and a real ``nescio serve`` subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CHEAP = ("sequence_nll", "mean_token_nll", "max_token_entropy", "one_minus_first_token_margin")
UNKNOWABLE = "Who is the fabricated person Zorblax Quint number {i}?"
ANSWERABLE = ["What is item 3 of list 2?", "What is item 9 of list 4?", "What is item 5 of list 1?"]
UNKNOWN = [UNKNOWABLE.format(i=1000), UNKNOWABLE.format(i=2024)]


def questions(n: int = 120):
    from nescio.types import Question

    qs = []
    for i in range(n):
        answerable = i % 4 != 0
        text = f"What is item {i * 7 % 11} of list {i % 5}?" if answerable else UNKNOWABLE.format(i=i)
        qs.append(Question(id=f"q{i}", text=text, answers=("x",), answerable=answerable,
                           category="fact/x" if answerable else "fabricated"))
    return qs


def build_model_and_guard(root: Path):
    """Save the tiny model as ``root/tiny-instruct`` and fit + save a guard for it in ``root/guard``."""
    from nescio.models import generate, load_model, tiny_model
    from nescio.policy.guard import Guard

    model_dir = root / "tiny-instruct"
    t = tiny_model("llama", seed=0)
    t.model.save_pretrained(model_dir)
    t.tokenizer.save_pretrained(model_dir)
    lm = load_model(str(model_dir))
    assert lm.prompt_format == "chat"
    qs = questions()
    guard = Guard(alpha=0.35, delta=0.3, signals=CHEAP + ("probe_last_prompt",), use_precheck=True,
                  precheck_alpha=0.3, hedge_alpha=0.6, max_new_tokens=8)
    gens = generate(lm, qs, guard.generation_config(model=lm), progress=False)
    nll = np.array([-np.mean(g.token_logprobs) if g.token_logprobs else 0.0 for g in gens])
    rng = np.random.default_rng(0)
    correct = (nll < np.quantile(nll, 0.6)) ^ (rng.uniform(size=len(nll)) < 0.05)
    outcomes = np.where(np.array([q.answerable for q in qs]) & correct, "correct", "hallucinated").astype(object)
    half = len(qs) // 2
    guard.fit(gens[:half], outcomes[:half], gens[half:], outcomes[half:], model_id=lm.model_id, model_spec=lm.spec)
    guard.save(root / "guard")
    return lm, guard, model_dir, root / "guard"


def built_once(tmp_path_factory):
    """(lm, guard, model_dir, guard_dir), built once per test session and shared by the server tests."""
    from nescio.models import load_model
    from nescio.policy.guard import Guard

    root = tmp_path_factory.getbasetemp() / "serve-model"
    if (root / "guard" / "guard.json").is_file():
        lm = load_model(str(root / "tiny-instruct"))
        return lm, Guard.load(root / "guard", model_id=lm.model_id), root / "tiny-instruct", root / "guard"
    root.mkdir(parents=True, exist_ok=True)
    return build_model_and_guard(root)


class ThreadServer:
    """A real uvicorn server over an in-process app, in a background thread (no subprocess start-up)."""

    def __init__(self, app, **options):  # options: more uvicorn.Config keywords
        import threading

        import uvicorn

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        options = {"log_level": "warning", **options, "host": "127.0.0.1", "port": self.port}
        self.server = uvicorn.Server(uvicorn.Config(app, **options))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("in-process server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``nescio serve`` in a subprocess; stderr goes to a file read by :meth:`log`."""

    def __init__(self, model_dir: Path, guard_dir: Path | None, *args: str, api_key: str | None = None,
                 log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        cmd = [sys.executable, "-m", "nescio.cli", "serve", "--model", str(model_dir), "--port", str(self.port), *args]
        if guard_dir is not None:
            cmd += ["--guard", str(guard_dir)]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        env.pop("NESCIO_API_KEY", None)
        if api_key:
            env["NESCIO_API_KEY"] = api_key
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 600.0) -> None:  # generous: a busy shared machine imports torch slowly
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.base + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode
