"""The Backend seam: the only code that touches weights and tokenizers.

Everything above it (signals, the guard, retrieval, the answering pipeline, the server,
``nescio score``) asks a :class:`Backend` for prompts, generations, samples and teacher-forced
scores, never for ``lm.model`` / ``lm.tokenizer``. A new engine is one new class that
passes the conformance test (``tests/test_backend_conformance.py``) and is registered in
:data:`BACKENDS`; nothing above it changes. ::

    backend = HFBackend.load("smollm2-135m-instruct")
    gens = backend.generate(questions, guard.generation_config_)
    same = backend.score(questions, [g.text for g in gens], guard.generation_config_)  # teacher forcing

:class:`HFBackend` wraps a :class:`~nescio.models.load.LoadedModel` (Hugging Face
transformers, any device and dtype) and nescio's step decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

from nescio.types import Generation, GenerationConfig, NescioError, Question

if TYPE_CHECKING:
    from nescio.models.generation import CompletionGroup
    from nescio.models.load import LoadedModel
    from nescio.models.tokens import Prompt


@runtime_checkable
class Backend(Protocol):
    """What nescio needs of an engine. ``generate`` and ``score`` return one
    :class:`~nescio.types.Generation` per question, in input order, with what ``config``
    asks for (token log-probs, entropies, top-k, samples, captured activations)."""

    model_id: str  # stable identity of the weights (guards refuse another)
    device: str
    dtype: str  # "float32", "bfloat16", …
    prompt_format: str  # "chat" | "fewshot"

    def render(self, question: Question | str) -> str:
        """The full prompt text the model sees for ``question`` (chat template or few-shot)."""

    def generate(self, questions: Sequence[Question], config: GenerationConfig | None = None, *,
                 progress: bool = False) -> list[Generation]:
        """The model's own answers (greedy + ``config.n_samples`` samples), with captures."""

    def score(self, questions: Sequence[Question], answers: Sequence[str], config: GenerationConfig | None = None, *,
              token_ids: Sequence[Sequence[int] | None] | None = None,
              stop_reasons: Sequence[str | None] | None = None, progress: bool = False) -> list[Generation]:
        """Teacher forcing: the internals of given answers, as if the model had written them."""

    def sample(self, prompts: Sequence[str], n: int, **kwargs: Any) -> list[CompletionGroup]:
        """``n`` sampled completions of each full prompt string (RL, sampling signals)."""

    def decode(self, token_ids: Sequence[int]) -> str:
        """The text of ``token_ids`` (special tokens skipped)."""

    def token_text(self, token_id: int) -> str:
        """The text of one token as the vocabulary spells it (special tokens included)."""


@dataclass
class HFBackend:
    """A Hugging Face transformers model behind the :class:`Backend` seam."""

    lm: LoadedModel

    @classmethod
    def load(cls, spec: str, **kwargs: Any) -> HFBackend:
        """``load_model(spec, **kwargs)`` behind the seam (embedded names, HF dirs, GGUF files)."""
        from nescio import models  # through the package: the name tests and plugins replace

        return cls(models.load_model(spec, **kwargs))

    # identity -------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return str(self.lm.model_id)

    @property
    def spec(self) -> str:
        return self.lm.spec

    @property
    def device(self) -> str:
        return str(self.lm.device)

    @property
    def dtype(self) -> str:
        """The dtype the weights were loaded in (``float32``, ``bfloat16``, ``float16``)."""
        return str(self.lm.dtype or getattr(self.lm.model, "dtype", "float32")).removeprefix("torch.")

    @property
    def device_kind(self) -> str:
        """``cpu``, ``cuda`` or ``mps``."""
        from nescio.models.devices import device_kind

        return device_kind(self.device)

    @property
    def prompt_format(self) -> str:
        return self.lm.prompt_format

    @property
    def prompt(self) -> str:
        """The named prompt (``default``, ``honest``, ``stepwise``) the model is asked with."""
        return self.lm.prompt

    @property
    def n_layers(self) -> int:
        return self.lm.n_layers

    def run_info(self, config: GenerationConfig):
        return self.lm.run_info(config)

    # prompts --------------------------------------------------------------
    def render(self, question: Question | str) -> str:
        return self.lm.format_prompt(question)

    def render_chat(self, messages: list[dict]) -> str:
        """A whole conversation through the chat template (system-role fallback included)."""
        from nescio.models.prompts import render_chat

        return render_chat(self.lm.tokenizer, messages)

    def count_tokens(self, text: str) -> int:
        """Tokens of a full prompt string as the decoder feeds it."""
        return len(self.encode([text])[0].ids)

    @property
    def max_positions(self) -> int | None:
        return getattr(self.lm.model.config, "max_position_embeddings", None)

    # model passes ---------------------------------------------------------
    def encode(self, prompts: Sequence[str]) -> list[Prompt]:
        """Full prompt texts tokenised once (hand them to :meth:`generate` as ``prompts``)."""
        from nescio.models.tokens import encode_prompts

        return encode_prompts(self.lm, list(prompts))

    def generate(self, questions: Sequence[Question], config: GenerationConfig | None = None, *,
                 progress: bool = False, prompts: Sequence[str | Prompt] | None = None) -> list[Generation]:
        """``prompts``: ready-made full prompts (a server's chat template output), as texts or
        already :meth:`encode`-d, instead of :meth:`render`'s."""
        from nescio.models.generation import generate
        from nescio.models.tokens import encode_prompts

        encoded = None
        if prompts is not None:
            if len(prompts) != len(questions):
                raise NescioError(f"generate got {len(prompts)} prompts for {len(questions)} questions")
            encoded = list(prompts)
            texts = [i for i, p in enumerate(encoded) if isinstance(p, str)]
            if texts:
                fresh = encode_prompts(self.lm, [encoded[i] for i in texts],
                                       [(questions[i].text, questions[i].entity) for i in texts])
                for i, p in zip(texts, fresh):
                    encoded[i] = p
        return generate(self.lm, questions, config, progress=progress, prompts=encoded)

    def score(self, questions: Sequence[Question], answers: Sequence[str], config: GenerationConfig | None = None, *,
              token_ids: Sequence[Sequence[int] | None] | None = None,
              stop_reasons: Sequence[str | None] | None = None, progress: bool = False,
              prompts: Sequence[str | Prompt] | None = None) -> list[Generation]:
        """``prompts``: the full prompts the answers followed (as in :meth:`generate`)."""
        from nescio.models.teacher import score

        return score(self.lm, questions, answers, config, token_ids=token_ids, stop_reasons=stop_reasons,
                     progress=progress, prompts=prompts)

    def decode(self, token_ids: Sequence[int]) -> str:
        return self.lm.tokenizer.decode(list(token_ids), skip_special_tokens=True)

    def token_text(self, token_id: int) -> str:
        return self.lm.tokenizer.decode([int(token_id)])

    def sample(self, prompts: Sequence[str], n: int, **kwargs: Any) -> list[CompletionGroup]:
        from nescio.models.generation import sample_completions

        return sample_completions(self.lm, prompts, n, **kwargs)


from nescio.models.upstream import UpstreamBackend  # noqa: E402 - it imports nothing of this module

BACKENDS: dict[str, type] = {"hf": HFBackend, "upstream": UpstreamBackend}
"""Registered backends by name (the conformance test runs over each)."""


def as_backend(model: Any) -> Backend:
    """A Backend from a Backend, a LoadedModel or a model spec string."""
    from nescio.models.load import LoadedModel

    if isinstance(model, str):
        return HFBackend.load(model)
    if isinstance(model, LoadedModel):
        return HFBackend(model)
    if isinstance(model, Backend):
        return model
    raise NescioError(f"model must be a Backend, a LoadedModel or a model spec string, got {type(model).__name__}")
