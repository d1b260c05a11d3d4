"""Pinned generation outputs on the tiny model: the decode loop's refactors must not change a bit.

``tests/data/generation_pin.json`` holds every output of three configurations (greedy
tokens, log-probs, entropies, top-k, stop reasons, sampled answers with their log-probs,
captured activations, P(True), verbal confidence), written by the generation code before
it was split into prefill / decode step / finalise. The cases cover: rows that stop at
EOS at different steps while others run on (an EOS logit bias), the shared-prefix path
and the prompt-pooling path (no shared prefix), several batches, two nucleus widths,
few-shot prompts stopping at a newline.

Discrete outputs (token ids, texts, stop reasons, shapes, counts) must match exactly.
Floats are compared to an absolute ``FLOAT_ATOL`` (see there for why that size): CPU
kernels sum in an order that depends on the thread count (``OMP_NUM_THREADS``) and the
machine, so the last bits move. Rewrite the file only for an intended change:
``python tests/test_models_pin.py`` (and say why in the commit).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

PIN_FILE = Path(__file__).parent / "data" / "generation_pin.json"

# Floats may differ from the pinned file by this much, no more. Observed (2026-12-02, the
# tiny model in float32): 1 vs 2 threads move log-probs / top-k log-probs / entropies by
# up to 5e-6; against the machine that wrote the file, log-probs, entropies and P(True)
# move by up to 6e-6 and captured activations (values up to |29|) by up to 1.7e-5. 1e-4
# leaves a margin of about 6x over the largest, while any real change to the decode loop
# (another mask, another position pooled, another temperature) moves values far more.
FLOAT_ATOL = 1e-4

QUESTIONS = (
    ("long", "Who wrote the very long and winding novel called War and Peace, and in which year?", None),
    ("short", "Hi?", None),
    ("mid", "What is the capital of France?", "France"),
    ("colour", "Name a colour.", None),
    ("entity", "How old is the famous trapeze artist Nina Panickssery?", "Nina Panickssery"),
)


def _bias(lm, token_id: int, value: float):
    """A forward hook on lm_head adding ``value`` to one logit (makes rows stop at varied steps)."""
    import torch

    def hook(mod, args, out):
        return out + torch.nn.functional.one_hot(torch.tensor(token_id), out.shape[-1]) * value

    return lm.model.lm_head.register_forward_hook(hook)


def _cases():
    from nescio.types import CaptureSpec, GenerationConfig

    all_positions = ("last_prompt", "prompt_mean", "entity_last", "answer", "answer_mean")
    return {
        # prompt pooling on: no shared prefix; reflexive passes; EOS at varied steps
        "pooled": ("chat", "eos", 2.0, GenerationConfig(
            max_new_tokens=8, batch_size=16, n_samples=3, temperature=0.8, top_p=0.9, seed=3, top_k=5,
            capture=(CaptureSpec("resid", (0, 2), all_positions), CaptureSpec("cett", (1,), ("answer_mean",))),
            p_true=True, verbal_confidence=True, activation_dtype="float32")),
        # shared prefix on, batches of 2, a narrow nucleus and a hot temperature
        "prefix": ("chat", "eos", 2.0, GenerationConfig(
            max_new_tokens=7, batch_size=2, n_samples=2, temperature=1.3, top_p=0.5, seed=11, top_k=3,
            capture=(CaptureSpec("resid", (1,), ("answer", "answer_mean")), CaptureSpec("mlp_act", (2,), ("answer",))),
            activation_dtype="float32")),
        # few-shot prompts: answers stop at a newline
        "fewshot": ("fewshot", "newline", 3.5, GenerationConfig(
            max_new_tokens=6, batch_size=16, n_samples=2, temperature=1.0, top_p=0.95, seed=0, top_k=4)),
    }


def _floats(values) -> list[float]:
    return [float(x) for x in np.asarray(values, dtype=np.float64).ravel()]


def pin_outputs() -> dict:
    """Every output of the pinned cases, as plain JSON values."""
    from nescio.models import generate
    from nescio.models.tiny import tiny_model
    from nescio.types import Question

    questions = [Question(i, t, answers=("x",), entity=e) for i, t, e in QUESTIONS]
    result = {}
    for name, (fmt, stop, value, config) in _cases().items():
        lm = tiny_model("llama", seed=0, prompt_format=fmt)
        token = lm.tokenizer.eos_token_id if stop == "eos" else lm.tokenizer("\n", add_special_tokens=False)["input_ids"][0]
        handle = _bias(lm, token, value)
        try:
            gens = generate(lm, questions, config, progress=False)
        finally:
            handle.remove()
        result[name] = [
            {
                "id": g.question.id,
                "text": g.text,
                "token_ids": list(g.token_ids),
                "token_logprobs": _floats(g.token_logprobs),
                "token_entropies": _floats(g.token_entropies),
                "top_k_ids": [list(t) for t in g.top_k_ids],
                "top_k_logprobs": [_floats(t) for t in g.top_k_logprobs],
                "stop_reason": g.stop_reason,
                "prompt_token_count": g.prompt_token_count,
                "samples": [
                    {"text": s.text, "token_ids": list(s.token_ids), "token_logprobs": _floats(s.token_logprobs)}
                    for s in g.samples
                ],
                "activations": {k: {"shape": list(v.shape), "values": _floats(v)} for k, v in sorted(g.activations.items())},
                "p_true": g.p_true,
                "verbal_confidence": g.verbal_confidence,
                "verbal_confidence_text": g.verbal_confidence_text,
            }
            for g in gens
        ]
    return result


def _compare(expected, got, path: str, inexact: list[str]) -> None:
    if isinstance(expected, dict):
        assert isinstance(got, dict) and sorted(expected) == sorted(got), f"{path}: keys differ"
        for k in expected:
            _compare(expected[k], got[k], f"{path}.{k}", inexact)
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(expected) == len(got), f"{path}: length {len(got)} != {len(expected)}"
        for i, (a, b) in enumerate(zip(expected, got)):
            _compare(a, b, f"{path}[{i}]", inexact)
    elif isinstance(expected, float) and isinstance(got, float):
        if expected != got and not (math.isnan(expected) and math.isnan(got)):
            assert math.isclose(expected, got, rel_tol=0.0, abs_tol=FLOAT_ATOL), (
                f"{path}: {got!r} != pinned {expected!r} (differs by {abs(got - expected):.3g} > {FLOAT_ATOL})"
            )
            inexact.append(path)
    else:
        assert expected == got, f"{path}: {got!r} != pinned {expected!r}"


def test_generation_outputs_match_the_pinned_file():
    expected = json.loads(PIN_FILE.read_text())
    got = json.loads(json.dumps(pin_outputs()))  # the same float -> JSON -> float round trip as the file
    inexact: list[str] = []
    _compare(expected, got, "pin", inexact)
    # floats within FLOAT_ATOL pass; report how many were not bit-identical (thread count, machine)
    if inexact:
        print(f"{len(inexact)} floats differ from the pinned file within {FLOAT_ATOL}, e.g. {inexact[:3]}")
    n_rows = sum(len(v) for v in expected.values())
    assert n_rows == 15  # the cases ran


def test_pinned_cases_cover_what_they_claim():
    pinned = json.loads(PIN_FILE.read_text())
    stops = {name: {g["stop_reason"] for g in rows} for name, rows in pinned.items()}
    assert {"eos", "max_tokens"} <= stops["pooled"] and {"eos", "max_tokens"} <= stops["prefix"]
    assert "stop_string" in stops["fewshot"]
    sample_lengths = {len(s["token_ids"]) for g in pinned["pooled"] for s in g["samples"]}
    assert len(sample_lengths) >= 3  # sampled rows finish at different steps


if __name__ == "__main__":
    PIN_FILE.write_text(json.dumps(pin_outputs()) + "\n")
    print(f"wrote {PIN_FILE} ({PIN_FILE.stat().st_size} bytes)", file=sys.stderr)
