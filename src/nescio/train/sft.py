"""``nescio train sft``: LoRA fine-tuning on the targets built from the model's own outcomes.

The model sees exactly the prompt it sees at generation time (``lm.format_prompt``: the
chat template with the system prompt, or the few-shot prefix) and learns the target
answer; the loss covers only the answer tokens (trl ``SFTTrainer`` with
``completion_only_loss`` over pre-tokenised ``input_ids`` + ``completion_mask``). LoRA
(peft) wraps the attention and MLP projections. The output directory follows
:mod:`nescio.train.output`: checkpoints every ``save_steps`` (rerunning the same command
after ``kill -9`` resumes from the last complete one through the Trainer's
``resume_from_checkpoint``), the adapter, the merged model and ``train.json``. Seeded:
the same command on CPU gives the same weights.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from nescio.train.data import SFTExample, TargetType, check_trainable, count_types, read_dataset
from nescio.train.output import TrainOutput, TrainSummary, curve_from_log_history, library_versions
from nescio.types import NescioError


@dataclass(frozen=True)
class SFTSettings:
    """Every setting that changes the trained weights (saved in settings.json and train.json)."""

    epochs: float = 2.0
    learning_rate: float = 2e-4
    batch_size: int = 8
    grad_accum: int = 1
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    max_length: int = 256
    warmup_steps: int = 5
    max_steps: int = -1
    seed: int = 0
    save_steps: int = 25
    logging_steps: int = 5
    known_repeat: int = 1  # each 'known' example (a plain answer) appears this many times per epoch

    def __post_init__(self) -> None:
        bad = [name for name, ok in (
            ("epochs", self.epochs > 0), ("learning_rate", self.learning_rate > 0), ("batch_size", self.batch_size >= 1),
            ("grad_accum", self.grad_accum >= 1), ("max_length", self.max_length >= 8), ("save_steps", self.save_steps >= 1),
            ("logging_steps", self.logging_steps >= 1), ("warmup_steps", self.warmup_steps >= 0),
            ("known_repeat", self.known_repeat >= 1),
        ) if not ok]
        if bad:
            raise NescioError(f"bad SFT setting {bad[0]}={getattr(self, bad[0])!r}; epochs, learning rate, sizes and "
                              "step counts must be positive")


def completion_text(lm: Any, target: str) -> str:
    """What follows the prompt in a training sequence: the answer and its end marker.

    Chat: the chat template's assistant turn after the generation prompt (answer + end of
    turn token). Few-shot: `` answer`` + newline (generation stops at the newline).
    """
    if lm.prompt_format == "chat":
        prompt = lm.format_prompt("\x00Q\x00")
        from nescio.models.prompts import render_chat, system_prompt

        msgs = [{"role": "system", "content": system_prompt(lm.prompt)}, {"role": "user", "content": "\x00Q\x00"},
                {"role": "assistant", "content": target}]
        try:
            full = render_chat(lm.tokenizer, msgs, add_generation_prompt=False)
        except Exception:  # noqa: BLE001 - a template that cannot end on an assistant turn
            full = None
        if full is not None and full.startswith(prompt):
            return full[len(prompt):].rstrip("\n")
        eos = lm.tokenizer.eos_token or ""
        return target + eos
    return " " + target + "\n"


def tokenize_examples(lm: Any, examples: Sequence[SFTExample]) -> list[dict]:
    """``input_ids`` = prompt ids (tokenised as generation does) + completion ids; ``completion_mask``
    is 1 on the completion tokens only."""
    tok = lm.tokenizer
    add_special = lm.prompt_format != "chat"
    rows = []
    for e in examples:
        p = tok(lm.format_prompt(e.question), add_special_tokens=add_special)["input_ids"]
        c = tok(completion_text(lm, e.target), add_special_tokens=False)["input_ids"]
        rows.append({"input_ids": list(p) + list(c), "completion_mask": [0] * len(p) + [1] * len(c)})
    return rows


def with_known_repeated(examples: Sequence[SFTExample], repeat: int) -> list[SFTExample]:
    """The training sequence: each 'known' example ``repeat`` times (in place), the others once.

    A small model taught mostly "I don't know" learns to refuse everything; repeating the
    plain answers it gets right rebalances answer vs refusal without inventing targets.
    """
    return [e for e in examples for _ in range(repeat if e.target_type == TargetType.KNOWN else 1)]


def _data_hash(examples: Sequence[SFTExample]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(json.dumps(e.to_dict(), sort_keys=True).encode())
    return h.hexdigest()


def train_sft(
    model: str | Callable[[], Any],
    data: str | Path | Sequence[SFTExample],
    out: str | Path,
    *,
    settings: SFTSettings | None = None,
    overwrite: bool = False,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
    device: str | None = None,
) -> TrainSummary:
    """Fine-tune ``model`` on ``data`` with LoRA; write ``out`` (see :mod:`nescio.train.output`).

    ``model``: a spec for :func:`~nescio.models.load_model` or a callable returning a fresh
    LoadedModel (tests). ``data``: a dataset directory / ``sft.jsonl`` from
    :func:`~nescio.train.data.build_sft_data`, or examples. A finished ``out`` is refused
    unless ``overwrite``; an unfinished one with the same settings resumes.
    """
    import torch

    from nescio.models.load import load_model

    settings = settings or SFTSettings()
    t_start = time.perf_counter()
    if isinstance(data, (str, Path)):
        examples, data_meta = read_dataset(data)
        data_source = str(data)
    else:
        examples, data_meta, data_source = list(data), {}, "in-memory examples"
    check_trainable(examples, where=f"the dataset {data_source}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    factory = model if callable(model) else (lambda: load_model(str(model), device=device))
    lm = factory()
    if data_meta.get("model_id") and data_meta["model_id"] != lm.model_id:
        raise NescioError(
            f"the dataset {data_source} was built from model {data_meta['model_id']}, not {lm.model_id}: the targets "
            "come from the model's own outcomes; build the data with this model (nescio train data)"
        )
    out = TrainOutput(Path(out))
    run_settings = {"kind": "sft", "base_model_id": lm.model_id, "prompt_format": lm.prompt_format,
                    "prompt": lm.prompt, "data_sha256": _data_hash(examples), "settings": asdict(settings)}
    resume = out.prepare(run_settings, overwrite=overwrite)
    resumed_from = int(resume.name.split("-")[1]) if resume else 0

    from datasets import Dataset
    from transformers.utils import logging as hf_logging
    from trl import SFTConfig, SFTTrainer

    from nescio.train.lora import expose_backbone, lora_config, merge_adapter, save_adapter

    rows = tokenize_examples(lm, with_known_repeated(examples, settings.known_repeat))
    dataset = Dataset.from_list(rows)
    args = SFTConfig(
        output_dir=str(out.checkpoints_dir),
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=settings.warmup_steps,
        logging_steps=settings.logging_steps,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=2,
        seed=settings.seed,
        data_seed=settings.seed,
        report_to="none",
        completion_only_loss=True,
        max_length=settings.max_length,
        packing=False,
        gradient_checkpointing=False,
        bf16=False,
        fp16=False,
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
        disable_tqdm=not progress,
        dataset_num_proc=None,
        save_safetensors=True,
    )
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        trainer = SFTTrainer(
            model=expose_backbone(lm.model),
            args=args,
            train_dataset=dataset,
            processing_class=lm.tokenizer,
            peft_config=lora_config(lm, r=settings.lora_r, alpha=settings.lora_alpha, dropout=settings.lora_dropout),
            callbacks=list(callbacks),
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    t_train, cpu_train = time.perf_counter(), time.process_time()
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    train_s, cpu_s = time.perf_counter() - t_train, time.process_time() - cpu_train
    steps_done = trainer.state.global_step - resumed_from
    n_seen = steps_done * settings.batch_size * settings.grad_accum
    digest = save_adapter(trainer.model, out.adapter_dir)
    model_id = merge_adapter(factory, out.adapter_dir, out.merged_dir, method="sft")
    n_tokens = sum(len(r["input_ids"]) for r in rows)
    summary = TrainSummary(
        kind="sft",
        base_model=lm.spec,
        base_model_id=lm.model_id,
        model_id=model_id,
        adapter_sha256=digest,
        prompt_format=lm.prompt_format,
        data={"source": data_source, "n_examples": len(examples), "counts": count_types(examples),
              "n_tokens": n_tokens, "n_answer_tokens": sum(sum(r["completion_mask"]) for r in rows),
              "sha256": run_settings["data_sha256"]} | {k: data_meta[k] for k in ("train_benches", "params") if k in data_meta},
        hyperparameters=asdict(settings) | {"lora_targets": list(trainer.model.peft_config["default"].target_modules),
                                            "trainable_parameters": int(sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)),
                                            "optimizer": "adamw_torch", "completion_only_loss": True},
        curve=curve_from_log_history(trainer.state.log_history),
        timing={"train_s": round(train_s, 3), "steps": int(trainer.state.global_step), "steps_this_run": int(steps_done),
                "examples_per_s": round(n_seen / train_s, 4) if train_s > 0 else None,
                "cpu_s": round(cpu_s, 3), "examples_per_cpu_s": round(n_seen / cpu_s, 4) if cpu_s > 0 else None,
                "examples_seen": int(n_seen),
                "total_s": round(time.perf_counter() - t_start, 3)},
        resumed_from_step=resumed_from,
        device=device,
        versions=library_versions(),
    )
    out.write_summary(summary)
    return summary


def sft_pipeline(
    model: str,
    out: str | Path,
    *,
    data: str | Path | None = None,
    train_benches: Sequence[str] = ("builtin:train",),
    n_samples: int = 5,
    limit: int | None = None,
    known_min_share: float = 0.5,
    settings: SFTSettings | None = None,
    overwrite: bool = False,
    progress: bool = True,
    device: str | None = None,
) -> TrainSummary:
    """``nescio train sft``: build the dataset in ``out/data`` unless ``data`` is given, then train
    (on ``device``; default: CUDA when available).

    Both steps resume: the data's generations are stored resumably, training from its last
    checkpoint. A finished ``out`` is refused before any work unless ``overwrite``.
    """
    from nescio.train.data import build_sft_data

    if TrainOutput(Path(out)).is_finished() and not overwrite:
        raise NescioError(f"{out} holds a finished training run (train.json); pass --overwrite to replace it or choose another --out")
    if data is None:
        data = Path(out) / "data"
        build_sft_data(model, list(train_benches), data, n_samples=n_samples, limit=limit,
                       known_min_share=known_min_share, progress=progress)
    return train_sft(model, data, out, settings=settings, overwrite=overwrite, progress=progress, device=device)
