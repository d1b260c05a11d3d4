"""Named prompts: the honest prompting baseline for chat (system prompt) and base (few-shot) formats."""

from __future__ import annotations

import pytest

from nescio.models import prompts
from nescio.types import GenerationConfig, NescioError


def test_honest_prompt_chat_and_fewshot(tiny):
    from nescio.models.tiny import tiny_model

    chat = prompts.format_question(tiny.tokenizer, "chat", "Who is X?", "honest")
    assert prompts.HONEST_SYSTEM_PROMPT in chat and chat.endswith("<|assistant|>")
    assert chat != prompts.format_question(tiny.tokenizer, "chat", "Who is X?")
    few = prompts.format_question(tiny.tokenizer, "fewshot", "Who is X?", "honest")
    assert few.count("Answer: I don't know") >= 2 and few.endswith("Question: Who is X?\nAnswer:")
    base = tiny_model(prompt_format="fewshot")
    assert base.format_prompt("Q?") == prompts.format_question(None, "fewshot", "Q?")
    honest = tiny_model(prompt_format="fewshot")
    honest.prompt = "honest"
    assert honest.format_prompt("Q?") == few.replace("Who is X?", "Q?")
    assert honest.run_info(GenerationConfig()).prompt_template != base.run_info(GenerationConfig()).prompt_template


def test_unknown_prompt_is_refused(tiny):
    from nescio.models import load_model

    with pytest.raises(NescioError, match="unknown prompt 'polite'; accepted: default, honest"):
        prompts.format_question(tiny.tokenizer, "chat", "Q?", "polite")
    with pytest.raises(NescioError, match="unknown prompt 'polite'"):
        load_model("smollm2-135m-instruct", prompt="polite")
