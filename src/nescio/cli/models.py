"""`nescio models` and `nescio generate` (owned by the models area)."""

from __future__ import annotations

from typing import Optional

import typer

from nescio.cli.devices import DEVICE_OPTION, DTYPE_OPTION, apply_placement
from nescio.cli.rag import NO_EVIDENCE_HELP, RAG_HELP, RAG_K_HELP
from nescio.models.embedded import DEFAULT_MODEL


def _parse_capture(text: str):
    """``site:layers:positions``, e.g. ``resid:all:last_prompt,answer_mean``, ``mlp_act:3,7:answer``
    or ``attn_logdiag:middle:answer``."""
    from nescio.types import LAYER_WORDS, CaptureSpec, NescioError

    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise NescioError(f"bad --capture {text!r}; accepted: SITE:LAYERS[:POSITIONS], e.g. resid:all:last_prompt")
    site, layers = parts[0], parts[1]
    try:
        layer_spec = layers if layers in LAYER_WORDS else tuple(int(x) for x in layers.split(","))
    except ValueError:
        raise NescioError(f"bad layers {layers!r} in --capture; accepted: all, middle, or ints like 3,7") from None
    positions = tuple(parts[2].split(",")) if len(parts) == 3 else ("last_prompt",)
    return CaptureSpec(site, layer_spec, positions)


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_cmd() -> None:
        """List the embedded models and what else `--model` accepts."""
        from nescio.models import EMBEDDED_MODELS

        for name, info in EMBEDDED_MODELS.items():
            typer.echo(f"{name}\t{info}")
        typer.echo("also accepted: a local Hugging Face model directory, a .gguf file path, or a hub id (needs network)")

    @app.command("generate")
    def generate_cmd(
        model: str = typer.Option(DEFAULT_MODEL, help="Embedded name, HF dir, GGUF path or hub id."),
        bench: str = typer.Option("builtin:test", help="Questions (builtin, builtin:SPLIT, jsonl:PATH, ...)."),
        out: str = typer.Option("runs/generations", help="Output directory; a rerun resumes from it."),
        max_new_tokens: int = typer.Option(24, help="Answer length limit in tokens."),
        batch_size: int = typer.Option(16, help="Questions per batch."),
        samples: int = typer.Option(0, help="Sampled answers per question (besides the greedy one)."),
        temperature: float = typer.Option(1.0, help="Sampling temperature."),
        seed: int = typer.Option(0, help="Sampling seed."),
        capture: Optional[list[str]] = typer.Option(None, help="SITE:LAYERS[:POSITIONS], repeatable."),
        p_true: bool = typer.Option(False, help="Also ask the model whether its answer is true (one extra pass)."),
        limit: Optional[int] = typer.Option(None, help="Only the first N questions."),
        rag: Optional[str] = typer.Option(None, help=RAG_HELP),
        rag_k: int = typer.Option(4, help=RAG_K_HELP),
        no_evidence: str = typer.Option("closed_book", help=NO_EVIDENCE_HELP),
        prompt: str = typer.Option("default", help="Prompt: default, or honest (tells the model to say I don't know)."),
        h_neurons: Optional[str] = typer.Option(None, help="A saved H-Neuron probe directory whose neurons to scale."),
        neuron_scale: float = typer.Option(1.0, help="Scale the --h-neurons activations (down_proj input) by this factor."),
        device: str = DEVICE_OPTION,
        dtype: str = DTYPE_OPTION,
    ) -> None:
        """Generate answers (with token log-probs and captured activations) and save them resumably."""
        apply_placement(device, dtype)
        from nescio.cli.rag import rag_settings
        from nescio.data import load_questions
        from nescio.rag.retrieve import split_no_evidence
        from nescio.models import generate_resumable, load_model
        from nescio.signals.registry import h_neuron_scaling
        from nescio.types import GenerationConfig, NescioError

        if h_neurons is None and neuron_scale != 1.0:
            raise NescioError("--neuron-scale needs --h-neurons (a saved H-Neuron probe directory)")
        questions = load_questions(bench)[:limit]
        settings = rag_settings(rag, rag_k, no_evidence)
        skipped = []
        if settings is not None:
            questions, skipped = split_no_evidence(settings.attach(questions))
        config = GenerationConfig(
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            n_samples=samples,
            temperature=temperature,
            seed=seed,
            capture=tuple(_parse_capture(c) for c in capture or ()),
            p_true=p_true,
            neuron_scaling=h_neuron_scaling(h_neurons, neuron_scale) if h_neurons else None,
        )
        lm = load_model(model, prompt=prompt)
        gens = generate_resumable(lm, questions, config, out)
        typer.echo(f"{len(gens)} generations in {out} (model {lm.model_id}, prompt format {lm.prompt_format}, "
                   f"{lm.device} {lm.dtype})")
        if skipped:
            typer.echo(f"{len(skipped)} questions abstained: no retrieved passage passed the relevance filter")
