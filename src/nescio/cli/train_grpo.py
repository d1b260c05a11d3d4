"""`nescio train grpo` (owned by the train area; registered on the `train` group)."""

from __future__ import annotations

from typing import Optional

import typer

from nescio.cli.devices import DEVICE_OPTION, DTYPE_OPTION, apply_placement
from nescio.models.embedded import DEFAULT_MODEL


def grpo_cmd(
    model: str = typer.Option(DEFAULT_MODEL, help="Start model: embedded name, HF dir, GGUF, hub id, "
                                                             "or an SFT output directory (its merged model)."),
    out: str = typer.Option("runs/grpo", help="Output: adapter/, merged/, train.json, checkpoints/; a rerun resumes."),
    reward: str = typer.Option("shaped", help="binary | shaped | confidence_target; parameters as NAME:k=v,... "
                                              "or confidence_target(0.75)."),
    reward_param: list[str] = typer.Option([], "--reward-param", help="k=v, repeatable (e.g. lam=0.5, r_abstain=0.1, t=0.75)."),
    train_bench: list[str] = typer.Option(["builtin:train", "hard:train"], help="Training question sets, repeatable."),
    limit: Optional[int] = typer.Option(None, help="At most N training questions (a seeded sample)."),
    k: int = typer.Option(4, "--k", help="Completions per question (GRPO group size, >= 2)."),
    prompts_per_step: int = typer.Option(2, help="Questions per optimizer step."),
    steps: int = typer.Option(50, help="Optimizer steps (budget = steps x prompts-per-step x K completions)."),
    lr: float = typer.Option(5e-4, help="Learning rate (constant)."),
    lora_r: int = typer.Option(16, help="LoRA rank (alpha = 2r)."),
    lora_layers: int = typer.Option(0, help="LoRA on the top N decoder layers only (0 = all; fewer = cheaper backward)."),
    max_tokens: int = typer.Option(128, help="Completion token limit (the length penalty's denominator)."),
    prompt: str = typer.Option("stepwise", help="Named prompt: stepwise (worked answers), default, honest."),
    save_steps: int = typer.Option(5, help="Checkpoint every N steps."),
    seed: int = typer.Option(0, help="Seed (question order, sampling, initialisation)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished run in OUT."),
    device: str = DEVICE_OPTION,
    dtype: str = DTYPE_OPTION,
) -> None:
    """Reinforcement learning with a verifiable reward that can credit 'I don't know' (TRL GRPO + LoRA)."""
    import random

    from nescio.extras import require

    require("train", "`nescio train grpo`")
    resolved = apply_placement(device, dtype)
    from nescio.data import load_questions
    from nescio.train.grpo import GRPOSettings, train_grpo
    from nescio.types import NescioError

    params = {}
    for item in reward_param:
        key, eq, value = item.partition("=")
        if not eq:
            raise NescioError(f"--reward-param {item!r}: expected k=v")
        params[key.strip()] = value.strip()
    settings = GRPOSettings(reward=reward, reward_params=params, k=k, prompts_per_step=prompts_per_step, steps=steps,
                            learning_rate=lr, lora_r=lora_r, lora_alpha=2 * lora_r, lora_layers=lora_layers,
                            max_tokens=max_tokens, save_steps=save_steps, seed=seed, prompt=prompt)
    settings.build_reward()  # a bad reward fails before any loading
    questions = [q for spec in train_bench for q in load_questions(spec)]
    if limit is not None:
        if limit < 1:
            raise NescioError(f"--limit must be at least 1, got {limit}")
        random.Random(seed).shuffle(questions)
        questions = questions[:limit]
    s = train_grpo(model, questions, out, settings, overwrite=overwrite, device=resolved,
                   data_info={"train_bench": list(train_bench), "limit": limit})
    last = s.curve[-1] if s.curve else {}
    typer.echo(f"{s.hyperparameters['reward']}: {steps} steps x {prompts_per_step} x K={k} in {s.timing['train_s']:.0f} s; "
               f"last step reward {last.get('reward', float('nan')):.2f}, abstained {last.get('nescio/abstained', 0):.2f}, "
               f"length {last.get('completions/mean_length', 0):.0f}; model id {s.model_id}")
    typer.echo(f"merged model: {out}/merged  (nescio eval --model {out}/merged --compare {model})")


def register(train_app: typer.Typer) -> None:
    train_app.command("grpo")(grpo_cmd)


# The `train` group. The SFT commands (`train data`, `train sft`) join the same group; where
# they own it, that module calls register(app) to add `grpo`.
app = typer.Typer(no_args_is_help=True, help="Teach the model itself to say 'I don't know' (fine-tuning, RL).")
register(app)
