"""H-Neuron intervention: the hook scales exactly the chosen neurons by s, and is always removed."""

from __future__ import annotations

import pytest

from nescio.models.intervene import ScaleNeurons
from nescio.models.sites import site_module
from nescio.types import GenerationConfig, NescioError, NeuronScaling, Question


def _down_inputs(lm, ids):
    """The input of every layer's down_proj for ``ids`` (recorded by a plain forward hook)."""
    import torch

    seen = {}
    handles = [
        site_module(lm.model, lm.architecture, "mlp_act", L).register_forward_hook(
            lambda m, a, o, L=L: seen.__setitem__(L, a[0].detach().clone()))
        for L in range(lm.n_layers)
    ]
    try:
        with torch.no_grad():
            lm.model(input_ids=ids)
    finally:
        for h in handles:
            h.remove()
    return seen


@pytest.mark.parametrize("scale", [0.0, 0.5, 3.0])
def test_hook_scales_chosen_neurons_by_exactly_s(tiny, scale):
    import torch

    ids = torch.tensor([[1, 40, 41, 42, 43]])
    before = _down_inputs(tiny, ids)
    neurons = ((0, 3), (0, 17), (2, 100))
    with ScaleNeurons(tiny, NeuronScaling(neurons, scale)):
        # layer 0 sees the same input, so its scaled neurons are exactly s times the plain ones
        inside = _down_inputs(tiny, ids)
    z0, z0s = before[0], inside[0]
    assert torch.equal(z0s[..., [3, 17]], z0[..., [3, 17]] * scale)
    others = [j for j in range(z0.shape[-1]) if j not in (3, 17)]
    assert torch.equal(z0s[..., others], z0[..., others])
    if scale != 1.0:  # later layers change because layer 0's output changed
        assert not torch.equal(inside[2], before[2])
    assert torch.equal(_down_inputs(tiny, ids)[2], before[2])  # removed on exit


def test_hooks_removed_after_exception(tiny):
    modules = [site_module(tiny.model, tiny.architecture, "mlp_act", L) for L in range(tiny.n_layers)]
    with pytest.raises(RuntimeError, match="boom"):
        with ScaleNeurons(tiny, NeuronScaling(((1, 5),), 2.0)):
            assert len(modules[1]._forward_pre_hooks) == 1
            raise RuntimeError("boom")
    assert all(len(m._forward_pre_hooks) == 0 for m in modules)


def test_generation_option_changes_answers_and_leaves_no_hooks(tiny):
    from nescio.models import generate
    from nescio.models.io import config_from_dict, config_to_dict

    qs = [Question(id=f"q{i}", text=f"What is item {i}?") for i in range(4)]
    neurons = tuple((L, j) for L in range(tiny.n_layers) for j in range(0, 128, 2))
    plain = generate(tiny, qs, GenerationConfig(max_new_tokens=6), progress=False)
    cfg = GenerationConfig(max_new_tokens=6, neuron_scaling=NeuronScaling(neurons, 0.0))
    silenced = generate(tiny, qs, cfg, progress=False)
    assert [g.token_ids for g in plain] != [g.token_ids for g in silenced]
    same = generate(tiny, qs, GenerationConfig(max_new_tokens=6, neuron_scaling=NeuronScaling(neurons, 1.0)), progress=False)
    assert [g.token_ids for g in same] == [g.token_ids for g in plain]
    assert all(not m._forward_pre_hooks for m in tiny.model.modules())
    assert config_from_dict(config_to_dict(cfg)) == cfg
    assert "neuron_scaling" not in config_to_dict(GenerationConfig())  # old store keys unchanged


def test_bad_neurons_are_refused(tiny):
    with pytest.raises(NescioError, match="out of range; this model's FFN has neurons 0..127"):
        with ScaleNeurons(tiny, NeuronScaling(((0, 500),), 2.0)):
            pass
    assert all(not m._forward_pre_hooks for m in tiny.model.modules())
    with pytest.raises(NescioError, match="capture layer 9 out of range"):
        with ScaleNeurons(tiny, NeuronScaling(((9, 0),), 2.0)):
            pass
    with pytest.raises(NescioError, match="at least one"):
        NeuronScaling((), 2.0)
    with pytest.raises(NescioError, match="finite"):
        NeuronScaling(((0, 1),), float("nan"))
