"""``score``: teacher forcing — the internals of an answer made anywhere, as if the model had written it.

One batched forward over prompt + given answer yields, at the answer positions, the chosen
token log-probs, entropies, top-k alternatives and the captured activations exactly as the
step decoder records them when it generates that answer itself (same positions, same
padding rules), so signals, the guard and its decisions read a scored answer as they read a
generated one. ``config.n_samples`` sampled answers (for sampling signals) are drawn as
:func:`nescio.models.generation.generate` draws them (same seeds), and ``config.p_true`` /
``config.verbal_confidence`` run their reflexive pass on the given answer.

Tokenisation of a text answer: the tokenizer's encoding of the text as the prompt's
continuation (few-shot prompts end in "Answer:", after which models write a space, so a
text without one gets it back). Where the source has the token ids (the same tokenizer on
another engine), pass them and no re-tokenisation happens. ``stop_reason`` ``"max_tokens"``
(OpenAI's ``finish_reason`` "length") marks a truncated answer: as in generation, its last
token was never fed back, so the answer capture stops one token earlier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from nescio.models.capture import ActivationCapture
from nescio.models.decode import PROMPT_POOLED, Prompt, _shared_prefix, _sliding_window, decode
from nescio.models.generation import answer_text, encode_questions, in_batches, p_true_batch, verbal_confidence_batch
from nescio.models.sampling import seed_for
from nescio.types import Generation, GenerationConfig, NescioError, Question, Sample

if TYPE_CHECKING:
    from nescio.models.load import LoadedModel

STOP_REASONS = ("eos", "stop_string", "max_tokens")


def answer_token_ids(lm: LoadedModel, text: str) -> tuple[int, ...]:
    """The token ids of ``text`` as the model would write it after its prompt."""
    if lm.prompt_format == "fewshot" and text and not text[0].isspace():
        text = " " + text
    return tuple(lm.tokenizer.encode(text, add_special_tokens=False)) if text else ()


def _fed(lm: LoadedModel, ids: Sequence[int], stop_reason: str) -> int:
    """Answer tokens the decoder would have fed back (rows of the answer capture)."""
    n = len(ids)
    if not n:
        return 0
    if stop_reason == "max_tokens":
        return n - 1
    if stop_reason == "stop_string" and "\n" in lm.tokenizer.decode(list(ids[-1:])):
        return n - 1  # a stop token holding text before its newline stays in the answer, unfed
    return n


def score(
    lm: LoadedModel,
    questions: Sequence[Question],
    answers: Sequence[str],
    config: GenerationConfig | None = None,
    *,
    token_ids: Sequence[Sequence[int] | None] | None = None,
    stop_reasons: Sequence[str | None] | None = None,
    progress: bool = True,
    prompts: Sequence[Prompt] | None = None,
) -> list[Generation]:
    """One :class:`Generation` per (question, answer), in input order, by teacher forcing.

    ``answers``: the answer texts (as :attr:`Generation.text`: stripped, cut at the stop).
    ``token_ids[i]``: the answer's tokens when known (None: tokenise the text).
    ``stop_reasons[i]``: ``eos`` (default), ``stop_string`` or ``max_tokens``.
    ``prompts[i]``: the question's prompt already encoded (a server's chat template output;
    default: the model's own rendering). Captures, samples and reflexive passes follow ``config`` as in ``generate``."""
    config = config or GenerationConfig()
    if config.activation_dtype not in ("float16", "float32"):
        raise NescioError(f"activation_dtype {config.activation_dtype!r} not supported; accepted: float16, float32")
    questions, answers = list(questions), [str(a) for a in answers]
    n_q = len(questions)
    if len(answers) != n_q:
        raise NescioError(f"score got {len(answers)} answers for {n_q} questions")
    token_ids = list(token_ids) if token_ids is not None else [None] * n_q
    stop_reasons = [r or "eos" for r in stop_reasons] if stop_reasons is not None else ["eos"] * n_q
    if len(token_ids) != n_q or len(stop_reasons) != n_q:
        raise NescioError(f"score needs one token_ids / stop_reasons entry per question ({n_q})")
    bad = sorted({r for r in stop_reasons if r not in STOP_REASONS})
    if bad:
        raise NescioError(f"unknown stop reason {bad[0]!r}; accepted: {', '.join(STOP_REASONS)}")
    if not questions:
        return []
    prompts = list(prompts) if prompts is not None else encode_questions(lm, questions)
    if len(prompts) != n_q:
        raise NescioError(f"score got {len(prompts)} prompts for {n_q} questions")
    ids = [tuple(int(t) for t in t_ids) if t_ids is not None else answer_token_ids(lm, a)
           for a, t_ids in zip(answers, token_ids)]
    order = sorted(range(n_q), key=lambda i: (len(prompts[i].ids) + len(ids[i]), i))
    pick = lambda xs, idx: [xs[i] for i in idx]  # noqa: E731
    return in_batches(lm, order, config, lambda idx: _score_batch(
        lm, pick(questions, idx), pick(prompts, idx), pick(answers, idx), pick(ids, idx), pick(stop_reasons, idx),
        config), desc="scoring", progress=progress)


def _score_batch(lm, questions, prompts, answers, ids, stop_reasons, config) -> list[Generation]:
    """One batch: the prompts' shared prefix (chat template + system prompt, or few-shot
    examples) runs once and its KV cache is copied to every row, as the decoder's prefill does;
    then one forward over each row's left-padded rest of prompt + answer."""
    import torch
    from transformers import DynamicCache

    B = len(questions)
    dev = torch.device(lm.device)
    plan_positions = frozenset().union(*(spec.positions for spec in config.capture)) if config.capture else frozenset()
    P = _shared_prefix([p.ids for p in prompts]) if B > 1 and not plan_positions.intersection(PROMPT_POOLED) else 0
    cache = None
    if P:
        cache = DynamicCache(config=lm.model.config)
        window = _sliding_window(cache)
        if window is not None and max(len(p.ids) + len(a) for p, a in zip(prompts, ids)) > window:
            P, cache = 0, None  # a padded row's window counts cache slots: no sharing past the window
    seqs = [list(p.ids[P:]) + list(a) for p, a in zip(prompts, ids)]  # what follows the shared prefix
    S = max(len(x) for x in seqs)
    T = max(len(a) for a in ids)
    pads = [S - len(x) for x in seqs]
    pad_id = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    input_ids = torch.tensor([[pad_id] * p + x for p, x in zip(pads, seqs)], device=dev)  # [B, S]
    mask = torch.tensor([[0] * p + [1] * len(x) for p, x in zip(pads, seqs)], device=dev)  # [B, S]
    position_ids = (P + mask.cumsum(-1) - 1).clamp_min(0)
    attn = torch.cat([torch.ones(B, P, dtype=mask.dtype, device=dev), mask], dim=1)  # [B, P+S]
    last = torch.tensor([p + len(pr.ids) - P - 1 for p, pr in zip(pads, prompts)], device=dev)  # [B] in the suffix
    fed = [_fed(lm, a, r) for a, r in zip(ids, stop_reasons)]
    if cache is not None:
        lm.model(input_ids=torch.tensor([prompts[0].ids[:P]], device=dev), position_ids=torch.arange(P, device=dev)[None],
                 past_key_values=cache, use_cache=True, logits_to_keep=1)
        cache.batch_repeat_interleave(B)

    def forward():
        return lm.model(input_ids=input_ids, attention_mask=attn, position_ids=position_ids, past_key_values=cache,
                        use_cache=cache is not None, logits_to_keep=T + 1)

    if config.capture:
        prompt_mask = torch.zeros_like(mask)
        for b, (p, pr) in enumerate(zip(pads, prompts)):
            prompt_mask[b, p : p + len(pr.ids) - P] = 1
        ent = torch.tensor([p + pr.entity_token - P if pr.entity_token is not None and P == 0 else int(last[b])
                            for b, (p, pr) in enumerate(zip(pads, prompts))], device=dev)
        steps = torch.arange(max(T, 1), device=dev)
        answer_index = torch.minimum(last[:, None] + 1 + steps[None, :], torch.tensor(S - 1, device=dev))  # [B, T]
        with ActivationCapture(lm, config.capture, config.activation_dtype) as cap:
            cap.teacher(prompt_mask, ent, last, answer_index)
            out = forward()
            cap.close()
            acts = cap.results(fed, config.activation_dtype)
    else:
        out = forward()
        acts = [{} for _ in range(B)]
    logp = torch.log_softmax(out.logits.float(), dim=-1)  # [B, T+1, V]: position S-T-1+j predicts S-T+j
    k = min(config.top_k, logp.shape[-1])
    samples = _samples(lm, questions, prompts, config)
    p_true = p_true_batch(lm, questions, answers) if config.p_true else [None] * B
    verbal = verbal_confidence_batch(lm, questions, answers) if config.verbal_confidence else [(None, None)] * B
    gens = []
    for b, (q, pr, a, a_ids) in enumerate(zip(questions, prompts, answers, ids)):
        n = len(a_ids)
        rows = logp[b, T - n : T]  # [n, V]: the distributions the answer tokens were chosen from
        chosen = torch.tensor(a_ids, dtype=torch.long, device=rows.device)
        lps = rows.gather(1, chosen[:, None])[:, 0] if n else rows[:, 0]
        ent = -(rows.exp() * rows).sum(-1)
        tv, ti = rows.topk(k, dim=-1)
        gens.append(Generation(
            question=q, prompt=pr.text, text=a, token_ids=tuple(a_ids), token_logprobs=tuple(lps.tolist()),
            token_entropies=tuple(ent.tolist()), top_k_ids=tuple(tuple(t) for t in ti.tolist()),
            top_k_logprobs=tuple(tuple(t) for t in tv.tolist()), stop_reason=stop_reasons[b],
            samples=samples[b], activations=acts[b], prompt_token_count=len(pr.ids), p_true=p_true[b],
            verbal_confidence=verbal[b][0], verbal_confidence_text=verbal[b][1],
        ))
    return gens


def _samples(lm, questions, prompts, config) -> list[tuple[Sample, ...]]:
    """``config.n_samples`` sampled answers per question, seeded as ``generate`` seeds them."""
    n = config.n_samples
    if not n:
        return [() for _ in questions]
    seeds = [[seed_for(config.seed, q.id, j) for j in range(n)] for q in questions]
    rows, _ = decode(lm, list(prompts), greedy=False, n_samples=n, seeds=seeds, temperature=config.temperature,
                     top_p=config.top_p, top_k=config.top_k, max_new_tokens=config.max_new_tokens)
    tok = lm.tokenizer
    return [tuple(Sample(answer_text(tok, s), s.token_ids, s.token_logprobs) for s in rows[i * n : (i + 1) * n])
            for i in range(len(questions))]
