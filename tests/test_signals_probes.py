"""Fitted probes on synthetic activations, save/load exactness, and CETT on the tiny model."""

import numpy as np
import pytest

from nescio.signals import (
    HNeuronProbe,
    KnownEntityDirection,
    ResidualProbe,
    SemanticEntropyProbe,
    capture_needs,
    compute_signals,
    guess_entity,
    load_probe,
    save_probe,
)
from nescio.evaluate.metrics import auroc
from nescio.signals.neurons import cett
from nescio.types import NescioError, Question
from signals_support import N_LAYERS, synthetic_generations

D_FFN = 32


@pytest.fixture(scope="module")
def data():
    return synthetic_generations(d_ffn=D_FFN)


@pytest.mark.parametrize("position", ["last_prompt", "answer_first", "answer_mean"])
def test_residual_probe_finds_the_informative_layer(data, position):
    gens, y = data
    probe = ResidualProbe(position=position, C_grid=(0.1, 1.0)).fit(gens[:80], y[:80])
    assert probe.layer_ == 2
    assert probe.cv_auroc_by_layer_[2] > max(v for L, v in probe.cv_auroc_by_layer_.items() if L != 2)
    assert auroc(probe.predict_risk(gens[80:]), y[80:]) > 0.8
    assert probe.capture_specs()[0].layers == (2,)


def test_probe_save_load_gives_bit_identical_scores(tmp_path, data):
    gens, y = data
    probe = ResidualProbe(position="last_prompt", C_grid=(0.1,)).fit(gens[:80], y[:80])
    save_probe(probe, tmp_path / "p")
    back = load_probe(tmp_path / "p")
    assert isinstance(back, ResidualProbe) and back.get_params() == probe.get_params()
    np.testing.assert_array_equal(back.predict_risk(gens[80:]), probe.predict_risk(gens[80:]))
    assert back.training_summary_["n"] == 80 and back.training_summary_["categories"] == {"fact/science": 80}
    table = compute_signals(gens[80:], ["probe_last_prompt"], probes={"probe_last_prompt": back})
    np.testing.assert_array_equal(table.values["probe_last_prompt"], probe.predict_risk(gens[80:]))


def test_probe_array_features_and_errors(data):
    gens, y = data
    X = np.random.default_rng(0).normal(size=(40, 2, 5))
    X[:, 1, 0] += 3 * (y[:40] - 0.5)
    probe = ResidualProbe(layers=[10, 11], C_grid=(1.0,)).fit(X, y[:40])
    assert probe.layer_ == 11 and probe.predict_risk(X).shape == (40,)
    with pytest.raises(NescioError, match="not fitted"):
        ResidualProbe().predict_risk(X)
    with pytest.raises(NescioError, match="each class"):
        ResidualProbe().fit(X, np.zeros(40))
    with pytest.raises(NescioError, match="not captured|no 'resid'"):
        ResidualProbe(position="prompt_mean").fit(gens, y)


def test_semantic_entropy_probe_learns_the_high_low_split(tmp_path, data):
    gens, y = data
    se = np.where(y > 0, 1.2, 0.1) + np.random.default_rng(3).normal(scale=0.05, size=y.size)
    probe = SemanticEntropyProbe(C_grid=(0.1,)).fit(gens[:80], se[:80])
    assert 0.2 < probe.threshold_ < 1.1 and probe.layer_ == 2
    assert auroc(probe.predict_risk(gens[80:]), y[80:]) > 0.8
    save_probe(probe, tmp_path / "se")
    back = load_probe(tmp_path / "se")
    assert back.threshold_ == probe.threshold_
    np.testing.assert_array_equal(back.predict_risk(gens), probe.predict_risk(gens))


def test_h_neuron_probe_finds_the_planted_neurons(tmp_path, data):
    gens, y = data
    probe = HNeuronProbe(C_grid=(0.01, 0.03, 0.1)).fit(gens[:100], y[:100])
    assert probe.n_neurons_total_ == N_LAYERS * D_FFN
    assert {(1, 3), (3, 7)} <= set(probe.h_neurons_)
    assert probe.h_neuron_share_ < 0.2
    assert auroc(probe.predict_risk(gens[100:]), y[100:]) > 0.8
    save_probe(probe, tmp_path / "h")
    back = load_probe(tmp_path / "h")
    assert back.h_neurons_ == probe.h_neurons_
    np.testing.assert_array_equal(back.predict_risk(gens), probe.predict_risk(gens))


def test_known_entity_direction(tmp_path, data):
    gens, y = data
    probe = KnownEntityDirection().fit(gens[:80], y[:80])
    assert probe.layer_ == 2 and np.linalg.norm(probe.direction_) == pytest.approx(1.0)
    assert auroc(probe.predict_risk(gens[80:]), y[80:]) > 0.8
    save_probe(probe, tmp_path / "e")
    np.testing.assert_array_equal(load_probe(tmp_path / "e").predict_risk(gens), probe.predict_risk(gens))
    assert capture_needs(["entity_direction"], probes={"entity_direction": probe})["capture"][0].layers == (2,)


def test_guess_entity_heuristic():
    assert guess_entity("What is the capital of Burkina Faso?") == "Burkina Faso"
    assert guess_entity('Who wrote "The Old Man and the Sea"?') == "The Old Man and the Sea"
    assert guess_entity("how tall is it?") is None


def test_load_probe_rejects_non_probe(tmp_path):
    with pytest.raises(NescioError, match="not a saved probe"):
        load_probe(tmp_path)


def test_cett_reference_formula():
    z = np.array([[1.0, -2.0]])
    w = np.array([[3.0, 0.0], [4.0, 1.0]])  # column norms 5, 1
    h = z @ w.T  # [1, 2] -> norm
    expected = np.abs(z) * np.array([5.0, 1.0]) / np.linalg.norm(h)
    np.testing.assert_allclose(cett(z, w, h), expected)


def test_cett_capture_matches_a_direct_computation_on_the_tiny_model():
    torch = pytest.importorskip("torch")
    from nescio.models import generate, tiny_model
    from nescio.types import CaptureSpec, GenerationConfig

    lm = tiny_model()
    q = Question("q", "What is the capital of France?", ("Paris",), entity="France")
    cfg = GenerationConfig(max_new_tokens=4, capture=(CaptureSpec("cett", "all", ("answer", "answer_mean")),))
    g = generate(lm, [q], cfg, progress=False)[0]
    ids = lm.tokenizer(g.prompt, add_special_tokens=lm.prompt_format != "chat")["input_ids"]
    assert len(ids) == g.prompt_token_count
    n_rows = g.activations["cett/0/answer"].shape[0]
    full = torch.tensor([list(ids) + list(g.token_ids[:n_rows])])
    io = {}
    hooks = [layer.mlp.down_proj.register_forward_hook(
        lambda m, a, o, L=L: io.__setitem__(L, (a[0][0].detach().numpy(), o[0].detach().numpy())))
        for L, layer in enumerate(lm.model.model.layers)]
    try:
        with torch.no_grad():
            lm.model(full)
    finally:
        for h in hooks:
            h.remove()
    P = len(ids)
    for L, layer in enumerate(lm.model.model.layers):
        z, h = io[L]
        direct = cett(z[P:P + n_rows], layer.mlp.down_proj.weight.detach().numpy(), h[P:P + n_rows])
        captured = g.activations[f"cett/{L}/answer"].astype(np.float64)
        np.testing.assert_allclose(captured, direct, rtol=2e-2, atol=2e-3)
        np.testing.assert_allclose(g.activations[f"cett/{L}/answer_mean"], direct.mean(0), rtol=2e-2, atol=2e-3)


def test_capture_needs_drive_generation_and_probes_read_what_was_captured():
    pytest.importorskip("torch")
    from nescio.models import generate, tiny_model
    from nescio.types import GenerationConfig

    names = ["sequence_nll", "probe_last_prompt", "probe_answer_first", "entity_direction", "h_neurons"]
    cfg = GenerationConfig(max_new_tokens=3, **capture_needs(names))
    qs = [Question(f"q{i}", f"Where is City{i} located?", ("x",), entity=f"City{i}") for i in range(8)]
    gens = generate(tiny_model(), qs, cfg, progress=False)
    y = np.arange(8) % 2
    probes = {
        "probe_last_prompt": ResidualProbe("last_prompt", C_grid=(1.0,), cv=2).fit(gens, y),
        "probe_answer_first": ResidualProbe("answer_first", C_grid=(1.0,), cv=2).fit(gens, y),
        "entity_direction": KnownEntityDirection(cv=2).fit(gens, y),
        "h_neurons": HNeuronProbe(C_grid=(1.0,), holdout=0.5).fit(gens, y),
    }
    table = compute_signals(gens, names, probes=probes)
    assert table.matrix(names).shape == (8, 5)
    assert not np.isnan(table.matrix(names)).any()
    assert all(table.costs[n] == 0.0 for n in names)
    assert probes["h_neurons"].n_neurons_total_ == 3 * 128
