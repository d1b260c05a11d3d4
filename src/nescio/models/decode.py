"""Batched decoding as steps: ``prefill`` → ``decode_step`` … → finished rows.

A batch has R decode *rows*: for each prompt one greedy row (optional; it records the
entropy and top-k alternatives of every step) and ``n_samples`` sampled rows. ::

    prompts = encode_prompts(lm, [lm.format_prompt(q) for q in texts])
    state = prefill(lm, prompts, n_samples=2, seeds=[[1, 2]] * len(prompts), max_new_tokens=24)
    for step in decode_steps(lm, state):        # one new token per unfinished row
        for row, token in zip(step.rows, step.token_ids):
            ...                                  # stream it
        for done in step.finished:               # rows finish independently
            ...                                  # a DecodedRow: token ids, log-probs, stop reason
    rows = state.results()                       # every row, in row order

``prefill`` runs the prompt prefix all prompts share once (chat template + system prompt,
or few-shot examples) and copies its KV cache to every row, then one forward over the
left-padded suffixes (attention mask and position ids make padding invisible). For
sliding-window models whose padded rows can reach past the window, the padding goes in front
of the prefix instead (``_front_padded``), since their window counts cache slots.
``decode_step`` feeds the tokens chosen by the previous step (one forward), chooses one
token per unfinished row, and drops finished rows from the KV cache. Sampled row *j* of
prompt *i* draws its uniforms from ``torch.Generator().manual_seed(seeds[i][j])``, so a
sample does not depend on the batch it runs in. Log-probs are under the untempered model
distribution. ``prefill``/``decode_step`` run under ``torch.inference_mode`` themselves;
the caller puts the model in eval mode (``generate`` and ``sample_completions`` do).

Capture plugs in through :class:`DecodeCapture` (three calls: ``prefill``, ``step``,
``close``); :class:`nescio.models.capture.ActivationCapture` implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Protocol, Sequence

from nescio.models.sampling import nucleus_sample
from nescio.models.tokens import CHAT_END_TOKENS, Prompt, encode_prompts, token_masks

__all__ = [
    "CHAT_END_TOKENS", "DecodeCapture", "DecodeState", "DecodedRow", "Prompt", "StepOutput", "decode", "decode_step",
    "decode_steps", "encode_prompts", "prefill", "token_masks",
]

if TYPE_CHECKING:
    import torch

    from nescio.models.load import LoadedModel

SHARED_PREFIX_MIN_TOKENS = 8
PROMPT_POOLED = ("prompt_mean", "entity_last")  # capture positions the shared-prefix shortcut would hide


class DecodeCapture(Protocol):
    """What the decoder tells a capture. Hooks on the model read the forward passes that follow each call."""

    positions: frozenset[str]  # positions it records; prompt-pooled ones switch the shared prefix off

    def prefill(self, prompt_mask: torch.Tensor, entity_index: torch.Tensor) -> None:
        """The next forward is the prefill: ``prompt_mask`` [B, S] (1 = prompt token), ``entity_index`` [B]."""

    def step(self, n_greedy: int, greedy_prompts: torch.Tensor) -> None:
        """The next forward is a decode step whose first ``n_greedy`` rows are greedy rows of prompts ``greedy_prompts`` [n_greedy]."""

    def close(self) -> None:
        """Decoding ended: record nothing more."""


# ---------------------------------------------------------------- outputs


@dataclass(frozen=True)
class DecodedRow:
    """One finished row. ``token_ids`` exclude a final stop token (EOS / end of turn, or a bare
    newline for few-shot prompts), which is kept in ``stop_token_id`` / ``stop_logprob``.
    ``n_fed``: answer tokens fed back to the model (rows of the ``answer`` capture).
    ``token_entropies`` / ``top_k_*`` are filled for greedy rows only."""

    row: int
    prompt: int
    sample: int | None  # None for the greedy row
    token_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]
    stop_reason: str  # "eos" | "stop_string" | "max_tokens"
    n_fed: int
    stop_token_id: int | None = None
    stop_logprob: float | None = None
    token_entropies: tuple[float, ...] = ()
    top_k_ids: tuple[tuple[int, ...], ...] = ()
    top_k_logprobs: tuple[tuple[float, ...], ...] = ()


@dataclass(frozen=True)
class StepOutput:
    """One decode step: the token each unfinished row chose (stop tokens included) and the rows it finished."""

    step: int
    rows: tuple[int, ...]
    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...]
    finished: tuple[DecodedRow, ...]


@dataclass
class _RowBuffer:
    prompt: int
    sample: int | None
    max_new_tokens: int
    ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    entropies: list[float] = field(default_factory=list)
    top_ids: list[list[int]] = field(default_factory=list)
    top_lps: list[list[float]] = field(default_factory=list)


# ---------------------------------------------------------------- state


@dataclass
class DecodeState:
    """What lies between two decode steps. Batch tensors cover the A unfinished rows only,
    greedy rows first; ``active[a]`` is the row index of batch row ``a``."""

    cache: object  # transformers DynamicCache over the A active rows
    logits: torch.Tensor | None  # [A, V] next-token logits (None while ``pending`` is unfed)
    pending: torch.Tensor | None  # [A] tokens chosen by the last step, fed by the next one
    attn: torch.Tensor  # [A, T] attention mask over cached positions
    pos: torch.Tensor  # [A] position id of the last fed token
    active: torch.Tensor  # [A] row index of each batch row
    n_greedy: int  # the first n_greedy batch rows are greedy rows
    row_prompt: torch.Tensor  # [R] prompt index of each row
    uniforms: torch.Tensor  # [R, max_new_tokens] per-row uniforms (zeros for greedy rows)
    buffers: list[_RowBuffer]
    prompt_lengths: list[int]
    temperature: float
    top_p: float
    top_k: int
    stop_newline: bool
    stop_mask: torch.Tensor  # [V] bool: tokens that end a row
    newline_mask: torch.Tensor  # [V] bool: tokens holding a newline
    tokenizer: object
    capture: DecodeCapture | None = None
    step: int = 0
    finished: dict[int, DecodedRow] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return len(self.finished) == len(self.buffers)

    def results(self) -> list[DecodedRow]:
        """Every row, in row order (greedy rows of all prompts first, then samples prompt-major)."""
        if not self.done:
            raise RuntimeError("decoding has not finished; run decode_step until state.done")
        return [self.finished[r] for r in range(len(self.buffers))]


def _shared_prefix(ids: list[tuple[int, ...]]) -> int:
    limit = min(len(x) for x in ids) - 1
    first, p = ids[0], 0
    while p < limit and all(row[p] == first[p] for row in ids):
        p += 1
    return p if p >= SHARED_PREFIX_MIN_TOKENS else 0


def _sliding_window(cache) -> int | None:
    """The smallest sliding window among the cache's layers; None when every layer is full."""
    return min((l.sliding_window for l in getattr(cache, "layers", ()) if getattr(l, "is_sliding", False)), default=None)


def _front_padded(cache, prefix_cache, pads: list[int]) -> None:
    """Fill the empty ``cache`` with the shared prefix's keys/values laid out for row i as
    ``pads[i]`` masked zeros followed by the prefix's first ``P - pads[i]`` tokens.

    Sliding-window masks and caches count positions in cache slots, not position ids, so
    padding between the prefix and a suffix narrows the row's window by its pad count. With
    the padding in front, as in a plain left-padded batch, slot and position differ by a
    constant per row and the window is exact; the prefix tokens pushed out of the cache are
    fed again by the batch forward (same tokens, same positions). ``prefix_cache`` must hold
    every prefix token (full layers), since a sliding layer keeps only the last window - 1."""
    import torch

    def shifted(x):  # [1, H, P, D] -> [B, H, P, D]
        P = x.shape[2]
        return torch.cat([torch.cat([x.new_zeros(1, x.shape[1], min(k, P), x.shape[3]), x[:, :, :P - min(k, P)]], 2)
                          for k in pads])

    for i, layer in enumerate(prefix_cache.layers):
        cache.update(shifted(layer.keys), shifted(layer.values), i)


def prefill(
    lm: LoadedModel,
    prompts: Sequence[Prompt],
    *,
    max_new_tokens: int,
    greedy: bool = True,
    n_samples: int = 0,
    seeds: Sequence[Sequence[int]] | None = None,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 10,
    stop_newline: bool | None = None,
    capture: DecodeCapture | None = None,
) -> DecodeState:
    """Run the prompts through the model; return the state before the first decode step.

    Rows: one greedy row per prompt when ``greedy`` (rows 0..B-1), then ``n_samples`` sampled
    rows per prompt, prompt-major; ``seeds[i][j]`` seeds sample j of prompt i.
    ``stop_newline`` (default: few-shot prompts) ends a row at a token holding a newline.
    """
    import torch
    from transformers import DynamicCache

    from nescio.types import NescioError

    B = len(prompts)
    if B == 0 or max_new_tokens < 1 or (not greedy and n_samples < 1):
        raise NescioError("prefill needs at least one prompt, one row per prompt and max_new_tokens >= 1")
    if n_samples and (seeds is None or len(seeds) != B or any(len(s) < n_samples for s in seeds)):
        raise NescioError(f"prefill needs seeds[i][j] for each of the {B} prompts and {n_samples} samples")
    if any(not p.ids for p in prompts):
        raise NescioError("prefill got an empty prompt; every prompt needs at least one token")
    model, tok = lm.model, lm.tokenizer
    dev = torch.device(lm.device)
    stop_mask, newline_mask = token_masks(lm)
    positions = capture.positions if capture is not None else frozenset()
    ids = [p.ids for p in prompts]
    P = _shared_prefix(ids) if B > 1 and not positions.intersection(PROMPT_POOLED) else 0
    with torch.inference_mode():
        cache = DynamicCache(config=model.config)
        S = max(len(x) for x in ids) - P
        pads = [S - (len(x) - P) for x in ids]
        window = _sliding_window(cache)
        # pads after the prefix shift a padded row's sliding window (it is kept by cache index):
        # past the window, such rows take the padding in front of the prefix instead (see _front_padded)
        front = bool(P) and window is not None and max(pads) > 0 and P + S + max_new_tokens > window
        if P:
            prefix_cache = DynamicCache() if front else cache  # full layers: a sliding layer keeps too little
            model(
                input_ids=torch.tensor([ids[0][:P]], device=dev),
                position_ids=torch.arange(P, device=dev)[None],
                past_key_values=prefix_cache,
                use_cache=True,
                logits_to_keep=1,
            )
            if front:
                _front_padded(cache, prefix_cache, pads)
            else:
                cache.batch_repeat_interleave(B)
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
        if front:  # row i: [pad] * pads[i] + prompt; the cache holds its first P tokens, the forward the rest
            full_mask = torch.tensor([[0] * p + [1] * len(x) for p, x in zip(pads, ids)], device=dev)  # [B, P+S]
            input_ids = torch.tensor([([pad_id] * p + list(x))[P:] for p, x in zip(pads, ids)], device=dev)
            suffix_mask, attn = full_mask[:, P:], full_mask
            position_ids = (full_mask.cumsum(-1) - 1).clamp_min(0)[:, P:]
        else:  # row i: prefix + [pad] * pads[i] + suffix
            suffixes = [list(row[P:]) for row in ids]
            input_ids = torch.tensor([[pad_id] * p + x for p, x in zip(pads, suffixes)], device=dev)  # [B, S]
            suffix_mask = torch.tensor([[0] * p + [1] * len(x) for p, x in zip(pads, suffixes)], device=dev)  # [B, S]
            attn = torch.cat([torch.ones(B, P, dtype=suffix_mask.dtype, device=dev), suffix_mask], dim=1)  # [B, P+S]
            position_ids = (P + suffix_mask.cumsum(-1) - 1).clamp_min(0)  # [B, S]
        if capture is not None:
            use_entity = "entity_last" in positions  # (then P == 0: the whole prompt is in the batch)
            ent = [pad + p.entity_token if use_entity and p.entity_token is not None else S - 1 for p, pad in zip(prompts, pads)]
            capture.prefill(suffix_mask, torch.tensor(ent, dtype=torch.long, device=dev))
        out = model(
            input_ids=input_ids,
            attention_mask=attn,
            position_ids=position_ids,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        logits = out.logits[:, -1, :].float()  # [B, V]

        n = n_samples
        greedy_rows = torch.arange(B) if greedy else torch.zeros(0, dtype=torch.long)
        row_prompt = torch.cat([greedy_rows, torch.arange(B).repeat_interleave(n)]).to(dev)  # [R]
        R = row_prompt.shape[0]
        if n or not greedy:
            cache.reorder_cache(row_prompt)
            logits, attn = logits[row_prompt], attn[row_prompt]
        pos = position_ids[row_prompt, -1]
        uniforms = torch.zeros(R, max_new_tokens)
        g0 = len(greedy_rows)
        for r in range(B * n):
            g = torch.Generator().manual_seed(int(seeds[r // n][r % n]))
            uniforms[g0 + r] = torch.rand(max_new_tokens, generator=g)
    buffers = [_RowBuffer(i, None, max_new_tokens) for i in range(g0)]
    buffers += [_RowBuffer(r // n, r % n, max_new_tokens) for r in range(B * n)]
    return DecodeState(
        cache=cache,
        logits=logits,
        pending=None,
        attn=attn,
        pos=pos,
        active=torch.arange(R, device=dev),
        n_greedy=g0,
        row_prompt=row_prompt,
        uniforms=uniforms.to(dev),
        buffers=buffers,
        prompt_lengths=[len(x) for x in ids],
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        stop_newline=lm.prompt_format == "fewshot" if stop_newline is None else stop_newline,
        stop_mask=stop_mask.to(dev),
        newline_mask=newline_mask.to(dev),
        tokenizer=tok,
        capture=capture,
    )


# ---------------------------------------------------------------- one step


def _finish(state: DecodeState, row: int, reason: str) -> DecodedRow:
    buf = state.buffers[row]
    ids, lps = list(buf.ids), list(buf.logprobs)
    fed = len(ids) - 1  # every chosen token but the last was fed back to the model
    stop_id = stop_lp = None
    if reason == "eos" or (reason == "stop_string" and not state.tokenizer.decode(ids[-1:]).split("\n")[0].strip()):
        stop_id, stop_lp = ids.pop(), lps.pop()
    n = len(ids)
    greedy = buf.sample is None
    return DecodedRow(
        row=row,
        prompt=buf.prompt,
        sample=buf.sample,
        token_ids=tuple(ids),
        token_logprobs=tuple(lps),
        stop_reason=reason,
        n_fed=min(fed, n),
        stop_token_id=stop_id,
        stop_logprob=stop_lp,
        token_entropies=tuple(buf.entropies[:n]) if greedy else (),
        top_k_ids=tuple(tuple(t) for t in buf.top_ids[:n]) if greedy else (),
        top_k_logprobs=tuple(tuple(t) for t in buf.top_lps[:n]) if greedy else (),
    )


def _feed(lm: LoadedModel, s: DecodeState) -> None:
    """One forward over the tokens the last step chose; sets ``s.logits``."""
    import torch

    s.attn = torch.cat([s.attn, s.attn.new_ones(s.attn.shape[0], 1)], dim=1)
    s.pos = s.pos + 1
    if s.capture is not None:
        s.capture.step(s.n_greedy, s.row_prompt[s.active])
    out = lm.model(
        input_ids=s.pending[:, None],
        attention_mask=s.attn,
        position_ids=s.pos[:, None],
        past_key_values=s.cache,
        use_cache=True,
    )
    s.logits, s.pending = out.logits[:, -1, :].float(), None


def decode_step(lm: LoadedModel, state: DecodeState) -> StepOutput:
    """Feed last step's tokens, choose one token per unfinished row, retire finished rows."""
    import torch

    s = state
    if s.done:
        raise RuntimeError("decode_step on a finished DecodeState")
    with torch.inference_mode():
        if s.pending is not None:
            _feed(lm, s)
        g = s.n_greedy
        logp = torch.log_softmax(s.logits, dim=-1)  # [A, V]
        chosen = torch.empty(s.active.shape[0], dtype=torch.long, device=logp.device)  # [A]
        rows = s.active.tolist()
        if g:
            lg = logp[:g]
            chosen[:g] = lg.argmax(-1)
            ent = (-(lg.exp() * lg).sum(-1)).tolist()
            tv, ti = lg.topk(min(s.top_k, lg.shape[-1]), dim=-1)
            for r, e, ids_, lps_ in zip(rows[:g], ent, ti.tolist(), tv.tolist()):
                buf = s.buffers[r]
                buf.entropies.append(e)
                buf.top_ids.append(ids_)
                buf.top_lps.append(lps_)
        if len(rows) > g:
            sl = s.logits[g:]
            if s.temperature <= 0:
                chosen[g:] = sl.argmax(-1)
            else:
                steps = torch.tensor([len(s.buffers[r].ids) for r in rows[g:]], device=s.uniforms.device)
                u = s.uniforms[s.active[g:], steps]  # each row's own step (rows joined later start later)
                chosen[g:] = nucleus_sample(torch.softmax(sl / s.temperature, dim=-1), u, s.top_p)
        lp = logp.gather(1, chosen[:, None])[:, 0]
        stop = s.stop_mask[chosen]
        done = stop
        if s.stop_newline:
            done = done | (s.newline_mask[chosen] & ~stop)
        ids_l, lp_l, stop_l, done_l = chosen.tolist(), lp.tolist(), stop.tolist(), done.tolist()
        finished, keep_l = [], []
        for r, t, v, is_stop, is_done in zip(rows, ids_l, lp_l, stop_l, done_l):
            buf = s.buffers[r]
            buf.ids.append(t)
            buf.logprobs.append(v)
            if is_done or len(buf.ids) >= buf.max_new_tokens:
                reason = "eos" if is_stop else ("stop_string" if is_done else "max_tokens")
                s.finished[r] = _finish(s, r, reason)
                finished.append(s.finished[r])
            keep_l.append(r not in s.finished)
        s.step += 1
        if s.done:
            s.logits = None
            s.cache = None
            if s.capture is not None:
                s.capture.close()
        else:
            keep = torch.tensor(keep_l, device=done.device)
            if not all(keep_l):
                idx = keep.nonzero()[:, 0]
                s.cache.reorder_cache(idx)
                s.attn, s.pos, chosen, s.active = s.attn[idx], s.pos[idx], chosen[idx], s.active[idx]
                s.n_greedy = int(keep[:g].sum())
            s.pending, s.logits = chosen, None
    return StepOutput(s.step - 1, tuple(rows), tuple(ids_l), tuple(lp_l), tuple(finished))


def decode_steps(lm: LoadedModel, state: DecodeState) -> Iterator[StepOutput]:
    """``decode_step`` until every row has finished."""
    while not state.done:
        yield decode_step(lm, state)


def decode(lm: LoadedModel, prompts: Sequence[Prompt], **kwargs) -> tuple[list[DecodedRow], list[int]]:
    """Prefill and decode to the end; returns (rows in row order, prompt token counts)."""
    state = prefill(lm, prompts, **kwargs)
    for _ in decode_steps(lm, state):
        pass
    return state.results(), state.prompt_lengths
