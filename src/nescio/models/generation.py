"""``generate``: answers to questions, with token statistics, samples and capture.

Built on the step decoder in :mod:`nescio.models.decode` (prefill → decode steps →
finished rows): one greedy row per question (chosen-token log-prob, entropy in nats and
top-k per step) plus ``config.n_samples`` sampled rows whose log-probs are under the
untempered model distribution. Sampling is reproducible per question: sample j of
question q is seeded by ``(config.seed, q.id, j)``, so it does not depend on the batch.
Prompts are tokenised once (:func:`nescio.models.decode.encode_prompts`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from nescio.models import prompts as templates
from nescio.models.capture import ActivationCapture
from nescio.models.decode import DecodedRow, Prompt, decode, encode_prompts
from nescio.models.sampling import seed_for
from nescio.models.intervene import ScaleNeurons
from nescio.types import Generation, GenerationConfig, NescioError, Question, Sample

if TYPE_CHECKING:
    from nescio.models.load import LoadedModel

TRUE_WORDS = ("True", " True", "true", " true", "Yes", " Yes", "yes", " yes")
FALSE_WORDS = ("False", " False", "false", " false", "No", " No", "no", " no")


def answer_text(tokenizer, row: DecodedRow) -> str:
    """The answer a row spells: decoded without special tokens, cut at a stop newline, stripped."""
    text = tokenizer.decode(row.token_ids, skip_special_tokens=True)
    if row.stop_reason == "stop_string":
        text = text.split("\n")[0]
    return text.strip()


def _first_token_ids(tok, words: tuple[str, ...]) -> list[int]:
    ids = {tuple(tok.encode(w, add_special_tokens=False))[:1] for w in words}
    return sorted({i[0] for i in ids if i})


def p_true_batch(lm: LoadedModel, questions: Sequence[Question], answers: Sequence[str]) -> list[float]:
    """P(True) of each proposed answer, normalised over the True/Yes and False/No tokens."""
    import torch

    texts = [templates.format_p_true(lm.tokenizer, lm.prompt_format, q.text, a) for q, a in zip(questions, answers)]
    enc = lm.tokenizer(
        texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=lm.prompt_format != "chat"
    )
    attn = enc["attention_mask"].to(lm.device)  # [B, S]
    out = lm.model(
        input_ids=enc["input_ids"].to(lm.device),
        attention_mask=attn,
        position_ids=(attn.cumsum(-1) - 1).clamp_min(0),
        use_cache=False,
        logits_to_keep=1,
    )
    probs = torch.softmax(out.logits[:, -1, :].float(), dim=-1)  # [B, V]
    yes = probs[:, _first_token_ids(lm.tokenizer, TRUE_WORDS)].sum(-1)
    no = probs[:, _first_token_ids(lm.tokenizer, FALSE_WORDS)].sum(-1)
    return (yes / (yes + no).clamp_min(1e-30)).cpu().tolist()


def parse_confidence(text: str) -> float | None:
    """First integer 0–100 in ``text`` divided by 100; ``None`` when there is none."""
    for m in re.finditer(r"\d+(?:\.\d+)?", text):
        value = float(m.group())
        if 0 <= value <= 100:
            return value / 100.0
    return None


def verbal_confidence_batch(
    lm: LoadedModel, questions: Sequence[Question], answers: Sequence[str]
) -> list[tuple[float | None, str]]:
    texts = [
        templates.format_verbal_confidence(lm.tokenizer, lm.prompt_format, q.text, a) for q, a in zip(questions, answers)
    ]
    rows, _ = decode(lm, encode_prompts(lm, texts), max_new_tokens=8, top_k=1, stop_newline=False)
    return [(parse_confidence(raw), raw) for raw in (answer_text(lm.tokenizer, row) for row in rows)]


def encode_questions(lm: LoadedModel, questions: Sequence[Question]) -> list[Prompt]:
    """Each question's prompt, formatted and tokenised once."""
    texts = [lm.format_prompt(q) for q in questions]  # a Question with retrieval gets its passages
    return encode_prompts(lm, texts, [(q.text, q.entity) for q in questions])


def generate(
    lm: LoadedModel,
    questions: Sequence[Question],
    config: GenerationConfig | None = None,
    *,
    progress: bool = True,
    prompts: Sequence[Prompt] | None = None,
) -> list[Generation]:
    """Answer each question: greedy answer + ``config.n_samples`` samples, with capture.

    Returns one :class:`Generation` per question, in input order. Questions are batched
    by prompt length (``config.batch_size``); left padding does not change results.
    Captures (``config.capture``) are read in the same forward passes as the greedy
    answer. ``config.p_true`` / ``config.verbal_confidence`` add one reflexive pass each.
    ``prompts``: the questions' prompts already encoded (:func:`encode_questions`).
    ``config.neuron_scaling`` scales chosen FFN neurons during all of it (hooks removed after).
    """
    config = config or GenerationConfig()
    if config.activation_dtype not in ("float16", "float32"):
        raise NescioError(f"activation_dtype {config.activation_dtype!r} not supported; accepted: float16, float32")
    if config.batch_size < 1 or config.max_new_tokens < 1:
        raise NescioError("batch_size and max_new_tokens must be at least 1")
    questions = list(questions)
    if not questions:
        return []
    encoded = list(prompts) if prompts is not None else encode_questions(lm, questions)
    if len(encoded) != len(questions):
        raise NescioError(f"generate got {len(encoded)} prompts for {len(questions)} questions")
    order = sorted(range(len(questions)), key=lambda i: (len(encoded[i].ids), i))
    return in_batches(lm, order, config, lambda idx: _generate_batch(
        lm, [questions[i] for i in idx], [encoded[i] for i in idx], config), desc="generating", progress=progress)


def in_batches(lm: LoadedModel, order: list[int], config: GenerationConfig, run, *, desc: str, progress: bool) -> list:
    """``run(indices) -> one result per index`` over ``order`` in batches of ``config.batch_size``,
    in eval and inference mode with ``config.neuron_scaling`` applied; results in index order."""
    import torch
    from tqdm.auto import tqdm

    results: list = [None] * len(order)
    was_training = lm.model.training
    lm.model.eval()
    bar = tqdm(total=len(order), disable=not progress, desc=desc, unit="q")
    try:
        with torch.inference_mode(), ScaleNeurons(lm, config.neuron_scaling):
            for start in range(0, len(order), config.batch_size):
                idx = order[start : start + config.batch_size]
                for i, r in zip(idx, run(idx)):
                    results[i] = r
                bar.update(len(idx))
    finally:
        bar.close()
        lm.model.train(was_training)
    return results


def _generate_batch(
    lm: LoadedModel, questions: list[Question], encoded: Sequence[Prompt] | Sequence[str], config: GenerationConfig
) -> list[Generation]:
    """One batch as given (no sorting or splitting); prompt strings are tokenised here."""
    if any(isinstance(p, str) for p in encoded):
        encoded = encode_prompts(lm, [p if isinstance(p, str) else p.text for p in encoded],
                                 [(q.text, q.entity) for q in questions])
    B, n = len(questions), config.n_samples
    kwargs = dict(
        max_new_tokens=config.max_new_tokens,
        top_k=config.top_k,
        n_samples=n,
        temperature=config.temperature,
        top_p=config.top_p,
        seeds=[[seed_for(config.seed, q.id, j) for j in range(n)] for q in questions],
    )
    if config.capture:
        with ActivationCapture(lm, config.capture, config.activation_dtype) as cap:
            rows, prompt_counts = decode(lm, encoded, capture=cap, **kwargs)
            acts = cap.results([r.n_fed for r in rows[:B]], config.activation_dtype)
    else:
        rows, prompt_counts = decode(lm, encoded, **kwargs)
        acts = [{} for _ in range(B)]
    tok = lm.tokenizer
    greedy, sampled = rows[:B], rows[B:]
    answers = [answer_text(tok, r) for r in greedy]
    p_true = p_true_batch(lm, questions, answers) if config.p_true else [None] * B
    verbal = verbal_confidence_batch(lm, questions, answers) if config.verbal_confidence else [(None, None)] * B
    gens = []
    for i, (q, row) in enumerate(zip(questions, greedy)):
        gens.append(
            Generation(
                question=q,
                prompt=encoded[i].text,
                text=answers[i],
                token_ids=row.token_ids,
                token_logprobs=row.token_logprobs,
                token_entropies=row.token_entropies,
                top_k_ids=row.top_k_ids,
                top_k_logprobs=row.top_k_logprobs,
                stop_reason=row.stop_reason,
                samples=tuple(
                    Sample(answer_text(tok, s), s.token_ids, s.token_logprobs) for s in sampled[i * n : (i + 1) * n]
                ),
                activations=acts[i],
                prompt_token_count=prompt_counts[i],
                p_true=p_true[i],
                verbal_confidence=verbal[i][0],
                verbal_confidence_text=verbal[i][1],
            )
        )
    return gens


# ---------------------------------------------------------------- sampled completions (RL)


@dataclass(frozen=True)
class Completion:
    """One sampled completion. ``token_ids`` / ``token_logprobs`` exclude the stop token, which is
    in ``stop_token_id`` / ``stop_logprob`` (``None`` at ``max_tokens``); log-probs are under the
    untempered model distribution. ``seed`` reproduces the draw."""

    text: str
    token_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]
    stop_reason: str
    stop_token_id: int | None
    stop_logprob: float | None
    seed: int


@dataclass(frozen=True)
class CompletionGroup:
    """The ``n`` completions of one prompt, with the prompt's token ids (special tokens included)."""

    key: str
    prompt: str
    prompt_ids: tuple[int, ...]
    completions: tuple[Completion, ...]


def sample_completions(
    lm: LoadedModel,
    prompts: Sequence[str],
    n: int,
    *,
    keys: Sequence[str] | None = None,
    seed: int = 0,
    temperature: float = 1.0,
    top_p: float = 1.0,
    max_new_tokens: int = 24,
    batch_size: int = 16,
    stop_newline: bool | None = None,
) -> list[CompletionGroup]:
    """``n`` sampled completions of each prompt (full prompt strings, e.g. ``lm.format_prompt(q)``).

    The sampling path of :func:`generate` without the greedy row: completion j of prompt i is
    seeded by ``seed_for(seed, keys[i], j)`` (``keys`` default to the prompt strings), so it
    does not depend on the batch; :func:`generate` with the same seed, question id as key,
    temperature and top_p draws the same samples. Runs in eval mode under inference mode.
    """
    import torch

    if n < 1 or batch_size < 1 or max_new_tokens < 1:
        raise NescioError("sample_completions needs n, batch_size and max_new_tokens of at least 1")
    prompts = list(prompts)
    keys = list(keys) if keys is not None else prompts
    if len(keys) != len(prompts):
        raise NescioError(f"sample_completions got {len(keys)} keys for {len(prompts)} prompts")
    encoded = encode_prompts(lm, prompts)
    order = sorted(range(len(prompts)), key=lambda i: (len(encoded[i].ids), i))
    out: list[CompletionGroup | None] = [None] * len(prompts)
    was_training = lm.model.training
    lm.model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                seeds = [[seed_for(seed, keys[i], j) for j in range(n)] for i in idx]
                rows, _ = decode(
                    lm, [encoded[i] for i in idx], greedy=False, n_samples=n, seeds=seeds, temperature=temperature,
                    top_p=top_p, max_new_tokens=max_new_tokens, stop_newline=stop_newline,
                )
                for b, i in enumerate(idx):
                    group = rows[b * n : (b + 1) * n]
                    out[i] = CompletionGroup(keys[i], prompts[i], encoded[i].ids, tuple(
                        Completion(answer_text(lm.tokenizer, r), r.token_ids, r.token_logprobs, r.stop_reason,
                                   r.stop_token_id, r.stop_logprob, seeds[b][r.sample])
                        for r in group
                    ))
    finally:
        lm.model.train(was_training)
    return out  # type: ignore[return-value]
