"""The memoriser's facts, models and determinism (tiny configs, a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from nescio.theory.memoriser import MemoriserConfig, _wrong_values, build_model, count_parameters, make_facts, train_and_measure
from nescio.types import NescioError


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_facts_have_no_pattern_and_held_out_values_are_never_trained_on():
    config = MemoriserConfig(num_facts=200, value_digits=2, num_new_keys=100)
    facts = make_facts(config)
    keys = {k.tobytes() for k in facts.keys}
    assert len(keys) == 200
    assert not keys & {k.tobytes() for k in facts.new_keys}  # new keys are not facts
    assert config.facts_bits == pytest.approx(200 * np.log2(100))
    rng = np.random.default_rng(0)
    idx = np.repeat(np.arange(200), 50)
    train = _wrong_values(facts, idx, rng, reserved=False)
    held = _wrong_values(facts, idx, rng, reserved=True)
    assert not np.any(train == facts.values[idx]) and not np.any(held == facts.values[idx])
    for i in range(200):
        assert not set(train[idx == i]) & set(held[idx == i])


def test_parameter_count_grows_with_width():
    small = count_parameters(build_model(MemoriserConfig(d_model=3, n_heads=1)))
    large = count_parameters(build_model(MemoriserConfig(d_model=24, n_heads=2)))
    assert 200 < small < 1000 < 10_000 < large


@pytest.mark.parametrize("form", ["scorer", "generator"])
def test_training_is_deterministic(form):
    config = MemoriserConfig(form=form, num_facts=32, value_digits=2, d_model=8, steps=20, batch_size=16,
                             num_new_keys=16, num_samples=2)
    a, b = train_and_measure(config), train_and_measure(config)
    np.testing.assert_array_equal(a["fact_scores"], b["fact_scores"])
    np.testing.assert_array_equal(a["nonfact_scores"], b["nonfact_scores"])
    assert a["loss_curve"] == b["loss_curve"]
    if form == "generator":
        np.testing.assert_array_equal(a["new_key_consistent"], b["new_key_consistent"])
    other = train_and_measure(MemoriserConfig(**{**config.to_dict(), "seed": 1}))
    assert not np.array_equal(a["fact_scores"], other["fact_scores"])


def test_bad_configs_are_user_errors():
    with pytest.raises(NescioError):
        build_model(MemoriserConfig(form="oracle"))
    with pytest.raises(NescioError):
        build_model(MemoriserConfig(d_model=5, n_heads=2))
    with pytest.raises(NescioError):
        make_facts(MemoriserConfig(key_length=2, num_facts=500))
