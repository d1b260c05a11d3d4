"""Devices and dtypes: bfloat16 on the CPU through generate / score, the --device/--dtype options
of every model-loading command, and the guard's dtype check (CUDA paths skip without a GPU)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings

import numpy as np
import pytest

from nescio.models.backend import HFBackend
from nescio.models.devices import request_placement, resolve_device_dtype
from nescio.types import CaptureSpec, GenerationConfig, NescioError, Outcome, Question

QUESTIONS = [Question(id=f"d{i}", text=t) for i, t in enumerate(
    ["What is the capital of France?", "2+2?", "Name a colour.", "Who wrote Hamlet?"])]
CONFIG = GenerationConfig(max_new_tokens=8, top_k=3, activation_dtype="float16",
                          capture=(CaptureSpec("resid", "all", ("last_prompt", "answer", "answer_mean")),
                                   CaptureSpec("attn_logdiag", (1,), ("answer",))))
MODEL_COMMANDS = [["eval"], ["ask"], ["generate"], ["serve"], ["calibrate"], ["score"],
                  ["train", "data"], ["train", "sft"], ["train", "grpo"]]


@pytest.fixture(autouse=True)
def _no_leftover_request():
    yield
    request_placement(None, None)  # a command run in-process records its choice: reset it


@pytest.fixture(scope="module")
def bf16():
    from nescio.models.tiny import tiny_model

    return HFBackend(tiny_model("llama", seed=1, dtype="bfloat16"))


def test_tiny_model_and_backend_report_the_dtype(bf16):
    import torch

    assert bf16.lm.model.dtype == torch.bfloat16 and bf16.dtype == "bfloat16" and bf16.lm.dtype == "bfloat16"
    assert bf16.device == "cpu" and bf16.device_kind == "cpu"
    with pytest.raises(NescioError, match="accepted: auto, bfloat16, float16, float32"):
        from nescio.models.tiny import tiny_model

        tiny_model("llama", dtype="int8")


def test_bf16_generate_and_score_agree_with_finite_logprobs_and_the_requested_activation_dtype(bf16):
    gens = bf16.generate(QUESTIONS, CONFIG)
    scored = bf16.score(QUESTIONS, [g.text for g in gens], CONFIG, token_ids=[g.token_ids for g in gens],
                        stop_reasons=[g.stop_reason for g in gens])
    for g, s in zip(gens, scored):
        assert g.token_ids and np.isfinite(g.token_logprobs).all() and np.isfinite(s.token_logprobs).all()
        # bf16 keeps ~3 significant digits: generate (one token per step) and score (one prefill) round apart
        assert np.max(np.abs(np.subtract(g.token_logprobs, s.token_logprobs))) < 0.15
        for key, value in g.activations.items():
            want = np.float32 if key.startswith("attn_logdiag") else np.float16
            assert value.dtype == want and s.activations[key].dtype == want, key
            a, b = value.astype(np.float32), s.activations[key].astype(np.float32)
            assert np.isfinite(a).all() and np.max(np.abs(a - b)) <= 0.1 * max(1.0, float(np.max(np.abs(a)))), key


def test_float32_activations_stay_float32(bf16):
    gens = bf16.generate(QUESTIONS[:1], dataclasses.replace(CONFIG, activation_dtype="float32"))
    assert {v.dtype for v in gens[0].activations.values()} == {np.dtype(np.float32)}


def test_resolve_auto_and_bad_words():
    import torch

    auto = resolve_device_dtype("auto", "auto")
    if torch.cuda.is_available():
        assert auto.kind == "cuda" and auto.dtype == "bfloat16"
    else:
        assert auto.dtype == "float32" and auto.kind in ("cpu", "mps")
    assert resolve_device_dtype("cpu", "bfloat16").dtype == "bfloat16"
    for device, dtype, accepted in [("gpu", "auto", "auto, cpu, cuda, cuda:N, mps"), ("cpu", "fp8", "auto, bfloat16")]:
        with pytest.raises(NescioError, match=accepted) as e:
            resolve_device_dtype(device, dtype)
        assert "\n" not in str(e.value)
    if not torch.cuda.is_available():
        with pytest.raises(NescioError, match="no CUDA GPU"):
            resolve_device_dtype("cuda:0", "auto")


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="needs a CUDA GPU")
def test_cuda_bf16_tiny_generates():
    from nescio.models.tiny import tiny_model

    lm = tiny_model("llama", seed=1, dtype="bfloat16")
    lm.model.to("cuda")
    lm.device = "cuda"
    gens = HFBackend(lm).generate(QUESTIONS, CONFIG)
    assert all(np.isfinite(g.token_logprobs).all() for g in gens)


def test_load_model_honours_the_dtype(tmp_path):
    """A local HF directory (the path a GGUF file's cached copy takes too) loads in the dtype asked for."""
    import torch

    from nescio.models.load import load_model
    from nescio.models.tiny import tiny_model

    lm = tiny_model("llama", seed=0)
    lm.model.save_pretrained(tmp_path / "m")
    lm.tokenizer.save_pretrained(tmp_path / "m")
    for dtype, want in [("bfloat16", torch.bfloat16), ("float32", torch.float32)]:
        loaded = load_model(str(tmp_path / "m"), device="cpu", dtype=dtype)
        assert loaded.model.dtype == want and loaded.dtype == dtype and HFBackend(loaded).dtype == dtype
        assert loaded.run_info(GenerationConfig()).dtype == dtype
    request_placement("cpu", "bfloat16")  # what a command's --dtype records
    assert load_model(str(tmp_path / "m")).model.dtype == torch.bfloat16


@pytest.mark.parametrize("command", MODEL_COMMANDS, ids=lambda c: " ".join(c))
def test_every_model_loading_command_has_device_and_dtype(command):
    from typer.testing import CliRunner

    from nescio.cli import app

    out = CliRunner().invoke(app, [*command, "--help"], terminal_width=200).output
    assert "--device" in out and "--dtype" in out and "bfloat16" in out


def test_a_bad_device_is_one_line_before_any_loading(monkeypatch):
    from typer.testing import CliRunner

    from nescio import models
    from nescio.cli import app

    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("loaded a model"))
    res = CliRunner().invoke(app, ["generate", "--device", "tpu"])
    assert isinstance(res.exception, NescioError) and "accepted: auto, cpu, cuda, cuda:N, mps" in str(res.exception)
    res = CliRunner().invoke(app, ["ask", "hi", "--dtype", "half"])
    assert isinstance(res.exception, NescioError) and "accepted: auto, bfloat16, float16, float32" in str(res.exception)


# ------------------------------------------------------------------ the guard's dtype check

def _grade(gens):
    return [Outcome.CORRECT if int(hashlib.sha256(g.question.id.encode()).hexdigest()[:8], 16) % 10 < 6
            else Outcome.HALLUCINATED for g in gens]


@pytest.fixture(scope="module")
def fp32_guard():
    from nescio.models.tiny import tiny_model
    from nescio.policy.guard import Guard

    fp = HFBackend(tiny_model("gemma3", seed=1))
    qs = [Question(id=f"q{i}", text=f"What is thing {i} in set {i % 7}?", answers=("x",)) for i in range(60)]
    g = Guard(alpha=0.3, delta=0.2, max_new_tokens=6, use_precheck=False)
    gens = fp.generate(qs, g.generation_config(model=fp))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g.fit(gens[:30], _grade(gens[:30]), gens[30:], _grade(gens[30:]), model_id=fp.model_id, dtype=fp.dtype,
              device=fp.device)
    return g


def test_the_guard_records_its_dtype_and_probe_sample_and_round_trips(fp32_guard, tmp_path):
    from nescio.policy.guard import Guard

    p = fp32_guard.placement_
    assert (p.dtype, p.device_kind, len(p.questions), len(p.raw_scores)) == ("float32", "cpu", 30, 30)
    fp32_guard.save(tmp_path / "g")
    meta = json.loads((tmp_path / "g" / "guard.json").read_text())
    assert meta["placement"]["dtype"] == "float32" and len(meta["placement"]["probe_sample"]["questions"]) == 30
    back = Guard.load(tmp_path / "g").placement_
    assert back.questions == p.questions and back.raw_scores == p.raw_scores


def test_an_old_guard_json_without_placement_loads_as_float32_cpu_and_refuses_another_dtype(fp32_guard, tmp_path):
    from nescio.models.tiny import tiny_model
    from nescio.policy.guard import Guard

    fp32_guard.save(tmp_path / "g")
    path = tmp_path / "g" / "guard.json"
    meta = json.loads(path.read_text())
    del meta["placement"]
    path.write_text(json.dumps(meta))
    old = Guard.load(tmp_path / "g")
    assert (old.placement_.dtype, old.placement_.device_kind, old.placement_.questions) == ("float32", "cpu", ())
    assert old.check_backend(HFBackend(tiny_model("gemma3", seed=1))) == 0.0  # same dtype: nothing runs
    with pytest.raises(NescioError, match=r"fitted in float32 on cpu and has no probe sample.*--dtype bfloat16") as e:
        old.check_backend(HFBackend(tiny_model("gemma3", seed=1, dtype="bfloat16")))
    assert "\n" not in str(e.value)


def test_a_bf16_backend_passes_when_the_scores_agree_and_is_refused_when_they_do_not(fp32_guard, monkeypatch):
    import copy

    from nescio.models.tiny import tiny_model
    from nescio.pipeline import AnswerPipeline

    bf16 = HFBackend(tiny_model("gemma3", seed=1, dtype="bfloat16"))
    guard = copy.deepcopy(fp32_guard)
    diff = guard.check_backend(bf16)
    assert 0.0 < diff <= 0.1
    calls = []
    monkeypatch.setattr(bf16, "generate", lambda *a, **k: calls.append(1) or pytest.fail("checked twice"))
    AnswerPipeline(bf16, guard)  # remembered: the pipeline pays nothing
    assert calls == []
    monkeypatch.undo()
    with pytest.raises(NescioError, match=r"move by .* in bfloat16 \(allowed 0.0001\); refit the guard under this "
                                          r"dtype \(nescio eval --dtype bfloat16"):
        copy.deepcopy(fp32_guard).check_backend(bf16, tolerance=1e-4)
    corrupted = copy.deepcopy(fp32_guard)
    corrupted.placement_ = dataclasses.replace(corrupted.placement_,
                                               raw_scores=tuple(1.0 - s for s in corrupted.placement_.raw_scores))
    with pytest.raises(NescioError, match="refit the guard under this dtype"):
        AnswerPipeline(bf16, corrupted)


def test_bf16_eval_end_to_end_on_the_tiny_model(tmp_path, monkeypatch):
    from nescio import grading
    from nescio.evaluate import evaluate
    from nescio.evaluate import run as run_mod
    from nescio.models.tiny import tiny_model
    from nescio.policy.guard import Guard

    monkeypatch.setattr(run_mod, "grade_outcomes", _grade)
    monkeypatch.setattr(grading, "grade_outcomes", _grade)
    bench = tmp_path / "bench.jsonl"
    cats = ["fact/geography", "fact/science", "fabricated", "future"]
    bench.write_text("".join(json.dumps({"id": f"q{i}", "question": f"What is thing {i} in set {i % 7}?",
                                         "answers": ["x"] if cats[i % 4].startswith("fact") else [],
                                         "category": cats[i % 4]}) + "\n" for i in range(72)))
    res = evaluate(tiny_model("llama", seed=0, dtype="bfloat16"), f"jsonl:{bench}", tmp_path / "run", progress=False,
                   alpha=0.3, delta=0.2, max_new_tokens=6)
    assert res.n > 0 and np.isfinite(res.runs[0].raw.correct)
    guard = Guard.load(next((tmp_path / "run").rglob("guard.json")).parent)
    assert guard.placement_.dtype == "bfloat16"
