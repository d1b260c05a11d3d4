"""`nescio train`, `--prompt` and `--h-neurons`: options reach the code; bad input fails in one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nescio.cli import app
from nescio.types import NescioError


def _fails(args, match):
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, NescioError), result.output
    assert match in str(result.exception)
    assert "\n" not in str(result.exception)


def test_train_sft_refuses_a_finished_output_without_overwrite(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "train.json").write_text(json.dumps({"artifact": "nescio.train", "schema_version": 1}))
    _fails(["train", "sft", "--out", str(out)], "finished training run (train.json); pass --overwrite")


def test_train_sft_unknown_model_and_bad_data(tmp_path):
    _fails(["train", "sft", "--model", "no-such-model", "--out", str(tmp_path / "a"), "--data", str(tmp_path)],
           "no SFT dataset at")
    _fails(["train", "data", "--model", "no-such-model", "--out", str(tmp_path / "b")], "unknown model 'no-such-model'")
    _fails(["train", "data", "--samples", "0", "--out", str(tmp_path / "c")], "--samples must be at least 1")


def test_prompt_and_neuron_options_are_checked():
    _fails(["generate", "--prompt", "polite", "--limit", "1"], "unknown prompt 'polite'; accepted: default, honest")
    _fails(["generate", "--neuron-scale", "2"], "--neuron-scale needs --h-neurons")
    _fails(["ask", "Who?", "--prompt", "polite"], "unknown prompt 'polite'")


def test_h_neuron_scaling_from_a_saved_probe(tmp_path):
    import numpy as np

    from nescio.signals.registry import h_neuron_scaling
    from nescio.signals.features import save_probe
    from nescio.signals.neurons import HNeuronProbe

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2 * 2 * 8))
    y = (X[:, 3] > 0).astype(float)  # layer 0, neuron 3 of the answer-token features
    probe = HNeuronProbe(layers=(0, 1), C_grid=(1.0,)).fit(X, y)
    save_probe(probe, tmp_path / "p")
    scaling = h_neuron_scaling(str(tmp_path / "p"), 2.0)
    assert (0, 3) in scaling.neurons and scaling.scale == 2.0
    with pytest.raises(NescioError, match="not a saved probe|probe.json missing"):
        h_neuron_scaling(str(tmp_path), 2.0)
