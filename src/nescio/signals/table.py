"""Saving and loading a :class:`~nescio.types.SignalTable`: safetensors (values) + JSON.

``<dir>/signals.safetensors`` holds one float64 array per signal; ``<dir>/signals.json``
holds the schema version, question ids (row order), costs, and the spec that made the
table (signal names, probe descriptions, anything the caller passes). No code runs on load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from nescio.types import SCHEMA_VERSION, NescioError, SignalTable

TABLE_SCHEMA_VERSION = 1


def save_signal_table(directory: str | os.PathLike, table: SignalTable, spec: dict | None = None) -> Path:
    """Write ``table`` into ``directory``; returns the directory."""
    from safetensors.numpy import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.ascontiguousarray(np.asarray(v, dtype=np.float64)) for name, v in table.values.items()}
    save_file(arrays, str(d / "signals.safetensors"))
    meta = {
        "schema_version": TABLE_SCHEMA_VERSION,
        "nescio_schema_version": SCHEMA_VERSION,
        "signals": list(table.values),
        "question_ids": list(table.question_ids),
        "costs": {k: float(v) for k, v in table.costs.items()},
        "spec": spec or {},
    }
    (d / "signals.json").write_text(json.dumps(meta, indent=1))
    return d


def load_signal_table(directory: str | os.PathLike) -> SignalTable:
    """Read a table written by :func:`save_signal_table`."""
    from safetensors.numpy import load_file

    d = Path(directory)
    if not (d / "signals.json").is_file() or not (d / "signals.safetensors").is_file():
        raise NescioError(f"{d} is not a saved signal table (expected signals.json and signals.safetensors)")
    meta = json.loads((d / "signals.json").read_text())
    if meta.get("schema_version") != TABLE_SCHEMA_VERSION:
        raise NescioError(f"{d}: signal-table schema version {meta.get('schema_version')} not supported "
                          f"(this nescio reads {TABLE_SCHEMA_VERSION})")
    arrays = load_file(str(d / "signals.safetensors"))
    values = {name: arrays[name] for name in meta["signals"]}
    return SignalTable(tuple(meta["question_ids"]), values, dict(meta["costs"]))


def load_signal_table_spec(directory: str | os.PathLike) -> dict:
    """The ``spec`` saved with a table."""
    return json.loads((Path(directory) / "signals.json").read_text()).get("spec", {})
