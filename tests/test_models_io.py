"""Saved generations round-trip exactly; the resumable store survives kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nescio.models import GenerationStore, generate, generate_resumable, load_generations, save_generations
from nescio.models.io import INDEX_FILE as INDEX
from nescio.types import CaptureSpec, GenerationConfig, NescioError, Question

QUESTIONS = [Question(f"q{i}", f"Question number {i}: what is {i} plus {i}?", answers=(str(2 * i),)) for i in range(7)]
CFG = GenerationConfig(
    max_new_tokens=4,
    batch_size=2,
    n_samples=1,
    p_true=True,
    capture=(CaptureSpec("resid", (0, 2), ("last_prompt", "answer")), CaptureSpec("cett", (1,), ("answer_mean",))),
)


def _assert_same(a, b):
    for name in a.__dataclass_fields__:
        if name == "activations":
            assert a.activations.keys() == b.activations.keys()
            for k in a.activations:
                assert a.activations[k].dtype == b.activations[k].dtype
                np.testing.assert_array_equal(a.activations[k], b.activations[k])
        else:
            assert getattr(a, name) == getattr(b, name), name


def test_save_load_round_trip_is_exact(tiny, tmp_path):
    gens = generate(tiny, QUESTIONS[:3], CFG, progress=False)
    save_generations(tmp_path, gens, tiny.run_info(CFG))
    back, info = load_generations(tmp_path)
    assert info == tiny.run_info(CFG) and info.prompt_format == "chat" and info.model_id == tiny.model_id
    assert len(back) == 3
    for a, b in zip(gens, back):
        _assert_same(a, b)
    assert json.loads((tmp_path / "run.json").read_text())["schema_version"] == 1
    # saving again replaces, never appends
    save_generations(tmp_path, gens[:1], tiny.run_info(CFG))
    assert len(load_generations(tmp_path)[0]) == 1


def test_load_missing_dir_is_a_clear_error(tmp_path):
    with pytest.raises(NescioError, match="no generations"):
        load_generations(tmp_path / "nothing")


def test_store_ignores_torn_line_and_orphan_shard(tiny, tmp_path):
    store = GenerationStore(tmp_path)
    full = generate_resumable(tiny, QUESTIONS[:4], CFG, store, progress=False)
    # a crash while committing the next chunk: orphan shard + half a JSON line
    (tmp_path / "chunks" / "chunk-orphan.safetensors").write_bytes(b"garbage")
    with open(tmp_path / "generations.jsonl", "ab") as f:
        f.write(b'{"chunk": "chunk-orphan", "rows": [{"question": {"id": "q4"')
    assert store.done_ids() == {"q0", "q1", "q2", "q3"}
    again = generate_resumable(tiny, QUESTIONS, CFG, store, progress=False)
    assert [g.question.id for g in again] == [q.id for q in QUESTIONS]
    ids = [g.question.id for g in store.load()]
    assert sorted(ids) == sorted(q.id for q in QUESTIONS) and len(ids) == len(set(ids))
    for a, b in zip(full, again[:4]):
        _assert_same(a, b)
    # every line of the index is valid JSON again
    for line in (tmp_path / "generations.jsonl").read_text().splitlines():
        json.loads(line)


def test_store_refuses_other_config_or_prompt_but_not_another_batch_size(tiny, tmp_path):
    import dataclasses

    from nescio.models.tiny import tiny_model

    generate_resumable(tiny, QUESTIONS[:1], CFG, tmp_path, progress=False)
    with pytest.raises(NescioError, match="another dtype, prompt or config"):
        generate_resumable(tiny, QUESTIONS[:1], GenerationConfig(max_new_tokens=5), tmp_path, progress=False)
    fewshot = tiny_model(seed=0, prompt_format="fewshot")
    assert fewshot.model_id == tiny.model_id
    with pytest.raises(NescioError, match="another dtype, prompt or config"):
        generate_resumable(fewshot, QUESTIONS[:2], CFG, tmp_path, progress=False)
    # batch size does not change results, so a resumed run may change it
    rebatched = dataclasses.replace(CFG, batch_size=CFG.batch_size + 1)
    assert len(generate_resumable(tiny, QUESTIONS[:2], rebatched, tmp_path, progress=False)) == 2


_WORKER = """
import sys, time
from nescio.models import GenerationStore, generate_resumable
from nescio.models.tiny import tiny_model
from nescio.types import GenerationConfig, Question
import nescio.models.io as io
qs = [Question(f"q{i}", f"Question number {i}?") for i in range(int(sys.argv[2]))]
store = GenerationStore(sys.argv[1])
slow = sys.argv[3] == "slow"
original = store.append
def append(gens):
    original(gens)
    print("committed", flush=True)
    if slow:
        time.sleep(0.3)
store.append = append
generate_resumable(tiny_model(), qs, GenerationConfig(max_new_tokens=3, batch_size=2), store, progress=False)
print("finished", flush=True)
"""


def test_kill_9_then_rerun_loses_and_duplicates_nothing(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    out = tmp_path / "store"
    n = 20
    proc = subprocess.Popen([sys.executable, str(script), str(out), str(n), "slow"], stdout=subprocess.PIPE, text=True)
    committed = 0
    deadline = time.time() + 900  # generous: importing torch alone takes minutes on a crowded machine
    while committed < 2 and time.time() < deadline:
        line = proc.stdout.readline()
        committed += line.startswith("committed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    partial = GenerationStore(out).done_ids()
    assert 2 * 2 <= len(partial) < n
    result = subprocess.run([sys.executable, str(script), str(out), str(n), "fast"], capture_output=True, text=True, timeout=300)
    assert "finished" in result.stdout, result.stderr
    ids = [g.question.id for g in GenerationStore(out).load()]
    assert sorted(ids) == sorted(f"q{i}" for i in range(n))
    assert len(ids) == len(set(ids))


def test_generate_resumable_tokenises_each_prompt_once(tiny, tmp_path, monkeypatch):
    tokenised: list[str] = []
    cls = type(tiny.tokenizer)
    original = cls.__call__

    def counting(self, text=None, *args, **kwargs):
        tokenised.extend([text] if isinstance(text, str) else list(text or []))
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(cls, "__call__", counting)
    cfg = GenerationConfig(max_new_tokens=3, batch_size=2)
    gens = generate_resumable(tiny, QUESTIONS[:5], cfg, tmp_path, progress=False)
    assert len(gens) == 5
    prompts = [g.prompt for g in gens]
    assert sorted(t for t in tokenised if t in prompts) == sorted(prompts)  # once each, not three times


def _generation(i: int):
    from nescio.types import Generation

    q = Question(f"g{i}", f"Question {i}?")
    return Generation(question=q, prompt="p", text="t", token_ids=(1, 2), token_logprobs=(-0.1, -0.2),
                      token_entropies=(0.5, 0.4), top_k_ids=((1,), (2,)), top_k_logprobs=((-0.1,), (-0.2,)),
                      stop_reason="eos", samples=(), activations={})


def test_append_reads_a_constant_amount_however_long_the_index(tmp_path, monkeypatch):
    import builtins

    import nescio.models.io as io_mod

    store = GenerationStore(tmp_path)
    read_bytes = []

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            data = self.f.read(n)
            read_bytes[-1] += len(data)
            return data

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def counting_open(*args, **kwargs):
        return Counting(builtins.open(*args, **kwargs))

    monkeypatch.setattr(io_mod, "open", counting_open, raising=False)
    for i in range(200):
        read_bytes.append(0)
        store.append([_generation(i)])
    assert (tmp_path / INDEX).stat().st_size > 50_000
    assert max(read_bytes) <= 1  # the last byte, whatever the index length (it was the whole file)
    monkeypatch.undo()
    assert [g.question.id for g in store.load()] == [f"g{i}" for i in range(200)]


def test_torn_tail_longer_than_a_block_is_cut(tmp_path, monkeypatch):
    import nescio.models.io as io_mod

    monkeypatch.setattr(io_mod, "_TAIL_BLOCK", 16)
    store = GenerationStore(tmp_path)
    store.append([_generation(0)])
    with open(tmp_path / INDEX, "ab") as f:
        f.write(b'{"chunk": "torn", "rows": [{"question": {"id": "g9", "text": "' + b"x" * 100)
    store.append([_generation(1)])
    assert [g.question.id for g in store.load()] == ["g0", "g1"]
    lines = (tmp_path / INDEX).read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])
    # a file that is one torn line only is emptied, then appended to
    (tmp_path / INDEX).write_bytes(b'{"chunk": "torn"' + b"y" * 50)
    store.append([_generation(2)])
    assert [g.question.id for g in store.load()] == ["g2"]
