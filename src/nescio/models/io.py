"""Saving and loading generations: JSONL for text and per-token numbers, safetensors for activations.

Layout of a generations directory::

    run.json                  schema version + RunInfo (model spec, model_id, prompt format, config)
    generations.jsonl         one committed chunk per line: {"chunk": ..., "rows": [generation, ...]}
    chunks/<chunk>.safetensors activations of that chunk, tensor names "<row>/<site>/<layer>/<position>"

:class:`GenerationStore` appends chunk by chunk: the shard is written (temp file,
fsync, rename) before its JSONL line, and the fsynced line is the commit point. After a
``kill -9`` a rerun sees only committed chunks: a truncated trailing line is cut off, a
shard without a line is an ignored orphan, so no row is lost or duplicated. Loading
reads JSON and safetensors only; nothing executes code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np

from nescio.types import (
    SCHEMA_VERSION,
    CaptureSpec,
    Generation,
    GenerationConfig,
    NescioError,
    NeuronScaling,
    Question,
    RunInfo,
    Sample,
)

if TYPE_CHECKING:
    from nescio.models.load import LoadedModel

RUN_FILE = "run.json"
INDEX_FILE = "generations.jsonl"
CHUNK_DIR = "chunks"
_TAIL_BLOCK = 1 << 16


# ---------------------------------------------------------------- (de)serialising


def config_to_dict(config: GenerationConfig) -> dict:
    d = asdict(config)
    d["capture"] = [
        {"site": c.site, "layers": c.layers if isinstance(c.layers, str) else list(c.layers), "positions": list(c.positions)}
        for c in config.capture
    ]
    if config.neuron_scaling is None:
        d.pop("neuron_scaling")  # absent, so configs (and store keys) from before the option are unchanged
    else:
        d["neuron_scaling"] = {"neurons": [list(p) for p in config.neuron_scaling.neurons],
                               "scale": config.neuron_scaling.scale}
    return d


def config_from_dict(d: dict) -> GenerationConfig:
    d = dict(d)
    d["capture"] = tuple(
        CaptureSpec(c["site"], c["layers"] if isinstance(c["layers"], str) else tuple(c["layers"]), tuple(c["positions"]))
        for c in d.get("capture", ())
    )
    ns = d.get("neuron_scaling")
    d["neuron_scaling"] = NeuronScaling(tuple(tuple(p) for p in ns["neurons"]), ns["scale"]) if ns else None
    known = GenerationConfig.__dataclass_fields__
    return GenerationConfig(**{k: v for k, v in d.items() if k in known})


def run_info_to_dict(info: RunInfo) -> dict:
    d = asdict(info)
    d["config"] = config_to_dict(info.config)
    return d


def run_info_from_dict(d: dict) -> RunInfo:
    d = dict(d)
    d["config"] = config_from_dict(d["config"])
    known = RunInfo.__dataclass_fields__
    return RunInfo(**{k: v for k, v in d.items() if k in known})


def _generation_to_dict(g: Generation) -> dict:
    q = asdict(g.question)
    q["answers"] = list(q["answers"])
    return {
        "question": q,
        "prompt": g.prompt,
        "text": g.text,
        "token_ids": list(g.token_ids),
        "token_logprobs": list(g.token_logprobs),
        "token_entropies": list(g.token_entropies),
        "top_k_ids": [list(t) for t in g.top_k_ids],
        "top_k_logprobs": [list(t) for t in g.top_k_logprobs],
        "stop_reason": g.stop_reason,
        "samples": [
            {"text": s.text, "token_ids": list(s.token_ids), "token_logprobs": list(s.token_logprobs)} for s in g.samples
        ],
        "prompt_token_count": g.prompt_token_count,
        "p_true": g.p_true,
        "verbal_confidence": g.verbal_confidence,
        "verbal_confidence_text": g.verbal_confidence_text,
        "activation_keys": sorted(g.activations),
    }


def _generation_from_dict(d: dict, tensors: dict[str, np.ndarray], row: int) -> Generation:
    q = d["question"]
    known_q = Question.__dataclass_fields__
    return Generation(
        question=Question(**{k: v for k, v in q.items() if k in known_q}),
        prompt=d["prompt"],
        text=d["text"],
        token_ids=tuple(d["token_ids"]),
        token_logprobs=tuple(d["token_logprobs"]),
        token_entropies=tuple(d["token_entropies"]),
        top_k_ids=tuple(tuple(t) for t in d["top_k_ids"]),
        top_k_logprobs=tuple(tuple(t) for t in d["top_k_logprobs"]),
        stop_reason=d["stop_reason"],
        samples=tuple(Sample(s["text"], tuple(s["token_ids"]), tuple(s["token_logprobs"])) for s in d["samples"]),
        activations={k: tensors[f"{row}/{k}"] for k in d["activation_keys"]},
        prompt_token_count=d["prompt_token_count"],
        p_true=d["p_true"],
        verbal_confidence=d["verbal_confidence"],
        verbal_confidence_text=d["verbal_confidence_text"],
    )


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the store


def _results_identity(info: RunInfo) -> tuple:
    """What decides the generated rows: model, dtype, prompt and config (``batch_size`` does not:
    left padding leaves results unchanged, so a resumed run may use another batch size)."""
    config = config_to_dict(info.config)
    config.pop("batch_size", None)
    return info.model_id, info.dtype, info.prompt_format, info.prompt_template, json.dumps(config, sort_keys=True)


class GenerationStore:
    """A resumable, append-only directory of generations (see the module docstring)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @property
    def index_path(self) -> Path:
        return self.directory / INDEX_FILE

    # ---- metadata
    def run_info(self) -> RunInfo | None:
        path = self.directory / RUN_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        if data.get("schema_version", 0) > SCHEMA_VERSION:
            raise NescioError(f"{path}: schema version {data['schema_version']} is newer than this nescio ({SCHEMA_VERSION})")
        return run_info_from_dict(data["run_info"])

    def set_run_info(self, info: RunInfo) -> None:
        """Record ``info``; refuse to mix generations from another model or config."""
        existing = self.run_info()
        if existing is not None:
            if _results_identity(existing) != _results_identity(info):
                raise NescioError(
                    f"{self.directory} holds generations from model {existing.model_id} ({existing.dtype}) with "
                    "another dtype, prompt or config; use a new output directory"
                )
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{RUN_FILE}.{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "run_info": run_info_to_dict(info)}, indent=1))
        os.replace(tmp, self.directory / RUN_FILE)

    # ---- committed lines
    def _lines(self) -> list[dict]:
        if not self.index_path.is_file():
            return []
        out = []
        with open(self.index_path, "rb") as f:
            for raw in f.read().split(b"\n"):
                if not raw.strip():
                    continue
                try:
                    out.append(json.loads(raw))
                except ValueError:  # a line cut by a crash: never committed
                    continue
        return out

    def done_ids(self) -> set[str]:
        return {row["question"]["id"] for line in self._lines() for row in line["rows"]}

    def _repair_tail(self) -> None:
        """Cut a partial trailing line (a crash mid-commit) so the next append starts on a fresh line.

        Reads the last byte only; a torn tail is scanned backwards block by block, so an
        append costs O(1) reads however long the index is."""
        if not self.index_path.is_file():
            return
        with open(self.index_path, "rb+") as f:
            end = f.seek(0, os.SEEK_END)
            if end == 0:
                return
            f.seek(end - 1)
            if f.read(1) == b"\n":
                return
            cut, pos = 0, end
            while pos > 0:
                start = max(0, pos - _TAIL_BLOCK)
                f.seek(start)
                block = f.read(pos - start)
                i = block.rfind(b"\n")
                if i >= 0:
                    cut = start + i + 1
                    break
                pos = start
            f.truncate(cut)
            f.flush()
            os.fsync(f.fileno())

    def append(self, generations: Iterable[Generation]) -> None:
        """Commit one chunk: activations shard first, then one fsynced JSONL line."""
        from safetensors.numpy import save_file

        generations = list(generations)
        if not generations:
            return
        chunks = self.directory / CHUNK_DIR
        chunks.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        name = f"chunk-{uuid.uuid4().hex[:12]}"
        tensors = {
            f"{row}/{key}": np.ascontiguousarray(value)
            for row, g in enumerate(generations)
            for key, value in g.activations.items()
        }
        shard = None
        if tensors:
            shard = f"{name}.safetensors"
            tmp = chunks / f".{shard}.tmp"
            save_file(tensors, str(tmp), metadata={"schema_version": str(SCHEMA_VERSION)})
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, chunks / shard)
            _fsync_dir(chunks)
        line = {"chunk": name, "shard": shard, "rows": [_generation_to_dict(g) for g in generations]}
        data = (json.dumps(line, allow_nan=True) + "\n").encode()
        with open(self.index_path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def load(self) -> list[Generation]:
        """All committed generations, in commit order; a question id appears once."""
        from safetensors.numpy import load_file

        seen: set[str] = set()
        out = []
        for line in self._lines():
            tensors = load_file(str(self.directory / CHUNK_DIR / line["shard"])) if line.get("shard") else {}
            for row, d in enumerate(line["rows"]):
                qid = d["question"]["id"]
                if qid in seen:
                    continue
                seen.add(qid)
                out.append(_generation_from_dict(d, tensors, row))
        return out


# ---------------------------------------------------------------- one-shot save / load


def save_generations(directory: str | Path, generations: Iterable[Generation], run_info: RunInfo) -> Path:
    """Write ``generations`` and ``run_info`` to ``directory`` (replacing what was there)."""
    directory = Path(directory)
    for name in (RUN_FILE, INDEX_FILE):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory / CHUNK_DIR, ignore_errors=True)
    store = GenerationStore(directory)
    store.set_run_info(run_info)
    store.append(generations)
    return directory


def load_generations(directory: str | Path) -> tuple[list[Generation], RunInfo]:
    """Read what :func:`save_generations` or a :class:`GenerationStore` wrote."""
    store = GenerationStore(directory)
    info = store.run_info()
    if info is None:
        raise NescioError(f"no generations at {directory} (missing {RUN_FILE}); run `nescio generate` or `nescio eval` first")
    return store.load(), info


def generate_resumable(
    lm: LoadedModel, questions: list[Question], config: GenerationConfig, store: GenerationStore | str | Path, *, progress: bool = True
) -> list[Generation]:
    """Generate what ``store`` lacks, batch by batch, committing each batch; return all, in question order.

    A rerun after an interruption skips committed question ids; the store must have
    been made by the same model and config (else NescioError).
    """
    from tqdm.auto import tqdm

    from nescio.models import generation

    from nescio.models.load import LoadedModel

    store = store if isinstance(store, GenerationStore) else GenerationStore(store)
    store.set_run_info(lm.run_info(config))
    done = store.done_ids()
    todo = [q for q in questions if q.id not in done]
    if not isinstance(lm, LoadedModel):  # another Backend (an upstream server): it batches and renders itself
        run = lambda batch, idx: lm.generate(batch, config, progress=False)  # noqa: E731
        order = sorted(range(len(todo)), key=lambda i: (len(todo[i].text), i))
    else:
        encoded = generation.encode_questions(lm, todo) if todo else []  # each prompt tokenised once
        order = sorted(range(len(todo)), key=lambda i: (len(encoded[i].ids), i))
        run = lambda batch, idx: generation.generate(lm, batch, config, progress=False,  # noqa: E731
                                                     prompts=[encoded[i] for i in idx])
    bar = tqdm(total=len(questions), initial=len(questions) - len(todo), disable=not progress, desc="generating", unit="q")
    try:
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            batch = [todo[i] for i in idx]
            store.append(run(batch, idx))
            bar.update(len(batch))
    finally:
        bar.close()
    by_id = {g.question.id: g for g in store.load()}
    return [by_id[q.id] for q in questions if q.id in by_id]


def generate_stored(lm: LoadedModel, questions: list[Question], config: GenerationConfig, directory: str | Path, *,
                    progress: bool = True) -> list[Generation]:
    """:func:`generate_resumable` into ``directory/<config hash>``: a rerun with the same settings
    resumes (no lost or duplicated rows after ``kill -9``) and other capture settings get their own store.
    Used by ``nescio eval`` and ``nescio recalibrate``."""
    key = hashlib.sha256(json.dumps(config_to_dict(config), sort_keys=True, default=str).encode()).hexdigest()[:10]
    if getattr(lm, "store_key", None):  # an upstream server's generations: their own store
        key += f"-{lm.store_key}"
    elif (lm.dtype or "float32") != "float32":  # another dtype's generations differ: their own store
        key += f"-{lm.dtype}"
    return generate_resumable(lm, list(questions), config, Path(directory) / key, progress=progress)
