"""The shared ``--device`` / ``--dtype`` options of every command that loads a model.

A command declares ``device: str = DEVICE_OPTION, dtype: str = DTYPE_OPTION`` and calls
:func:`apply_placement` first: bad words fail in one line before anything loads, and the
choice is recorded for :func:`nescio.models.load_model` (see :mod:`nescio.models.devices`).
"""

from __future__ import annotations

import typer

DEVICE_HELP = ("Where the model runs: auto (CUDA if available, else mps, else cpu; several GPUs: spread over "
               "them), cpu, cuda, cuda:N or mps.")
DTYPE_HELP = "Weights' dtype: auto (bfloat16 on CUDA, float32 on cpu/mps), bfloat16, float16 or float32."

DEVICE_OPTION = typer.Option("auto", "--device", help=DEVICE_HELP)
DTYPE_OPTION = typer.Option("auto", "--dtype", help=DTYPE_HELP)


def apply_placement(device: str, dtype: str) -> str:
    """Check and record the command's ``--device`` / ``--dtype``; return the resolved device
    (for the trainers, which place their own model)."""
    from nescio.models.devices import check_device, check_dtype, request_placement, resolve_device_dtype

    check_device(device), check_dtype(dtype)
    request_placement(device, dtype)
    return resolve_device_dtype(device, dtype).device
