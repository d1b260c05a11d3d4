"""`nescio train grpo` mechanics on the tiny in-memory model: a step changes the adapter, resume, bad input."""

from __future__ import annotations

import json

import pytest

from nescio.train.grpo import GRPOSettings, train_grpo
from nescio.types import NescioError, Question

QUESTIONS = [
    Question(id="f1", text="What is the capital of France?", answers=("Paris",), category="fact/geography"),
    Question(id="f2", text="How many legs does a spider have?", answers=("8", "eight"), category="fact/numbers"),
    Question(id="u1", text="Who will win the 2090 World Cup?", answerable=False, category="future"),
    Question(id="u2", text="How old is the trapeze artist Nina Quorvex?", answerable=False, category="fabricated"),
    Question(id="h1", text="What is 347 times 28?", answers=("9716",), category="hard/arithmetic"),
]
EOS_BIAS = 8.0  # the first token is EOS with p ≈ 0.3: some completions are empty (= abstain), others not


def eosy_tiny():
    """The tiny model with a bias on the EOS logit, so a group of completions mixes abstentions and answers.

    A random model otherwise never abstains, every completion scores the same, GRPO's
    advantages are all zero and no reward could change the adapter.
    """
    import torch

    from nescio.models.tiny import tiny_model

    lm = tiny_model("llama", seed=0)
    head = lm.model.lm_head
    biased = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.copy_(head.weight)
        biased.bias.zero_()
        biased.bias[lm.tokenizer.eos_token_id] = EOS_BIAS
    lm.model.lm_head = biased
    lm.model.config.tie_word_embeddings = False
    return lm


def _settings(reward: str, **kw) -> GRPOSettings:
    return GRPOSettings(reward=reward, k=4, prompts_per_step=5, steps=1, max_tokens=8, learning_rate=5e-2,
                        save_steps=1, **kw)


def _adapter(path):
    from safetensors.torch import load_file

    return load_file(str(path / "adapter" / "adapter_model.safetensors"))


@pytest.mark.parametrize("reward", ["binary", "shaped", "confidence_target(0.75)"])
def test_one_step_changes_the_adapter(tmp_path, reward):
    summary = train_grpo(eosy_tiny, QUESTIONS, tmp_path / "run", _settings(reward), progress=False)
    weights = _adapter(tmp_path / "run")
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and any(float(v.abs().max()) > 0 for v in lora_b)  # B starts at zero: it moved
    step = summary.curve[0]
    assert step["reward_std"] > 0 and 0 < step["nescio/abstained"] < 1
    assert summary.kind == "grpo" and "+lora-sha256:" in summary.model_id
    train = json.loads((tmp_path / "run" / "train.json").read_text())
    assert train["hyperparameters"]["reward_definition"]["name"] == reward.split("(")[0]
    assert (tmp_path / "run" / "merged" / "config.json").is_file()


class _Crash(Exception):
    pass


def _crash_after_first_save():
    from transformers import TrainerCallback

    class Crash(TrainerCallback):
        def on_save(self, args, state, control, **kw):
            if state.global_step == 1:
                raise _Crash  # as a kill -9 right after checkpoint-1 was written

    return Crash()


def test_resume_gives_the_same_weights(tmp_path):
    settings = _settings("shaped", seed=3).__class__(**{**_settings("shaped", seed=3).__dict__, "steps": 2})
    train_grpo(eosy_tiny, QUESTIONS, tmp_path / "straight", settings, progress=False)
    with pytest.raises(_Crash):
        train_grpo(eosy_tiny, QUESTIONS, tmp_path / "resumed", settings, progress=False,
                   callbacks=[_crash_after_first_save()])
    assert not (tmp_path / "resumed" / "train.json").exists()
    summary = train_grpo(eosy_tiny, QUESTIONS, tmp_path / "resumed", settings, progress=False)
    assert summary.resumed_from_step == 1
    a, b = _adapter(tmp_path / "straight"), _adapter(tmp_path / "resumed")
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] == b[k]).all(), k
    with pytest.raises(NescioError, match="finished training run"):
        train_grpo(eosy_tiny, QUESTIONS, tmp_path / "resumed", settings, progress=False)


@pytest.mark.parametrize("kw,match", [
    ({"k": 1}, "at least 2 completions per question"),
    ({"steps": 0}, "steps must be at least 1"),
    ({"lora_layers": -1}, "lora_layers must be >= 0"),
    ({"learning_rate": 0.0}, "learning_rate and temperature must be > 0"),
    ({"prompt": "chatty"}, "unknown prompt .chatty.; accepted: default"),
])
def test_bad_settings(kw, match):
    with pytest.raises(NescioError, match=match):
        GRPOSettings(**kw)


@pytest.mark.parametrize("reward,match", [("nope", "unknown reward"), ("confidence_target(1.2)", "t must be in"),
                                          ("shaped:lam=-0.5", "must be >= 0")])
def test_bad_reward_fails_before_training(tmp_path, reward, match):
    with pytest.raises(NescioError, match=match):
        train_grpo(eosy_tiny, QUESTIONS, tmp_path / "run", GRPOSettings(reward=reward), progress=False)
    assert not (tmp_path / "run").exists()


def test_trl_renders_the_same_prompt_nescio_evaluates_with(tiny):
    from nescio.train.grpo import _chat_messages

    tiny.prompt = "stepwise"
    try:
        text = "What is 347 times 28?"
        rendered = tiny.tokenizer.apply_chat_template(_chat_messages(tiny, text), tokenize=False,
                                                      add_generation_prompt=True)
        assert rendered == tiny.format_prompt(text)
        assert "step by step" in rendered
    finally:
        tiny.prompt = "default"


def test_schedule_is_a_seeded_sequence_of_permutations():
    from nescio.train.grpo import schedule

    order = schedule(QUESTIONS, 12, seed=1)
    assert len(order) == 12 and order == schedule(QUESTIONS, 12, seed=1)
    assert sorted(q.id for q in order[:5]) == sorted(q.id for q in QUESTIONS)  # each pass covers the set once
    assert order != schedule(QUESTIONS, 12, seed=2)
