"""Loading a model: embedded names, local HF directories, GGUF files, hub ids.

``load_model(spec)`` returns a :class:`LoadedModel`: the transformers model and
tokenizer plus what the rest of nescio needs to know about them (a stable
``model_id`` that guards check, the architecture, the prompt format).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nescio.models import prompts
from nescio.types import GenerationConfig, NescioError, RunInfo


@dataclass
class LoadedModel:
    """A loaded causal LM with its tokenizer and identity.

    ``model_id`` is stable across machines for the same weights (``gguf-sha256:<hex>``
    for GGUF files, the resolved path or hub id otherwise); a guard fitted for one
    ``model_id`` refuses another. ``prompt_format`` is ``"chat"`` (chat template) or
    ``"fewshot"`` (short "Question: … Answer:" prompt, for base models).
    """

    model: Any
    tokenizer: Any
    spec: str
    model_id: str
    architecture: str
    prompt_format: str
    n_layers: int = 0
    hidden_size: int = 0
    intermediate_size: int = 0
    device: str = "cpu"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.prompt_format not in prompts.PROMPT_FORMATS:
            raise NescioError(
                f"unknown prompt format {self.prompt_format!r}; accepted: {', '.join(prompts.PROMPT_FORMATS)}"
            )
        cfg = getattr(self.model, "config", None)
        cfg = getattr(cfg, "text_config", None) or cfg
        if cfg is not None:
            self.n_layers = self.n_layers or int(cfg.num_hidden_layers)
            self.hidden_size = self.hidden_size or int(cfg.hidden_size)
            self.intermediate_size = self.intermediate_size or int(getattr(cfg, "intermediate_size", 0) or 0)
        if self.tokenizer is not None and self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    @property
    def prompt_template(self) -> str:
        return prompts.prompt_template(self.prompt_format)

    def format_prompt(self, question_text: str) -> str:
        """The prompt string the model sees for one question."""
        return prompts.format_question(self.tokenizer, self.prompt_format, question_text)

    def run_info(self, config: GenerationConfig) -> RunInfo:
        """Metadata to save beside generations made by this model with ``config``."""
        return RunInfo(
            model=self.spec,
            model_id=self.model_id,
            architecture=self.architecture,
            prompt_format=self.prompt_format,
            prompt_template=self.prompt_template,
            config=config,
        )
