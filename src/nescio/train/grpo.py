"""``nescio train grpo``: reinforcement learning with verifiable rewards (TRL's GRPOTrainer + a LoRA adapter).

For each training question the policy samples K completions; each is graded by nescio's
grader and scored by a registered reward (:mod:`nescio.train.rewards`); GRPO pushes up
the completions that score above their group's mean. The reward is the whole
experiment: ``binary`` scores an honest "I don't know" like a wrong answer, ``shaped``
and ``confidence_target`` make it worth more (and ``shaped`` charges wrong answers for
their length).

The output directory has the layout of every nescio trainer (:mod:`nescio.train.output`):
``checkpoints/`` (resume after ``kill -9`` by rerunning the same command), ``adapter/``,
``merged/`` (usable by every ``--model``) and ``train.json`` with the reward curve, the
abstention rate and the completion length per step.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from nescio.train.rewards import Reward
from nescio.types import NescioError, Outcome, Question

GRPO_CURVE_KEYS = ("loss", "reward", "reward_std", "grad_norm", "learning_rate", "completions/mean_length",
                   "completions/clipped_ratio", "nescio/correct", "nescio/abstained", "nescio/hallucinated",
                   "nescio/wrong_length", "entropy")


@dataclass(frozen=True)
class GRPOSettings:
    """Everything that changes the trained weights (saved in ``settings.json`` and ``train.json``).

    ``k``: completions per question (GRPO's group size, ≥ 2); ``prompts_per_step``:
    questions per optimizer step, so one step samples ``k × prompts_per_step``
    completions and the budget of a run is ``steps × k × prompts_per_step``.
    """

    reward: str = "shaped"
    reward_params: dict = field(default_factory=dict)
    k: int = 4
    prompts_per_step: int = 2
    steps: int = 50
    learning_rate: float = 5e-4
    lora_r: int = 16
    lora_alpha: int = 32
    lora_layers: int = 0  # 0: every decoder layer; N: only the top N (backward stops below them: cheaper)
    max_tokens: int = 128
    temperature: float = 1.0
    beta: float = 0.0
    seed: int = 0
    save_steps: int = 5
    prompt: str = "stepwise"

    def __post_init__(self) -> None:
        from nescio.models.prompts import system_prompt

        system_prompt(self.prompt)  # a known prompt name
        if self.k < 2:
            raise NescioError(f"GRPO needs at least 2 completions per question (K), got {self.k}")
        checks = {"prompts_per_step": self.prompts_per_step, "steps": self.steps, "max_tokens": self.max_tokens,
                  "save_steps": self.save_steps}
        if self.lora_layers < 0:
            raise NescioError(f"lora_layers must be >= 0 (0 = all layers), got {self.lora_layers}")
        for name, value in checks.items():
            if value < 1:
                raise NescioError(f"{name} must be at least 1, got {value}")
        if not self.learning_rate > 0 or not self.temperature > 0 or self.beta < 0:
            raise NescioError("learning_rate and temperature must be > 0 and beta >= 0; got "
                              f"{self.learning_rate}, {self.temperature}, {self.beta}")

    def build_reward(self) -> Reward:
        from nescio.train.rewards import parse_reward

        return parse_reward(self.reward, {k: str(v) for k, v in self.reward_params.items()})


def resolve_start_model(spec: str) -> str:
    """``spec`` as ``load_model`` takes it; an SFT/GRPO output directory means its ``merged/`` model."""
    from nescio.train.output import TrainOutput

    p = Path(spec).expanduser()
    if p.is_dir() and not (p / "config.json").is_file() and (p / "train.json").is_file():
        out = TrainOutput(p)
        if not (out.merged_dir / "config.json").is_file():
            raise NescioError(f"{p} is a training output without a merged model ({out.merged_dir}); rerun that training")
        return str(out.merged_dir)
    return spec


def _chat_messages(lm: Any, text: str) -> list[dict]:
    """The conversation whose chat template equals ``lm.format_prompt(text)`` (TRL renders it)."""
    from nescio.models.prompts import chat_messages, system_prompt

    return chat_messages(lm.tokenizer, [{"role": "system", "content": system_prompt(lm.prompt)},
                                        {"role": "user", "content": text}])


def schedule(questions: Sequence[Question], n: int, seed: int) -> list[Question]:
    """The ``n`` questions the run trains on, in order: seeded permutations of the set, one after another.

    The whole run is one pass over this list (no dataloader epochs), so a resumed run skips
    exactly the batches already trained on and sees the same questions in the same order.
    """
    import random

    rng = random.Random(seed)
    out: list[Question] = []
    while len(out) < n:
        perm = list(questions)
        rng.shuffle(perm)
        out.extend(perm)
    return out[:n]


def _dataset(lm: Any, questions: Sequence[Question]):
    from datasets import Dataset

    if lm.prompt_format == "chat":  # a rendered string would get a second BOS from the tokenizer
        prompts = [_chat_messages(lm, q.text) for q in questions]
    else:
        prompts = [lm.format_prompt(q.text) for q in questions]
    return Dataset.from_dict({"prompt": prompts, "question_id": [q.id for q in questions]})


def _policy_tokenizer(lm: Any) -> Any:
    """A copy of the tokenizer whose EOS is the one generation stops at (TRL reads EOS from it)."""
    tok = copy.deepcopy(lm.tokenizer)
    gen_eos = getattr(getattr(lm.model, "generation_config", None), "eos_token_id", None)
    gen_eos = gen_eos[0] if isinstance(gen_eos, (list, tuple)) else gen_eos
    if gen_eos is not None and gen_eos != tok.eos_token_id:
        tok.eos_token = tok.convert_ids_to_tokens(int(gen_eos))
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.model_input_names = ["input_ids", "attention_mask"]  # no token_type_ids into generate()
    return tok


def trl_reward(reward: Reward, questions: Sequence[Question], max_tokens: int) -> Callable[..., list[float]]:
    """Wrap ``reward`` as a TRL reward function; logs correct / abstained / hallucinated rates per step."""
    by_id = {q.id: q for q in questions}

    def reward_fn(prompts, completions, completion_ids, question_id, log_metric=None, **_: Any) -> list[float]:
        scores, outcomes, wrong_lengths = [], [], []
        for qid, completion, ids in zip(question_id, completions, completion_ids):
            text = completion if isinstance(completion, str) else completion[-1]["content"]
            score, g = reward.score(by_id[qid], text, len(ids), max_tokens=max_tokens)
            scores.append(score)
            outcomes.append(g.outcome)
            if g.outcome == Outcome.HALLUCINATED:
                wrong_lengths.append(len(ids))
        if log_metric is not None and outcomes:
            n = len(outcomes)
            for o in Outcome:
                log_metric(f"nescio/{o.value}", sum(x == o for x in outcomes) / n)
            if wrong_lengths:
                log_metric("nescio/wrong_length", sum(wrong_lengths) / len(wrong_lengths))
        return scores

    reward_fn.__name__ = reward.name
    return reward_fn


def _progress_callback(total: int):
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        """One bar over optimizer steps showing mean reward, abstention rate and completion length."""

        def __init__(self) -> None:
            self.bar = None

        def on_train_begin(self, args, state, control, **kw):
            self.bar = tqdm(total=total, initial=state.global_step, desc="grpo", unit="step")

        def on_log(self, args, state, control, logs=None, **kw):
            if self.bar is None or not logs or "reward" not in logs:
                return
            self.bar.n = state.global_step
            self.bar.set_postfix(reward=f"{logs['reward']:.2f}", abstained=f"{logs.get('nescio/abstained', 0):.2f}",
                                 length=f"{logs.get('completions/mean_length', 0):.0f}")

        def on_train_end(self, args, state, control, **kw):
            if self.bar is not None:
                self.bar.n = state.global_step
                self.bar.close()

    return Progress()


def train_grpo(
    model: str | Callable[[], Any],
    questions: Sequence[Question],
    out: str | Path,
    settings: GRPOSettings | None = None,
    *,
    overwrite: bool = False,
    device: str = "cpu",
    progress: bool = True,
    callbacks: Sequence[Any] = (),
    data_info: dict | None = None,
):
    """Train a LoRA adapter with GRPO; write the shared training layout under ``out``; return the TrainSummary.

    ``model``: a ``--model`` spec (an SFT output directory means its merged model) or a
    callable returning a :class:`~nescio.models.load.LoadedModel` (tests: the tiny model).
    Rerunning with the same arguments after an interruption resumes from the last
    checkpoint; a finished ``out`` is refused unless ``overwrite``.
    """
    settings = settings or GRPOSettings()
    reward = settings.build_reward()  # bad input fails before the heavy imports
    questions = list(questions)
    if not questions:
        raise NescioError("GRPO needs at least one training question")
    if len({q.id for q in questions}) != len(questions):
        raise NescioError("training questions must have unique ids")

    from trl import GRPOConfig, GRPOTrainer

    from nescio.models.load import load_model
    from nescio.train.lora import expose_backbone, merge_adapter, save_adapter
    from nescio.train.output import TrainOutput, TrainSummary, curve_from_log_history, library_versions
    spec = model if callable(model) else resolve_start_model(str(model))
    lm = spec() if callable(spec) else load_model(spec, device=device)
    lm.prompt = settings.prompt
    run_settings = {"kind": "grpo", "model": lm.model_id, "questions": [q.id for q in questions],
                    **asdict(settings), "reward": reward.spec, "reward_params": dict(reward.params)}
    output = TrainOutput(out)
    resume = output.prepare(run_settings, overwrite=overwrite)
    tokenizer = _policy_tokenizer(lm)
    use_cpu = device == "cpu"
    args = GRPOConfig(
        output_dir=str(output.checkpoints_dir), use_cpu=use_cpu, bf16=False, fp16=False,
        per_device_train_batch_size=settings.k * settings.prompts_per_step, gradient_accumulation_steps=1,
        num_generations=settings.k, max_completion_length=settings.max_tokens, max_steps=settings.steps,
        learning_rate=settings.learning_rate, lr_scheduler_type="constant", warmup_steps=0, beta=settings.beta,
        temperature=settings.temperature, top_p=1.0, seed=settings.seed, data_seed=settings.seed,
        logging_steps=1, save_strategy="steps", save_steps=settings.save_steps, save_total_limit=2,
        report_to=[], disable_tqdm=True, dataloader_num_workers=0, remove_unused_columns=False,
        log_completions=False, shuffle_dataset=False,
    )
    trainer = GRPOTrainer(
        model=expose_backbone(lm.model), reward_funcs=trl_reward(reward, questions, settings.max_tokens), args=args,
        train_dataset=_dataset(lm, schedule(questions, settings.steps * settings.prompts_per_step, settings.seed)), processing_class=tokenizer,
        peft_config=_lora(lm, settings),
        callbacks=[*([_progress_callback(settings.steps)] if progress else []), *callbacks],
    )
    if progress:
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # the bar shows the logs
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    train_s = time.perf_counter() - t0
    digest = save_adapter(trainer.model, output.adapter_dir)
    base = spec if callable(spec) else spec
    model_id = merge_adapter(base, output.adapter_dir, output.merged_dir, method="grpo")
    resumed = int(resume.name.split("-", 1)[1]) if resume else 0
    done_steps = max(settings.steps - resumed, 1)
    n_completions = settings.steps * settings.k * settings.prompts_per_step
    summary = TrainSummary(
        kind="grpo", base_model=lm.spec, base_model_id=lm.model_id, model_id=model_id, adapter_sha256=digest,
        prompt_format=lm.prompt_format,
        data={"n_questions": len(questions), "categories": _counts(q.category for q in questions),
              "completions": n_completions, **(data_info or {})},
        hyperparameters={**asdict(settings), "reward": reward.spec, "reward_params": dict(reward.params),
                         "reward_definition": reward.to_json()},
        curve=curve_from_log_history(trainer.state.log_history, GRPO_CURVE_KEYS),
        timing={"train_s": round(train_s, 1), "s_per_step": round(train_s / done_steps, 2),
                "completions_per_s": round(done_steps * settings.k * settings.prompts_per_step / max(train_s, 1e-9), 3)},
        resumed_from_step=resumed, device=device, versions=library_versions(),
    )
    output.write_summary(summary)
    return summary


def _lora(lm: Any, settings: GRPOSettings):
    from nescio.train.lora import lora_config

    cfg = lora_config(lm, r=settings.lora_r, alpha=settings.lora_alpha)
    if settings.lora_layers:
        n = lm.n_layers
        cfg.layers_to_transform = list(range(max(n - settings.lora_layers, 0), n))
    return cfg


def _counts(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out
