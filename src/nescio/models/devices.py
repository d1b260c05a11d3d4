"""Where a model runs and in which dtype: ``--device`` / ``--dtype`` and ``load_model(device=, dtype=)``.

:func:`resolve_device_dtype` turns the words a user gives into a :class:`Placement`:

- device ``auto``: CUDA when ``torch.cuda.is_available()``, else MPS when available, else the
  CPU; with more than one CUDA GPU, ``auto`` spreads the model over them
  (``device_map="auto"``, needs ``accelerate``) and inputs go to the first one;
- ``cpu``, ``cuda``, ``cuda:N``, ``mps``: that device (refused, in one line, when absent);
- dtype ``auto``: ``bfloat16`` on CUDA, ``float32`` on the CPU and MPS; or ``bfloat16``,
  ``float16``, ``float32``.

The CLI records a command's choice with :func:`request_placement` (as ``--threads``):
:func:`nescio.models.load.load_model` applies it where it is not told a device and dtype.
Nothing here imports torch until a choice is resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nescio.types import NescioError

DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
DTYPES = ("auto", "bfloat16", "float16", "float32")
DEVICE_KINDS = ("cpu", "cuda", "mps")
_DEVICE = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


@dataclass(frozen=True)
class Placement:
    """A resolved choice: ``device`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``), ``dtype``
    (``bfloat16``, ``float16``, ``float32``) and ``device_map`` (``"auto"`` when the model is
    spread over several GPUs, else None)."""

    device: str
    dtype: str
    device_map: str | None = None

    @property
    def kind(self) -> str:
        return device_kind(self.device)


def device_kind(device: str) -> str:
    """``cpu``, ``cuda`` or ``mps`` for a device string (``cuda:1`` → ``cuda``)."""
    return str(device).split(":", 1)[0]


def check_device(device: str) -> str:
    """``device`` if it is one of the accepted words (no torch import), else a one-line NescioError."""
    text = str(device).strip().lower()
    if not _DEVICE.match(text):
        raise NescioError(f"unknown device {device!r}; accepted: {', '.join(DEVICES)}")
    return text


def check_dtype(dtype: str) -> str:
    text = str(dtype).strip().lower().removeprefix("torch.")
    if text not in DTYPES:
        raise NescioError(f"unknown dtype {dtype!r}; accepted: {', '.join(DTYPES)}")
    return text


def resolve_device_dtype(device: str = "auto", dtype: str = "auto") -> Placement:
    """The :class:`Placement` for ``device`` and ``dtype`` (the words in the module docstring)."""
    import torch

    device, dtype = check_device(device), check_dtype(dtype)
    device_map = None
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
            device_map = "auto" if torch.cuda.device_count() > 1 else None
        elif _mps_available():
            device = "mps"
        else:
            device = "cpu"
    elif device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise NescioError(f"device {device!r} asked for, but torch sees no CUDA GPU; accepted here: auto, cpu"
                              + (", mps" if _mps_available() else ""))
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise NescioError(f"device {device!r} asked for, but torch sees {torch.cuda.device_count()} CUDA GPU(s); "
                              f"accepted: cuda:0 … cuda:{torch.cuda.device_count() - 1}")
    elif device == "mps" and not _mps_available():
        raise NescioError("device 'mps' asked for, but torch sees no MPS device; accepted here: auto, cpu"
                          + (", cuda" if torch.cuda.is_available() else ""))
    if dtype == "auto":
        dtype = "bfloat16" if device_kind(device) == "cuda" else "float32"
    return Placement(device, dtype, device_map)


def torch_dtype(dtype: str):
    """The torch dtype named ``dtype`` (``bfloat16``, ``float16``, ``float32``)."""
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[check_dtype(dtype)]


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


_requested: tuple[str, str] | None = None


def request_placement(device: str | None, dtype: str | None) -> None:
    """Record a command's ``--device`` / ``--dtype`` (checked now, resolved when a model loads)."""
    global _requested
    _requested = (check_device(device or "auto"), check_dtype(dtype or "auto"))


def requested_placement() -> tuple[str, str]:
    """The recorded (device, dtype) words; ``("auto", "auto")`` when nothing was recorded."""
    return _requested or ("auto", "auto")
