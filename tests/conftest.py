"""Shared fixtures: a tiny in-memory model for mechanics, the real SmolLM2 for slow checks."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny():
    """A tiny randomly initialised LlamaForCausalLM with a byte-level tokenizer (offline)."""
    from nescio.models.tiny import tiny_model

    return tiny_model("llama", seed=0)


@pytest.fixture(scope="session")
def smollm2():
    """The embedded SmolLM2-135M-Instruct, loaded once per session (first load fills the cache)."""
    from nescio.models import load_model

    return load_model("smollm2-135m-instruct")
