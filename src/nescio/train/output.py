"""The output directory of a training run (SFT, GRPO): layout, resume, ``train.json``.

Every nescio trainer (``nescio train sft``, the GRPO trainer) writes the same layout::

    OUT/
      data/             optional: the trainer's dataset (kept on overwrite; its generations resume)
      settings.json     what the run was asked to do (written first; a rerun with other
                        settings is refused unless overwrite=True)
      checkpoints/      transformers Trainer checkpoints (checkpoint-<step>/), the resume state
      adapter/          the PEFT LoRA adapter as peft writes it: adapter_model.safetensors +
                        adapter_config.json (``PeftModel.from_pretrained(base, OUT/adapter)``)
      merged/           the base model with the adapter merged in: an ordinary HF model
                        directory (safetensors) plus nescio_model.json (its identity), so
                        ``load_model("OUT/merged")`` and every ``--model`` option accept it
      train.json        TrainSummary (schema version, data counts, hyper-parameters, the
                        loss / reward curve, time); written LAST: its presence marks a
                        finished run

How a trainer uses this module (the pattern ``nescio.train.sft`` follows; GRPO does the same)::

    out = TrainOutput(directory)
    resume = out.prepare(settings_dict, overwrite=overwrite)   # refuses a finished run;
                                                               # returns the last complete
                                                               # checkpoint or None
    trainer = SFTTrainer(..., args=SFTConfig(output_dir=str(out.checkpoints_dir), save_steps=N, ...))
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    trainer.model.save_pretrained(out.adapter_dir)             # safetensors + adapter_config.json
    model_id = merge_adapter(base_spec, out.adapter_dir, out.merged_dir, method="sft")  # nescio.train.lora
    out.write_summary(TrainSummary(kind="sft", ..., model_id=model_id,
                                   curve=curve_from_log_history(trainer.state.log_history)))

Resume after ``kill -9``: the Trainer writes ``trainer_state.json`` last in a checkpoint,
so :meth:`TrainOutput.last_checkpoint` returns the newest checkpoint that has a readable
one and ignores a half-written newer one; ``Trainer.train(resume_from_checkpoint=...)``
restores weights, optimizer, scheduler, RNG and the position in the data. A run killed
after training but before ``train.json`` redoes only the save/merge steps (the last
checkpoint is at the final step).

The tuned model's identity is ``<base model_id>+lora-sha256:<adapter hash>`` (see
:func:`nescio.train.lora.tuned_model_id`), so a guard fitted on the base model is refused
for the tuned one and two different adapters never share a cached guard.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from nescio.types import NescioError

TRAIN_SCHEMA_VERSION = 1
TRAIN_ARTIFACT = "nescio.train"
TRAIN_FILE = "train.json"
SETTINGS_FILE = "settings.json"
ADAPTER_DIR = "adapter"
MERGED_DIR = "merged"
CHECKPOINT_DIR = "checkpoints"
DATA_DIR = "data"
LAYOUT = (TRAIN_FILE, SETTINGS_FILE, ADAPTER_DIR, MERGED_DIR, CHECKPOINT_DIR, DATA_DIR)
"""Names a training output may hold; ``data/`` (a trainer's dataset) survives ``overwrite``."""
CURVE_KEYS = ("loss", "grad_norm", "learning_rate", "reward", "reward_std", "kl", "entropy", "mean_token_accuracy")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename (a crash leaves the old file or none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=False, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class TrainSummary:
    """What ``train.json`` holds. ``kind`` is ``"sft"`` or ``"grpo"``.

    ``data``: dataset path, example counts (``n_examples``, counts per target type or
    reward group); ``hyperparameters``: every setting that changes the weights;
    ``curve``: one entry per logged step (``step``, ``epoch`` and the logged values of
    :data:`CURVE_KEYS`); ``timing``: ``train_s`` (this process's training time),
    ``examples_per_s``, ``total_s``; ``resumed_from_step``: the checkpoint step a resumed
    run started from (0 = fresh).
    """

    kind: str
    base_model: str
    base_model_id: str
    model_id: str
    adapter_sha256: str
    prompt_format: str
    data: Mapping[str, Any]
    hyperparameters: Mapping[str, Any]
    curve: tuple[Mapping[str, float], ...] = ()
    timing: Mapping[str, float] = field(default_factory=dict)
    resumed_from_step: int = 0
    device: str = "cpu"
    versions: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["curve"] = [dict(c) for c in self.curve]
        return {"artifact": TRAIN_ARTIFACT, "schema_version": TRAIN_SCHEMA_VERSION} | d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, where: str = "train.json") -> "TrainSummary":
        if d.get("artifact") != TRAIN_ARTIFACT or d.get("schema_version") != TRAIN_SCHEMA_VERSION:
            raise NescioError(
                f"{where}: a {d.get('artifact')!r} file, schema version {d.get('schema_version')}; "
                f"this nescio reads {TRAIN_ARTIFACT!r} version {TRAIN_SCHEMA_VERSION}"
            )
        known = cls.__dataclass_fields__
        kw = {k: v for k, v in d.items() if k in known}
        kw["curve"] = tuple(kw.get("curve", ()))
        return cls(**kw)


def curve_from_log_history(log_history: Iterable[Mapping[str, Any]], keys: Iterable[str] = CURVE_KEYS) -> tuple[dict, ...]:
    """The per-step curve from ``trainer.state.log_history`` (which a resumed run restores)."""
    keys = tuple(keys)
    out = []
    for entry in log_history:
        values = {k: float(entry[k]) for k in keys if isinstance(entry.get(k), (int, float))}
        if values and "step" in entry and "train_runtime" not in entry:
            out.append({"step": int(entry["step"]), "epoch": float(entry.get("epoch") or 0.0)} | values)
    return tuple(out)


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "peft", "trl"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _checkpoint_step(path: Path) -> int | None:
    name = path.name
    if not name.startswith("checkpoint-"):
        return None
    try:
        return int(name.split("-", 1)[1])
    except ValueError:
        return None


@dataclass(frozen=True)
class TrainOutput:
    """A training run's output directory (see the module docstring for the layout)."""

    directory: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "directory", Path(self.directory).expanduser())

    # ---- paths
    @property
    def adapter_dir(self) -> Path:
        return self.directory / ADAPTER_DIR

    @property
    def merged_dir(self) -> Path:
        return self.directory / MERGED_DIR

    @property
    def checkpoints_dir(self) -> Path:
        return self.directory / CHECKPOINT_DIR

    @property
    def train_json(self) -> Path:
        return self.directory / TRAIN_FILE

    @property
    def settings_json(self) -> Path:
        return self.directory / SETTINGS_FILE

    # ---- state
    def is_finished(self) -> bool:
        return self.train_json.is_file()

    def checkpoints(self) -> list[Path]:
        """Complete checkpoints (``trainer_state.json`` readable), oldest first."""
        if not self.checkpoints_dir.is_dir():
            return []
        found = []
        for p in self.checkpoints_dir.iterdir():
            step = _checkpoint_step(p)
            if step is None or not p.is_dir():
                continue
            try:
                json.loads((p / "trainer_state.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # half-written by a killed run
            found.append((step, p))
        return [p for _, p in sorted(found)]

    def last_checkpoint(self) -> Path | None:
        cps = self.checkpoints()
        return cps[-1] if cps else None

    def _wipe(self) -> None:
        for name in (TRAIN_FILE, SETTINGS_FILE):
            (self.directory / name).unlink(missing_ok=True)
        for name in (CHECKPOINT_DIR, ADAPTER_DIR, MERGED_DIR):
            shutil.rmtree(self.directory / name, ignore_errors=True)

    def prepare(self, settings: Mapping[str, Any], *, overwrite: bool = False) -> Path | None:
        """Make the directory ready for a run with ``settings``; return the checkpoint to resume from.

        - a finished run (``train.json``) is refused unless ``overwrite`` (then removed);
        - an unfinished run with the same settings resumes from its last complete checkpoint;
        - an unfinished run with other settings is refused unless ``overwrite``;
        - a non-empty directory that is not a training output is always refused (nothing
          outside this layout is ever deleted).
        """
        d = self.directory
        settings = json.loads(json.dumps(dict(settings), default=str))
        if d.exists() and not d.is_dir():
            raise NescioError(f"{d} is a file; give a directory for the training output")
        ours = self.is_finished() or self.settings_json.is_file() or (
            d.is_dir() and all(p.name in LAYOUT or p.name.endswith(".partial") for p in d.iterdir()))
        if d.is_dir() and any(d.iterdir()) and not ours:
            raise NescioError(f"{d} is not empty and is not a nescio training output; choose another output directory")
        if self.is_finished():
            if not overwrite:
                raise NescioError(
                    f"{d} holds a finished training run ({TRAIN_FILE}); pass --overwrite to replace it or choose another --out"
                )
            self._wipe()
        elif self.settings_json.is_file():
            try:
                stored = json.loads(self.settings_json.read_text(encoding="utf-8"))
            except ValueError:
                stored = None
            if stored != settings:
                if not overwrite:
                    diff = sorted(k for k in set(settings) | set(stored or {}) if (stored or {}).get(k) != settings.get(k))
                    raise NescioError(
                        f"{d} holds an unfinished run with other settings ({', '.join(diff) or 'unreadable settings.json'}); "
                        "pass --overwrite to start over or choose another --out"
                    )
                self._wipe()
        d.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.settings_json, settings)
        return self.last_checkpoint()

    def write_summary(self, summary: TrainSummary) -> Path:
        """Write ``train.json`` (atomically): the run is finished from here on."""
        write_json_atomic(self.train_json, summary.to_dict())
        return self.train_json

    def read_summary(self) -> TrainSummary:
        if not self.is_finished():
            raise NescioError(f"{self.directory} has no {TRAIN_FILE}: the training run did not finish")
        try:
            data = json.loads(self.train_json.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise NescioError(f"{self.train_json}: not valid JSON ({exc})") from None
        return TrainSummary.from_dict(data, where=str(self.train_json))


def find_train_summary(model_dir: str | Path) -> TrainSummary | None:
    """The ``train.json`` beside a merged model directory (``OUT/merged`` → ``OUT/train.json``), if any."""
    p = Path(model_dir).expanduser()
    for cand in (p / TRAIN_FILE, p.parent / TRAIN_FILE):
        if cand.is_file():
            return TrainOutput(cand.parent).read_summary()
    return None
