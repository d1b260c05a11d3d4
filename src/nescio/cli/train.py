"""`nescio train data` and `nescio train sft` (owned by the train area)."""

from __future__ import annotations

from typing import Optional

import typer

from nescio.cli.devices import DEVICE_OPTION, DTYPE_OPTION, apply_placement
from nescio.models.embedded import DEFAULT_MODEL

app = typer.Typer(no_args_is_help=True, help="Teach the model itself to say 'I don't know' (fine-tuning, RL).")


@app.command("data")
def data_cmd(
    model: str = typer.Option(DEFAULT_MODEL, help="Model whose own answers decide the targets."),
    train_bench: list[str] = typer.Option(["builtin:train"], help="Question set(s), repeatable: builtin:train, nec:PATH, ..."),
    out: str = typer.Option("runs/idk/data", help="Dataset directory (sft.jsonl + dataset.json); a rerun resumes."),
    samples: int = typer.Option(5, help="Sampled answers per question besides the greedy one (K)."),
    limit: Optional[int] = typer.Option(None, help="At most N questions (a deterministic, category-mixed subset)."),
    known_min_share: float = typer.Option(0.5, help="Share of correct samples needed for 'known' (else 'uncertain'); "
                                          "0: greedy correct alone (R-Tuning)."),
    device: str = DEVICE_OPTION,
    dtype: str = DTYPE_OPTION,
) -> None:
    """Build the SFT dataset from the model's graded greedy and sampled answers."""
    apply_placement(device, dtype)
    from nescio.train.data import build_sft_data

    _, meta = build_sft_data(model, train_bench, out, n_samples=samples, limit=limit, known_min_share=known_min_share)
    typer.echo(f"{meta['n_examples']} examples in {out}/sft.jsonl: " + ", ".join(f"{k} {v}" for k, v in meta["counts"].items())
               + f" ({meta['n_skipped_no_gold']} skipped: no gold answers)")


@app.command("sft")
def sft_cmd(
    model: str = typer.Option(DEFAULT_MODEL, help="Base model: embedded name, HF dir, GGUF path or hub id."),
    out: str = typer.Option("runs/idk", help="Output: adapter/, merged/, train.json, checkpoints/; a rerun resumes."),
    data: Optional[str] = typer.Option(None, help="A dataset from `nescio train data`; default: build one in OUT/data."),
    train_bench: list[str] = typer.Option(["builtin:train"], help="Question set(s) for the data when --data is not given."),
    samples: int = typer.Option(5, help="Sampled answers per question for the data (K)."),
    limit: Optional[int] = typer.Option(None, help="At most N training questions (deterministic subset)."),
    known_min_share: float = typer.Option(0.5, help="Share of correct samples needed for 'known' (else 'uncertain'); "
                                          "0: greedy correct alone (R-Tuning)."),
    epochs: float = typer.Option(2.0, help="Passes over the data."),
    lr: float = typer.Option(2e-4, help="Learning rate."),
    batch_size: int = typer.Option(8, help="Examples per step."),
    lora_r: int = typer.Option(16, help="LoRA rank (alpha = 2r)."),
    save_steps: int = typer.Option(25, help="Checkpoint every N steps."),
    seed: int = typer.Option(0, help="Seed (data order, initialisation)."),
    known_repeat: int = typer.Option(1, help="Show each 'known' example (a plain answer) N times per epoch, "
                                     "to balance answers against refusals."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished run in OUT."),
    device: str = DEVICE_OPTION,
    dtype: str = DTYPE_OPTION,
) -> None:
    """Fine-tune with LoRA so the model answers what it knows, hedges when unsure and says 'I don't know'."""
    from nescio.extras import require

    require("train", "`nescio train sft`")  # before the data is built (minutes of generation)
    resolved = apply_placement(device, dtype)
    from nescio.train.sft import SFTSettings, sft_pipeline

    settings = SFTSettings(epochs=epochs, learning_rate=lr, batch_size=batch_size, lora_r=lora_r, lora_alpha=2 * lora_r,
                           save_steps=save_steps, seed=seed, known_repeat=known_repeat)
    s = sft_pipeline(model, out, data=data, train_benches=train_bench, n_samples=samples, limit=limit,
                     known_min_share=known_min_share, settings=settings, overwrite=overwrite,
                     device=resolved)
    counts = ", ".join(f"{k} {v}" for k, v in s.data["counts"].items())
    typer.echo(f"trained {s.data['n_examples']} examples ({counts}) in {s.timing['train_s']:.0f} s "
               f"({s.timing['examples_per_s']} examples/s); model id {s.model_id}")
    typer.echo(f"merged model: {out}/merged  (nescio eval --model {out}/merged --compare {model})")


def register(root: typer.Typer) -> None:
    """The `train` group: `data` and `sft` (here) and `grpo` (nescio.cli.train_grpo)."""
    from nescio.cli import train_grpo

    train_grpo.register(app)
    root.add_typer(app, name="train", help="Teach the model itself to say 'I don't know' (fine-tuning, RL).")
