"""Batched generation with a KV cache: greedy + sampled answers, token statistics, capture.

The prompt prefix all questions of a batch share (chat template and system prompt, or
the few-shot examples) runs once and its KV cache is copied to every row; then one
prefill runs the left-padded suffixes (attention mask and position ids make padding
invisible), the cache is copied for the ``n_samples`` sampled rows, and all rows decode
together. Finished rows are dropped from the batch. Per greedy step:
chosen-token log-prob, entropy (nats) and top-k; per sampled step: the chosen token's
log-prob under the untempered model distribution. Sampling is reproducible per
question: each sampled answer draws its uniforms from a generator seeded by
``(config.seed, question.id, sample index)``, so it does not depend on the batch.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from nescio.models import prompts
from nescio.models.capture import ActivationCapture
from nescio.types import Generation, GenerationConfig, NescioError, Question, Sample

SHARED_PREFIX_MIN_TOKENS = 8
CHAT_END_TOKENS = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "<|endoftext|>")
TRUE_WORDS = ("True", " True", "true", " true", "Yes", " Yes", "yes", " yes")
FALSE_WORDS = ("False", " False", "false", " false", "No", " No", "no", " no")


@dataclass
class _Row:
    token_ids: list[int]
    token_logprobs: list[float]
    stop_reason: str
    fed: int  # answer tokens fed back to the model (rows of the "answer" capture)


def _seed_for(seed: int, question_id: str, sample: int) -> int:
    digest = hashlib.sha256(f"{seed}|{question_id}|{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _token_masks(lm: Any) -> tuple[Any, Any]:
    """Boolean vocab masks: tokens that end the answer (EOS / end of turn), tokens holding a newline."""
    import torch

    cached = lm.extra.get("_token_masks")
    if cached is not None:
        return cached
    tok = lm.tokenizer
    vocab = max(len(tok), int(lm.model.get_output_embeddings().weight.shape[0]))
    stop = torch.zeros(vocab, dtype=torch.bool)
    ids = {tok.eos_token_id}
    gen_eos = getattr(getattr(lm.model, "generation_config", None), "eos_token_id", None)
    ids.update(gen_eos if isinstance(gen_eos, (list, tuple)) else [gen_eos])
    vocab_map = tok.get_vocab()
    ids.update(vocab_map[t] for t in CHAT_END_TOKENS if t in vocab_map)
    stop[[i for i in ids if i is not None and 0 <= i < vocab]] = True
    texts = tok.batch_decode([[i] for i in range(len(tok))])
    newline = torch.zeros(vocab, dtype=torch.bool)
    newline[[i for i, t in enumerate(texts) if "\n" in t]] = True
    lm.extra["_token_masks"] = (stop, newline)
    return stop, newline


def _entity_index(prompts_: list[str], questions: list[Question], offsets: list, pads: list[int]) -> list[int]:
    """Index (into the left-padded batch) of the last token of each question's entity.

    Falls back to the last prompt token when the entity is unknown or not in the prompt.
    """
    idx = []
    for prompt, q, offs, pad in zip(prompts_, questions, offsets, pads):
        fallback = pad + len(offs) - 1
        start_q = prompt.rfind(q.text)
        pos_in_q = q.text.rfind(q.entity) if q.entity else -1
        if start_q < 0 or pos_in_q < 0:
            idx.append(fallback)
            continue
        e_start = start_q + pos_in_q
        e_end = e_start + len(q.entity)
        hit = [t for t, (a, b) in enumerate(offs) if a < e_end and b > e_start and b > a]
        idx.append(pad + hit[-1] if hit else fallback)
    return idx


NUCLEUS_CANDIDATES = 256


def _sample_sorted(sp: Any, si: Any, u: Any, top_p: float) -> Any:
    """Inverse-CDF draw from the nucleus of probabilities sorted in descending order."""
    cum = sp.cumsum(-1)
    sp = sp * ((cum - sp) < top_p)
    cum = sp.cumsum(-1)
    pick = (cum < (u * cum[:, -1])[:, None]).sum(-1).clamp_max(sp.shape[-1] - 1)
    return si.gather(1, pick[:, None])[:, 0]


def _nucleus_sample(probs: Any, u: Any, top_p: float) -> Any:
    """Top-p sampling with uniforms ``u``; exact, but sorts the full vocabulary only for rows
    whose nucleus is not inside the top ``NUCLEUS_CANDIDATES`` tokens (a full sort is ~30x slower)."""

    k = min(NUCLEUS_CANDIDATES, probs.shape[-1])
    sp, si = probs.topk(k, dim=-1)
    chosen = _sample_sorted(sp, si, u, top_p)
    wide = sp.sum(-1) < top_p
    if bool(wide.any()):
        rows = wide.nonzero()[:, 0]
        fp, fi = probs[rows].sort(dim=-1, descending=True)
        chosen[rows] = _sample_sorted(fp, fi, u[rows], top_p)
    return chosen


def _decode_batch(
    lm: Any,
    prompt_texts: list[str],
    *,
    max_new_tokens: int,
    top_k: int = 10,
    stop_newline: bool = False,
    n_samples: int = 0,
    temperature: float = 1.0,
    top_p: float = 1.0,
    sample_seeds: list[list[int]] | None = None,
    capture: ActivationCapture | None = None,
    questions: list[Question] | None = None,
) -> tuple[list[_Row], dict, list[list[_Row]]]:
    """Greedy (+ sampled) decoding for one batch. Returns greedy rows, greedy stats, sample rows."""
    import torch

    model, tok = lm.model, lm.tokenizer
    stop_mask, newline_mask = _token_masks(lm)
    add_special = lm.prompt_format != "chat"
    needs = set().union(*capture.plan.values()) if capture is not None else set()
    need_offsets = "entity_last" in needs
    enc = tok(prompt_texts, add_special_tokens=add_special, return_offsets_mapping=need_offsets)
    ids = enc["input_ids"]
    prompt_lengths = [len(x) for x in ids]
    B = len(ids)
    # Shared prompt prefix (system prompt / few-shot examples): computed once, its KV copied
    # to every row, so the batch prefill only runs the differing suffixes. Kept off when a
    # capture pools over prompt tokens (prompt_mean, entity_last), which the prefix would hide.
    P = 0
    if B > 1 and not needs.intersection(("prompt_mean", "entity_last")):
        limit = min(prompt_lengths) - 1
        first = ids[0]
        while P < limit and all(row[P] == first[P] for row in ids):
            P += 1
        if P < SHARED_PREFIX_MIN_TOKENS:
            P = 0
    from transformers import DynamicCache

    dev = torch.device(lm.device)
    cache = DynamicCache(config=model.config)
    if P:
        model(
            input_ids=torch.tensor([ids[0][:P]], device=dev),
            position_ids=torch.arange(P, device=dev)[None],
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        cache.batch_repeat_interleave(B)
    suffixes = [row[P:] for row in ids]
    S = max(len(x) for x in suffixes)
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    pads = [S - len(x) for x in suffixes]
    input_ids = torch.tensor([[pad_id] * p + x for p, x in zip(pads, suffixes)], device=dev)
    suffix_mask = torch.tensor([[0] * p + [1] * len(x) for p, x in zip(pads, suffixes)], device=dev)
    attn = torch.cat([torch.ones(B, P, dtype=suffix_mask.dtype, device=dev), suffix_mask], dim=1)
    position_ids = (P + suffix_mask.cumsum(-1) - 1).clamp_min(0)
    if capture is not None:
        ent = (
            _entity_index(prompt_texts, questions, enc["offset_mapping"], pads)
            if need_offsets
            else [S - 1] * B
        )
        capture.begin_prefill(suffix_mask, torch.tensor(ent, dtype=torch.long, device=dev))
    out = model(
        input_ids=input_ids,
        attention_mask=attn,
        position_ids=position_ids,
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    logits = out.logits[:, -1, :].float()

    # rows: B greedy rows first, then B * n_samples sampled rows (question-major)
    stop_mask, newline_mask = stop_mask.to(dev), newline_mask.to(dev)
    n = n_samples
    row_q = torch.cat([torch.arange(B), torch.arange(B).repeat_interleave(n)]).to(dev)
    R = row_q.shape[0]
    if n:
        cache.reorder_cache(row_q)
        logits, attn = logits[row_q], attn[row_q]
    pos = position_ids[row_q, -1]
    uniforms = torch.zeros(R, max_new_tokens)
    if n:
        for r in range(B * n):
            g = torch.Generator().manual_seed(sample_seeds[r // n][r % n])
            uniforms[B + r] = torch.rand(max_new_tokens, generator=g)
    uniforms = uniforms.to(dev)

    out_ids = torch.zeros(R, max_new_tokens, dtype=torch.long, device=dev)
    out_lp = torch.zeros(R, max_new_tokens, device=dev)
    ent_out = torch.zeros(B, max_new_tokens, device=dev)
    k = min(top_k, logits.shape[-1])
    topk_ids = torch.zeros(B, max_new_tokens, k, dtype=torch.long, device=dev)
    topk_lp = torch.zeros(B, max_new_tokens, k, device=dev)
    length = torch.full((R,), max_new_tokens, dtype=torch.long, device=dev)
    reason = ["max_tokens"] * R
    active = torch.arange(R, device=dev)  # original row index of each batch row
    n_greedy = B

    for step in range(max_new_tokens):
        logp = torch.log_softmax(logits, dim=-1)
        chosen = torch.empty(active.shape[0], dtype=torch.long, device=dev)
        g = n_greedy
        if g:
            lg = logp[:g]
            chosen[:g] = lg.argmax(-1)
            ent_out[active[:g], step] = -(lg.exp() * lg).sum(-1)
            tv, ti = lg.topk(k, dim=-1)
            topk_ids[active[:g], step] = ti
            topk_lp[active[:g], step] = tv
        if active.shape[0] > g:
            sl = logits[g:]
            if temperature <= 0:
                chosen[g:] = sl.argmax(-1)
            else:
                chosen[g:] = _nucleus_sample(torch.softmax(sl / temperature, dim=-1), uniforms[active[g:], step], top_p)
        out_ids[active, step] = chosen
        out_lp[active, step] = logp.gather(1, chosen[:, None])[:, 0]
        done = stop_mask[chosen]
        if stop_newline:
            nl = newline_mask[chosen] & ~done
            for r in active[nl].tolist():
                reason[r] = "stop_string"
            done = done | nl
        for r in active[stop_mask[chosen]].tolist():
            reason[r] = "eos"
        length[active[done]] = step + 1
        if step == max_new_tokens - 1:
            break
        keep = ~done
        if not bool(keep.any()):
            break
        if not bool(keep.all()):
            idx = keep.nonzero()[:, 0]
            cache.reorder_cache(idx)
            attn, pos, chosen, active = attn[idx], pos[idx], chosen[idx], active[idx]
            n_greedy = int(keep[:n_greedy].sum())
        attn = torch.cat([attn, attn.new_ones(attn.shape[0], 1)], dim=1)
        pos = pos + 1
        if capture is not None:
            capture.begin_step(n_greedy, row_q[active])
        out = model(
            input_ids=chosen[:, None],
            attention_mask=attn,
            position_ids=pos[:, None],
            past_key_values=cache,
            use_cache=True,
        )
        logits = out.logits[:, -1, :].float()
    if capture is not None:
        capture.phase = "off"

    out_ids, out_lp, length = out_ids.cpu(), out_lp.cpu(), length.cpu()
    ent_out, topk_ids, topk_lp = ent_out.cpu(), topk_ids.cpu(), topk_lp.cpu()
    rows = []
    for r in range(R):
        L = int(length[r])
        ids = out_ids[r, :L].tolist()
        lps = out_lp[r, :L].tolist()
        fed = L - 1  # every chosen token but the last was fed back to the model
        if reason[r] == "eos" or (reason[r] == "stop_string" and not tok.decode(ids[-1:]).split("\n")[0].strip()):
            ids, lps = ids[:-1], lps[:-1]
        rows.append(_Row(ids, lps, reason[r], min(fed, len(ids))))
    stats = {
        "prompt_lengths": prompt_lengths,
        "entropy": ent_out,
        "topk_ids": topk_ids,
        "topk_lp": topk_lp,
    }
    samples = [[rows[B + i * n + j] for j in range(n)] for i in range(B)]
    return rows[:B], stats, samples


def _answer_text(tok: Any, row: _Row) -> str:
    text = tok.decode(row.token_ids, skip_special_tokens=True)
    if row.stop_reason == "stop_string":
        text = text.split("\n")[0]
    return text.strip()


def _first_token_ids(tok: Any, words: tuple[str, ...]) -> list[int]:
    ids = {tuple(tok.encode(w, add_special_tokens=False))[:1] for w in words}
    return sorted({i[0] for i in ids if i})


def p_true_batch(lm: Any, questions: list[Question], answers: list[str]) -> list[float]:
    """P(True) of each proposed answer, normalised over the True/Yes and False/No tokens."""
    import torch

    texts = [prompts.format_p_true(lm.tokenizer, lm.prompt_format, q.text, a) for q, a in zip(questions, answers)]
    enc = lm.tokenizer(
        texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=lm.prompt_format != "chat"
    )
    attn = enc["attention_mask"].to(lm.device)
    out = lm.model(
        input_ids=enc["input_ids"].to(lm.device),
        attention_mask=attn,
        position_ids=(attn.cumsum(-1) - 1).clamp_min(0),
        use_cache=False,
        logits_to_keep=1,
    )
    probs = torch.softmax(out.logits[:, -1, :].float(), dim=-1)
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


def verbal_confidence_batch(lm: Any, questions: list[Question], answers: list[str]) -> list[tuple[float | None, str]]:
    texts = [
        prompts.format_verbal_confidence(lm.tokenizer, lm.prompt_format, q.text, a) for q, a in zip(questions, answers)
    ]
    rows, _, _ = _decode_batch(lm, texts, max_new_tokens=8, top_k=1, stop_newline=False)
    out = []
    for row in rows:
        raw = _answer_text(lm.tokenizer, row)
        out.append((parse_confidence(raw), raw))
    return out


def generate(lm: Any, questions: list[Question], config: GenerationConfig | None = None, *, progress: bool = True) -> list[Generation]:
    """Answer each question: greedy answer + ``config.n_samples`` samples, with capture.

    ``lm`` is a :class:`nescio.models.LoadedModel`. Returns one :class:`Generation` per
    question, in input order. Questions are batched by prompt length
    (``config.batch_size``); left padding does not change results. Captures
    (``config.capture``) are read in the same forward passes as the greedy answer.
    ``config.p_true`` / ``config.verbal_confidence`` add one reflexive pass each.
    """
    import torch
    from tqdm.auto import tqdm

    config = config or GenerationConfig()
    if config.activation_dtype not in ("float16", "float32"):
        raise NescioError(f"activation_dtype {config.activation_dtype!r} not supported; accepted: float16, float32")
    if config.batch_size < 1 or config.max_new_tokens < 1:
        raise NescioError("batch_size and max_new_tokens must be at least 1")
    questions = list(questions)
    if not questions:
        return []
    prompt_texts = [lm.format_prompt(q.text) for q in questions]
    lengths = [len(lm.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompt_texts]
    order = sorted(range(len(questions)), key=lambda i: (lengths[i], i))
    results: list[Generation | None] = [None] * len(questions)
    was_training = lm.model.training
    lm.model.eval()
    bar = tqdm(total=len(questions), disable=not progress, desc="generating", unit="q")
    try:
        with torch.inference_mode():
            for start in range(0, len(order), config.batch_size):
                idx = order[start : start + config.batch_size]
                batch_q = [questions[i] for i in idx]
                batch_p = [prompt_texts[i] for i in idx]
                for i, g in zip(idx, _generate_batch(lm, batch_q, batch_p, config)):
                    results[i] = g
                bar.update(len(idx))
    finally:
        bar.close()
        lm.model.train(was_training)
    return results  # type: ignore[return-value]


def _generate_batch(lm: Any, questions: list[Question], prompt_texts: list[str], config: GenerationConfig) -> list[Generation]:
    seeds = [[_seed_for(config.seed, q.id, j) for j in range(config.n_samples)] for q in questions]
    kwargs = dict(
        max_new_tokens=config.max_new_tokens,
        top_k=config.top_k,
        stop_newline=lm.prompt_format == "fewshot",
        n_samples=config.n_samples,
        temperature=config.temperature,
        top_p=config.top_p,
        sample_seeds=seeds,
        questions=questions,
    )
    if config.capture:
        with ActivationCapture(lm, config.capture) as cap:
            rows, stats, samples = _decode_batch(lm, prompt_texts, capture=cap, **kwargs)
            acts = cap.results([r.fed for r in rows], config.activation_dtype)
    else:
        rows, stats, samples = _decode_batch(lm, prompt_texts, **kwargs)
        acts = [{} for _ in rows]
    tok = lm.tokenizer
    answers = [_answer_text(tok, r) for r in rows]
    p_true = p_true_batch(lm, questions, answers) if config.p_true else [None] * len(rows)
    verbal = verbal_confidence_batch(lm, questions, answers) if config.verbal_confidence else [(None, None)] * len(rows)
    prompt_counts = stats["prompt_lengths"]
    gens = []
    for i, (q, row) in enumerate(zip(questions, rows)):
        n = len(row.token_ids)
        gens.append(
            Generation(
                question=q,
                prompt=prompt_texts[i],
                text=answers[i],
                token_ids=tuple(row.token_ids),
                token_logprobs=tuple(row.token_logprobs),
                token_entropies=tuple(stats["entropy"][i, :n].tolist()),
                top_k_ids=tuple(tuple(t) for t in stats["topk_ids"][i, :n].tolist()),
                top_k_logprobs=tuple(tuple(t) for t in stats["topk_lp"][i, :n].tolist()),
                stop_reason=row.stop_reason,
                samples=tuple(
                    Sample(_answer_text(tok, s), tuple(s.token_ids), tuple(s.token_logprobs)) for s in samples[i]
                ),
                activations=acts[i],
                prompt_token_count=prompt_counts[i],
                p_true=p_true[i],
                verbal_confidence=verbal[i][0],
                verbal_confidence_text=verbal[i][1],
            )
        )
    return gens
