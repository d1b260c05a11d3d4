"""The shared training output layout: overwrite protection, checkpoint discovery, adapter
save/reload, merging, and the tuned model's identity (tiny in-memory model)."""

from __future__ import annotations

import json

import pytest

from nescio.train.output import TrainOutput, TrainSummary, curve_from_log_history
from nescio.types import NescioError


def _summary(**kw):
    base = dict(kind="sft", base_model="tiny", base_model_id="tiny:x", model_id="tiny:x+lora-sha256:ab",
                adapter_sha256="ab", prompt_format="chat", data={"n_examples": 3}, hyperparameters={"lr": 1e-3})
    return TrainSummary(**(base | kw))


def test_prepare_refuses_finished_run_without_overwrite(tmp_path):
    out = TrainOutput(tmp_path / "run")
    assert out.prepare({"lr": 1.0}) is None
    out.write_summary(_summary())
    with pytest.raises(NescioError, match="finished training run.*--overwrite"):
        out.prepare({"lr": 1.0})
    out.adapter_dir.mkdir()
    out.prepare({"lr": 1.0}, overwrite=True)
    assert not out.is_finished() and not out.adapter_dir.exists()


def test_prepare_refuses_other_settings_and_foreign_directories(tmp_path):
    out = TrainOutput(tmp_path / "run")
    out.prepare({"lr": 1.0, "epochs": 2})
    with pytest.raises(NescioError, match="other settings \\(lr\\)"):
        out.prepare({"lr": 2.0, "epochs": 2})
    out.prepare({"lr": 1.0, "epochs": 2})  # same settings: resumes
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(NescioError, match="not a nescio training output"):
        TrainOutput(foreign).prepare({}, overwrite=True)
    assert (foreign / "notes.txt").is_file()


def test_last_checkpoint_skips_half_written(tmp_path):
    out = TrainOutput(tmp_path / "run")
    out.prepare({})
    for step, state in ((2, "{}"), (4, "{}"), (6, '{"trunc')):
        d = out.checkpoints_dir / f"checkpoint-{step}"
        d.mkdir(parents=True)
        (d / "trainer_state.json").write_text(state)
    (out.checkpoints_dir / "checkpoint-8").mkdir()  # killed before trainer_state.json
    assert out.last_checkpoint().name == "checkpoint-4"


def test_summary_roundtrip_and_schema_check(tmp_path):
    out = TrainOutput(tmp_path / "run")
    out.prepare({})
    s = _summary(curve=({"step": 1, "epoch": 0.5, "loss": 2.0},))
    out.write_summary(s)
    assert out.read_summary() == s
    data = json.loads(out.train_json.read_text())
    assert data["schema_version"] == 1 and data["artifact"] == "nescio.train"
    data["schema_version"] = 99
    out.train_json.write_text(json.dumps(data))
    with pytest.raises(NescioError, match="schema version 99"):
        out.read_summary()


def test_curve_from_log_history():
    log = [{"loss": 2.0, "step": 1, "epoch": 0.1}, {"eval_loss": 1.0, "step": 1},
           {"loss": 1.5, "grad_norm": 0.3, "step": 2, "epoch": 0.2}, {"train_runtime": 3.0, "train_loss": 1.7, "step": 2}]
    assert curve_from_log_history(log) == (
        {"step": 1, "epoch": 0.1, "loss": 2.0}, {"step": 2, "epoch": 0.2, "loss": 1.5, "grad_norm": 0.3})


@pytest.fixture
def peft_tiny():
    import torch
    from peft import get_peft_model

    from nescio.models.tiny import tiny_model
    from nescio.train.lora import lora_config

    lm = tiny_model(seed=0)
    model = get_peft_model(lm.model, lora_config(lm, r=4, alpha=8))
    with torch.no_grad():  # LoRA B starts at zero; give the adapter an effect
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05, generator=torch.Generator().manual_seed(hash(name) % 1000))
    return lm, model


def test_adapter_reload_and_merged_dir_load_model(peft_tiny, tmp_path):
    import torch
    from peft import PeftModel

    from nescio.models import load_model
    from nescio.models.tiny import tiny_model
    from nescio.train.lora import adapter_sha256, merge_adapter, save_adapter

    lm, model = peft_tiny
    ids = torch.tensor([[1, 50, 60, 70, 80, 90]])
    with torch.no_grad():
        want = model(input_ids=ids).logits
    digest = save_adapter(model, tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").is_file() and digest == adapter_sha256(tmp_path / "adapter")
    fresh = PeftModel.from_pretrained(tiny_model(seed=0).model, str(tmp_path / "adapter")).eval()
    with torch.no_grad():
        assert torch.equal(fresh(input_ids=ids).logits, want)

    model_id = merge_adapter(lambda: tiny_model(seed=0, prompt_format="fewshot"), tmp_path / "adapter",
                             tmp_path / "merged")
    tuned = load_model(str(tmp_path / "merged"))
    assert tuned.model_id == model_id == f"tiny:llama:seed=0:layers=3+lora-sha256:{digest}"
    assert tuned.model_id != lm.model_id and tuned.prompt_format == "fewshot"
    with torch.no_grad():
        torch.testing.assert_close(tuned.model(input_ids=ids).logits, want, rtol=1e-4, atol=1e-4)


def test_guard_fitted_on_base_is_refused_for_tuned_model(peft_tiny, tmp_path):
    import numpy as np

    from nescio.models import generate, load_model
    from nescio.models.tiny import tiny_model
    from nescio.policy.guard import Guard
    from nescio.train.lora import merge_adapter, save_adapter
    from nescio.types import Question

    lm, model = peft_tiny
    save_adapter(model, tmp_path / "adapter")
    merge_adapter(lambda: tiny_model(seed=0), tmp_path / "adapter", tmp_path / "merged")
    base = tiny_model(seed=0)
    qs = [Question(id=f"q{i}", text=f"What is item {i}?", answers=("x",)) for i in range(40)]
    guard = Guard(alpha=0.4, delta=0.3, signals=("sequence_nll", "mean_token_nll"), use_precheck=False, hedge_alpha=None)
    gens = generate(base, qs, guard.generation_config(), progress=False)
    outcomes = np.array(["correct", "hallucinated"] * 20, dtype=object)
    guard.fit(gens[:20], outcomes[:20], gens[20:], outcomes[20:], model_id=base.model_id, model_spec=base.spec)
    guard.save(tmp_path / "guard")
    Guard.load(tmp_path / "guard", model_id=base.model_id)
    with pytest.raises(NescioError, match="fit a guard for this model"):
        Guard.load(tmp_path / "guard", model_id=load_model(str(tmp_path / "merged")).model_id)


def test_training_summary_for_eval_report(tmp_path):
    from nescio.train.report import training_for, training_html

    out = TrainOutput(tmp_path / "run")
    out.prepare({})
    out.merged_dir.mkdir()
    out.write_summary(_summary(curve=({"step": 1, "epoch": 0.5, "loss": 2.0}, {"step": 2, "epoch": 1.0, "loss": 1.0}),
                               timing={"train_s": 10.0, "examples_per_s": 1.6}))
    t = training_for(str(out.merged_dir))
    assert t["model_id"] == "tiny:x+lora-sha256:ab" and [c["loss"] for c in t["loss_curve"]] == [2.0, 1.0]
    page = training_html(t)
    assert "10.0 s (1.6 examples/s" in page and "data:image/png;base64" in page
    assert training_for(str(tmp_path)) is None and training_for("smollm2-135m-instruct") is None
