"""Decoder inputs: prompts tokenised once (:class:`Prompt`, :func:`encode_prompts`) and the
vocabulary masks that stop an answer (:func:`token_masks`). Used by :mod:`nescio.models.decode`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import torch

    from nescio.models.load import LoadedModel

CHAT_END_TOKENS = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "<|endoftext|>")


@dataclass(frozen=True)
class Prompt:
    """A prompt tokenised once: its text, token ids (special tokens as the model sees them)
    and the index into ``ids`` of the last token of the question's entity (``None``: unknown)."""

    text: str
    ids: tuple[int, ...]
    entity_token: int | None = None


def _entity_token(text: str, question: str | None, entity: str | None, offsets: Sequence[tuple[int, int]]) -> int | None:
    if not question or not entity:
        return None
    start_q, pos_in_q = text.rfind(question), question.rfind(entity)
    if start_q < 0 or pos_in_q < 0:
        return None
    e_start = start_q + pos_in_q
    e_end = e_start + len(entity)
    hit = [t for t, (a, b) in enumerate(offsets) if a < e_end and b > e_start and b > a]
    return hit[-1] if hit else None


def encode_prompts(
    lm: LoadedModel, texts: Sequence[str], entities: Sequence[tuple[str, str | None]] | None = None
) -> list[Prompt]:
    """Tokenise ``texts`` once. ``entities[i] = (question text, entity)`` locates the entity
    token through the tokenizer's offset mapping (for the ``entity_last`` capture)."""
    tok = lm.tokenizer
    want_offsets = entities is not None and any(e for _, e in entities) and getattr(tok, "is_fast", False)
    enc = tok(list(texts), add_special_tokens=lm.prompt_format != "chat", return_offsets_mapping=want_offsets)
    out = []
    for i, (text, ids) in enumerate(zip(texts, enc["input_ids"])):
        ent = _entity_token(text, *entities[i], enc["offset_mapping"][i]) if want_offsets else None
        out.append(Prompt(text, tuple(ids), ent))
    return out


def token_masks(lm: LoadedModel) -> tuple[torch.Tensor, torch.Tensor]:
    """Boolean vocab masks [V]: tokens that end the answer (EOS / end of turn), tokens holding a newline."""
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
