"""Loading a model: embedded names, local HF directories, GGUF files, hub ids.

``load_model(spec)`` returns a :class:`LoadedModel`: the transformers model and
tokenizer plus what the rest of nescio needs to know about them (a stable
``model_id`` that guards check, the architecture, the prompt format).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nescio.models import prompts
from nescio.models.devices import Placement, requested_placement, resolve_device_dtype
from nescio.models.embedded import ACCEPTED, DEFAULT_MODEL, EMBEDDED, embedded_gguf_path  # noqa: F401 (re-exported)
from nescio.types import GenerationConfig, NescioError, RunInfo


@dataclass
class LoadedModel:
    """A loaded causal LM with its tokenizer and identity.

    ``model_id`` is stable across machines for the same weights (``gguf-sha256:<hex>``
    for GGUF files, the resolved path or hub id otherwise); a guard fitted for one
    ``model_id`` refuses another. ``prompt_format`` is ``"chat"`` (chat template) or
    ``"fewshot"`` (short "Question: … Answer:" prompt, for base models). ``prompt`` names
    the prompt text (``default`` or ``honest``, see :data:`nescio.models.prompts.PROMPTS`).
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
    prompt: str = "default"
    dtype: str = ""  # "float32", "bfloat16", "float16": what the weights were loaded in (default: the model's)

    def __post_init__(self) -> None:
        if self.prompt_format not in prompts.PROMPT_FORMATS:
            raise NescioError(
                f"unknown prompt format {self.prompt_format!r}; accepted: {', '.join(prompts.PROMPT_FORMATS)}"
            )
        prompts.system_prompt(self.prompt)  # validates the prompt name
        cfg = getattr(self.model, "config", None)
        cfg = getattr(cfg, "text_config", None) or cfg
        if cfg is not None:
            self.n_layers = self.n_layers or int(cfg.num_hidden_layers)
            self.hidden_size = self.hidden_size or int(cfg.hidden_size)
            self.intermediate_size = self.intermediate_size or int(getattr(cfg, "intermediate_size", 0) or 0)
        if self.tokenizer is not None and self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if not self.dtype:
            self.dtype = str(getattr(self.model, "dtype", "float32")).removeprefix("torch.")

    @property
    def prompt_template(self) -> str:
        return prompts.prompt_template(self.prompt_format, self.prompt)

    def format_prompt(self, question) -> str:
        """The prompt string the model sees for one question (text, or a Question: one that
        carries retrieved passages gets the retrieval prompt)."""
        return prompts.format_prompt(self.tokenizer, self.prompt_format, question, self.prompt)

    def run_info(self, config: GenerationConfig) -> RunInfo:
        """Metadata to save beside generations made by this model with ``config``."""
        return RunInfo(
            model=self.spec,
            model_id=self.model_id,
            architecture=self.architecture,
            prompt_format=self.prompt_format,
            prompt_template=self.prompt_template,
            config=config,
            dtype=self.dtype or "float32",
        )


# ---------------------------------------------------------------- load_model

MODEL_IDENTITY_FILE = "nescio_model.json"
MODEL_IDENTITY_VERSION = 1


def read_model_identity(directory: Path) -> dict | None:
    """``nescio_model.json`` of a model directory written by a nescio trainer (its model_id
    names the base model and the adapter hash; its prompt format is the base model's)."""
    import json

    path = Path(directory) / MODEL_IDENTITY_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise NescioError(f"{path}: not valid JSON ({exc})") from None
    if data.get("schema_version") != MODEL_IDENTITY_VERSION or not isinstance(data.get("model_id"), str):
        raise NescioError(f"{path}: schema version {data.get('schema_version')}; this nescio reads version {MODEL_IDENTITY_VERSION}")
    return data
_NAMED_FORMATS = {m.name: m.prompt_format for m in EMBEDDED}
_ACCEPTED = ACCEPTED


_GGUF_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _read_gguf_architecture(path: Path, max_keys: int = 64) -> str:
    """``general.architecture`` from the GGUF header, read without parsing the whole file.

    (gguf.GGUFReader materialises every vocabulary string: 20 s for Gemma's 262k tokens.)
    """
    import struct

    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError("bad magic")
        version, _n_tensors, n_kv = struct.unpack("<IQQ", f.read(20))
        if version < 2:
            raise ValueError(f"GGUF version {version} is too old")

        def read_str() -> bytes:
            (n,) = struct.unpack("<Q", f.read(8))
            return f.read(n)

        def skip(vtype: int) -> None:
            if vtype == 8:
                read_str()
            elif vtype == 9:
                etype, count = struct.unpack("<IQ", f.read(12))
                if etype == 8 or etype == 9:
                    for _ in range(count):
                        skip(etype)
                else:
                    f.seek(_GGUF_SCALAR_SIZES[etype] * count, 1)
            else:
                f.seek(_GGUF_SCALAR_SIZES[vtype], 1)

        for _ in range(min(n_kv, max_keys)):
            key = read_str()
            (vtype,) = struct.unpack("<I", f.read(4))
            if key == b"general.architecture" and vtype == 8:
                return read_str().decode()
            skip(vtype)
    raise ValueError("no general.architecture key")


def gguf_architecture(path: Path) -> str:
    """``general.architecture`` of a GGUF file, checked against what transformers can dequantise."""
    try:
        arch = _read_gguf_architecture(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a readable GGUF"
        raise NescioError(f"{path} is not a readable GGUF file ({type(exc).__name__}: {exc})") from None
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    if arch not in GGUF_SUPPORTED_ARCHITECTURES:
        raise NescioError(
            f"GGUF architecture {arch!r} is not supported; accepted: {', '.join(sorted(GGUF_SUPPORTED_ARCHITECTURES))}"
        )
    return arch


SPM_BPE_ARCHS = ("gemma", "gemma2", "gemma3")
"""GGUF architectures whose SentencePiece-BPE vocabulary transformers 4.57 converts to a
Unigram model that mis-segments text ("capital" -> "c ap it al"); nescio rebuilds the BPE
merges from the GGUF scores (merge priorities) instead."""


def _fix_spm_bpe_tokenizer(tokenizer: Any, path: Path) -> None:
    """Replace the converted Unigram model by BPE merges ranked by the GGUF token scores."""
    import numpy as np
    from gguf import GGUFReader
    from tokenizers.models import BPE
    from transformers.convert_slow_tokenizer import generate_merges

    reader = GGUFReader(str(path))
    f_scores, f_types = reader.fields["tokenizer.ggml.scores"], reader.fields["tokenizer.ggml.token_type"]
    scores = np.concatenate([f_scores.parts[i] for i in f_scores.data]).tolist()
    types = np.concatenate([f_types.parts[i] for i in f_types.data]).tolist()
    vocab = tokenizer.backend_tokenizer.get_vocab(with_added_tokens=False)
    normal = {tok: scores[i] for tok, i in vocab.items() if i < len(types) and types[i] == 1}
    merges = generate_merges(vocab, normal)
    unk = tokenizer.unk_token if tokenizer.unk_token in vocab else None
    tokenizer.backend_tokenizer.model = BPE(vocab=vocab, merges=merges, byte_fallback=True, fuse_unk=True, unk_token=unk)


def _gguf_to_cache(path: Path) -> tuple[Path, str]:
    """Dequantise ``path`` once into the cache; return (cached HF dir, sha256)."""
    from nescio.models import cache

    digest = cache.file_sha256(path)
    arch = gguf_architecture(path)
    key = f"gguf-{digest[:32]}" + ("-bpe" if arch in SPM_BPE_ARCHS else "")
    directory = cache.entry_dir(key)
    if cache.is_complete(directory):
        return directory, digest

    def write(tmp: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        with _quiet_transformers():
            model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        if arch in SPM_BPE_ARCHS:
            _fix_spm_bpe_tokenizer(tokenizer, path)
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)

    cache.build_entry(key, write, {"gguf": str(path), "sha256": digest, "architecture": arch})
    return directory, digest


def _quiet_transformers():
    """Silence transformers' informational warnings (tokenizer legacy notes) during a load."""
    import contextlib

    from transformers.utils import logging as hf_logging

    @contextlib.contextmanager
    def quiet():
        level = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            yield
        finally:
            hf_logging.set_verbosity(level)

    return quiet()


def _load_hf(source: str, placement: Placement, *, local_only: bool) -> tuple[Any, Any]:
    with _quiet_transformers():
        return _load_hf_loud(source, placement, local_only=local_only)


def _load_hf_loud(source: str, placement: Placement, *, local_only: bool) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from nescio.models.devices import torch_dtype

    # weights are read straight into the dtype asked for (a GGUF file's cached float32 copy too)
    kwargs = {"device_map": placement.device_map} if placement.device_map else {}
    model = AutoModelForCausalLM.from_pretrained(
        source, dtype=torch_dtype(placement.dtype), attn_implementation="sdpa", local_files_only=local_only, **kwargs
    )
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
    if not placement.device_map:
        model = model.to(placement.device)
    return model.eval(), tokenizer


def _guess_format(name: str, tokenizer: Any) -> str:
    lowered = name.lower()
    instruct = any(s in lowered for s in ("instruct", "-it", "_it", "chat"))
    return "chat" if instruct and getattr(tokenizer, "chat_template", None) else "fewshot"


def load_model(
    spec: str = DEFAULT_MODEL, *, device: str | None = None, dtype: str | None = None,
    prompt_format: str | None = None, threads: int | None = None, prompt: str = "default",
) -> LoadedModel:
    """Load a causal LM for nescio.

    ``spec`` is one of:

    - an embedded name: ``smollm2-135m-instruct`` (default; chat prompts) or
      ``gemma3-270m`` (base model; few-shot prompts);
    - a local Hugging Face model directory (a directory written by a nescio trainer, with
      ``nescio_model.json``, gets the id ``<base id>+lora-sha256:<adapter hash>`` and the
      base model's prompt format);
    - a ``.gguf`` file: dequantised once to float32, cached, and loaded from the cache in ``dtype`` (see
      :mod:`nescio.models.cache`); ``model_id`` is ``gguf-sha256:<hex>``;
    - otherwise a hub id, loaded through the ordinary transformers path (needs network
      or a warm HF cache; it cannot run on an offline machine, where it fails with a
      NescioError).

    ``prompt_format`` overrides the choice of ``"chat"`` / ``"fewshot"`` (by default:
    chat for instruct models with a chat template, few-shot otherwise). ``prompt`` picks
    the prompt text: ``default``, ``honest`` (tells the model to say "I don't know") or ``stepwise``.

    ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) and ``dtype`` (``auto``,
    ``bfloat16``, ``float16``, ``float32``): see :mod:`nescio.models.devices`. Not given: the
    command's ``--device`` / ``--dtype``, else ``auto`` (CUDA in bfloat16 when there is a GPU,
    else the CPU in float32). ``lm.device`` / ``lm.dtype`` say what was chosen.

    ``threads``: torch CPU threads. By default nescio picks them (``OMP_NUM_THREADS`` if set,
    else the cores the load average leaves free; see :mod:`nescio.models.threads`); the
    choice is in ``lm.extra["threads"]``.
    """
    from nescio.models.sites import normalize_architecture
    from nescio.models.threads import configure_threads

    prompts.system_prompt(prompt)  # validates the prompt name before any loading
    if prompt_format is not None and prompt_format not in prompts.PROMPT_FORMATS:
        raise NescioError(f"unknown prompt format {prompt_format!r}; accepted: {', '.join(prompts.PROMPT_FORMATS)}")
    asked = requested_placement()
    placement = resolve_device_dtype(device or asked[0], dtype or asked[1])
    thread_choice = configure_threads(threads)
    spec = str(spec)
    path = Path(spec).expanduser()
    if spec in _NAMED_FORMATS:
        gguf_path, fmt = embedded_gguf_path(spec), _NAMED_FORMATS[spec]
    elif spec.endswith(".gguf") or path.is_file():
        if not path.is_file():
            raise NescioError(f"GGUF file not found: {spec}; accepted: {_ACCEPTED}")
        gguf_path, fmt = path.resolve(), None
    else:
        gguf_path, fmt = None, None

    if gguf_path is not None:
        directory, digest = _gguf_to_cache(gguf_path)
        try:
            model, tokenizer = _load_hf(str(directory), placement, local_only=True)
        except Exception:  # noqa: BLE001
            # Rebuild only an entry whose files fail their hashes; any other failure (a bad
            # device, out of memory) is re-raised and leaves a good cache in place.
            from nescio.models import cache

            if cache.is_complete(directory, verify_hashes=True):
                raise
            shutil.rmtree(directory, ignore_errors=True)
            directory, digest = _gguf_to_cache(gguf_path)
            model, tokenizer = _load_hf(str(directory), placement, local_only=True)
        model_id = f"gguf-sha256:{digest}"
        name = spec if spec in _NAMED_FORMATS else gguf_path.name
    elif path.is_dir():
        if not (path / "config.json").is_file():
            raise NescioError(f"{spec} is a directory without config.json; accepted: {_ACCEPTED}")
        identity = read_model_identity(path)
        model, tokenizer = _load_hf(str(path.resolve()), placement, local_only=True)
        model_id, name = f"path:{path.resolve()}", path.name
        if identity is not None:  # a tuned model: base id + adapter hash, the base's prompt format
            model_id, fmt = identity["model_id"], identity.get("prompt_format")
    else:
        if spec.startswith((".", "/", "~")) or spec.count("/") != 1:
            raise NescioError(f"unknown model {spec!r}; accepted: {_ACCEPTED}")
        try:
            model, tokenizer = _load_hf(spec, placement, local_only=False)
        except Exception as exc:  # noqa: BLE001 - offline, missing repo, gated repo ...
            reason = (str(exc).strip().splitlines() or [""])[0][:160]
            raise NescioError(
                f"could not load hub model {spec!r} (no network or no such repo? {type(exc).__name__}: {reason}); "
                f"accepted: {_ACCEPTED}"
            ) from None
        model_id, name = f"hf:{spec}", spec
    fmt = prompt_format or fmt or _guess_format(name, tokenizer)
    cfg = getattr(model.config, "text_config", None) or model.config
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        model_id=model_id,
        architecture=normalize_architecture(cfg.model_type),
        prompt_format=fmt,
        device=str(model.device) if placement.device_map else placement.device,  # inputs go to the first GPU
        extra={"threads": thread_choice, "device_map": placement.device_map},
        prompt=prompt,
        dtype=placement.dtype,
    )
