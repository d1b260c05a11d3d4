"""SFT on the tiny model: the loss goes down, resume equals an uninterrupted run, outputs load, bad input."""

from __future__ import annotations

import pytest

from nescio.train.data import SFTExample, TargetType
from nescio.train.sft import SFTSettings, completion_text, tokenize_examples, train_sft
from nescio.types import NescioError, Outcome

SMALL = dict(batch_size=4, save_steps=2, logging_steps=1, learning_rate=5e-3, warmup_steps=0, lora_r=4, lora_alpha=8)


def _examples(n=12):
    out = []
    for i in range(n):
        idk = i % 2 == 1
        out.append(SFTExample(f"q{i}", f"What is item {i}?", "fact/x", "t", True, "I don't know." if idk else f"item {i}",
                              TargetType.UNKNOWN if idk else TargetType.KNOWN, "crafted", "x", Outcome.CORRECT, 1, 5))
    return out


def _factory():
    from nescio.models.tiny import tiny_model

    return tiny_model(seed=0)


def _completion_loss(model, rows) -> float:
    import torch

    losses = []
    with torch.no_grad():
        for r in rows:
            ids = torch.tensor([r["input_ids"]])
            labels = torch.tensor([[t if m else -100 for t, m in zip(r["input_ids"], r["completion_mask"])]])
            losses.append(float(model(input_ids=ids, labels=labels).loss))
    return sum(losses) / len(losses)


def test_completion_follows_the_generation_prompt(tiny):
    rows = tokenize_examples(tiny, _examples(2))
    prompt_ids = tiny.tokenizer(tiny.format_prompt("What is item 0?"), add_special_tokens=False)["input_ids"]
    assert rows[0]["input_ids"][: len(prompt_ids)] == prompt_ids
    assert sum(rows[0]["completion_mask"]) == len(tiny.tokenizer(completion_text(tiny, "item 0"))["input_ids"])
    assert completion_text(tiny, "Paris") == "Paris<|end|>"
    from nescio.models.tiny import tiny_model

    base = tiny_model(seed=0, prompt_format="fewshot")  # a base model: generation stops at the newline
    assert completion_text(base, "Paris") == " Paris\n"
    row = tokenize_examples(base, _examples(1))[0]
    assert base.tokenizer.decode(row["input_ids"]).endswith("Question: What is item 0?\nAnswer: item 0\n")


def test_one_step_lowers_the_loss_and_outputs_load(tmp_path):
    from nescio.models import load_model

    examples = _examples()
    out = tmp_path / "run"
    summary = train_sft(_factory, examples[:4], out, settings=SFTSettings(max_steps=1, **SMALL), progress=False)
    rows = tokenize_examples(_factory(), examples[:4])  # the fixed batch of that one step
    before = _completion_loss(_factory().model, rows)
    tuned = load_model(str(out / "merged"))
    after = _completion_loss(tuned.model, rows)
    assert after < before - 0.05
    assert tuned.model_id == summary.model_id and summary.model_id.endswith(summary.adapter_sha256)
    assert summary.data["counts"] == {"known": 2, "uncertain": 0, "unknown": 2, "unanswerable": 0}
    assert summary.curve[0]["step"] == 1 and "loss" in summary.curve[0]
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    with pytest.raises(NescioError, match="finished training run.*--overwrite"):
        train_sft(_factory, examples[:4], out, settings=SFTSettings(max_steps=1, **SMALL), progress=False)


def test_resume_after_interruption_gives_the_same_weights(tmp_path):
    from safetensors.numpy import load_file
    from transformers import TrainerCallback

    class Kill(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 3:
                raise RuntimeError("killed")

    settings = SFTSettings(max_steps=4, **SMALL)
    train_sft(_factory, _examples(), tmp_path / "a", settings=settings, progress=False)
    with pytest.raises(RuntimeError, match="killed"):
        train_sft(_factory, _examples(), tmp_path / "b", settings=settings, progress=False, callbacks=[Kill()])
    assert not (tmp_path / "b" / "train.json").exists()
    resumed = train_sft(_factory, _examples(), tmp_path / "b", settings=settings, progress=False)
    assert resumed.resumed_from_step == 2 and resumed.timing["steps_this_run"] == 2
    a = load_file(str(tmp_path / "a" / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "b" / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] == b[k]).all(), k
    assert [c["loss"] for c in resumed.curve] == [c["loss"] for c in train_sft.__globals__["TrainOutput"](tmp_path / "a").read_summary().curve]


def test_bad_input(tmp_path):
    one_class = [e for e in _examples() if e.target_type is TargetType.KNOWN]
    with pytest.raises(NescioError, match="only one kind of target"):
        train_sft(_factory, one_class, tmp_path / "x", progress=False)
    with pytest.raises(NescioError, match="unknown model 'no-such-model'"):
        train_sft("no-such-model", _examples(), tmp_path / "y", progress=False)
    with pytest.raises(NescioError, match="bad SFT setting batch_size=0"):
        SFTSettings(batch_size=0)


def test_known_repeat_repeats_only_the_plain_answers():
    from nescio.train.sft import with_known_repeated

    ex = _examples(6)
    out = with_known_repeated(ex, 3)
    assert len(out) == 3 * 3 + 3
    assert sum(e.target_type is TargetType.KNOWN for e in out) == 9
    assert [e.id for e in with_known_repeated(ex, 1)] == [e.id for e in ex]
    with pytest.raises(NescioError, match="bad SFT setting known_repeat=0"):
        SFTSettings(known_repeat=0)


def test_one_step_on_a_gemma3_model_trains(tmp_path):
    """trl's fused LM head looks the backbone up through ``base_model``; Gemma3ForCausalLM's prefix
    (``language_model``) does not name it, which made training the embedded Gemma 3 fail."""
    from nescio.models.tiny import tiny_model

    def factory():
        return tiny_model("gemma3", seed=0)

    summary = train_sft(factory, _examples(4), tmp_path / "g", settings=SFTSettings(max_steps=1, **SMALL), progress=False)
    assert summary.timing["steps"] == 1 and summary.curve and summary.curve[0]["loss"] > 0
