"""A tiny randomly initialised causal LM, built in memory and offline, for tests.

The tokenizer is byte-level (every byte is a token, no merges), built with the
``tokenizers`` library, so any text round-trips and offset mappings work; it has a
small chat template and BOS/EOS/pad tokens. Nothing is read from the hub or disk.
"""

from __future__ import annotations

from nescio.models.load import LoadedModel
from nescio.types import NescioError

TINY_ARCHS = ("llama", "qwen2", "mistral", "gemma3")

_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def tiny_tokenizer():
    """A byte-level ``PreTrainedTokenizerFast`` (about 260 tokens) with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {t: i for i, t in enumerate(specials + alphabet)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        additional_special_tokens=["<|end|>", "<|system|>", "<|user|>", "<|assistant|>"],
    )
    fast.chat_template = _CHAT_TEMPLATE
    return fast


def tiny_model(arch: str = "llama", seed: int = 0, *, n_layers: int = 3, prompt_format: str = "chat",
               dtype: str = "float32") -> LoadedModel:
    """A tiny randomly initialised model (hidden 64, FFN 128) of the given architecture.

    ``arch``: one of ``llama`` (default), ``qwen2``, ``mistral``, ``gemma3``. Deterministic
    given ``seed`` (the weights are drawn in float32, then cast to ``dtype``: ``float32``,
    ``bfloat16`` or ``float16``). Runs on the CPU with SDPA attention, like the real models.
    """
    from nescio.models.devices import check_dtype, torch_dtype

    import torch
    import transformers as tf

    if arch not in TINY_ARCHS:
        raise NescioError(f"unknown tiny architecture {arch!r}; accepted: {', '.join(TINY_ARCHS)}")
    tokenizer = tiny_tokenizer()
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=n_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=0.2,  # peaked next-token distributions, so greedy choices are not near-ties
    )
    config_cls, model_cls = {
        "llama": (tf.LlamaConfig, tf.LlamaForCausalLM),
        "qwen2": (tf.Qwen2Config, tf.Qwen2ForCausalLM),
        "mistral": (tf.MistralConfig, tf.MistralForCausalLM),
        "gemma3": (tf.Gemma3TextConfig, tf.Gemma3ForCausalLM),
    }[arch]
    if arch == "gemma3":
        common.update(head_dim=16, sliding_window=64, query_pre_attn_scalar=16)
    config = config_cls(**common)
    config._attn_implementation = "sdpa"
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = model_cls(config)
    if check_dtype(dtype) == "auto":
        raise NescioError("tiny_model needs a dtype: bfloat16, float16 or float32")
    model = model.to(torch_dtype(dtype)).eval()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=f"tiny-{arch}",
        model_id=f"tiny:{arch}:seed={seed}:layers={n_layers}",
        architecture=arch,
        prompt_format=prompt_format,
        dtype=dtype,
    )
