"""Saving and loading a :class:`~nescio.types.SignalTable`: safetensors (values) + JSON.

``<dir>/signals.safetensors`` holds one float64 array per signal; ``<dir>/signals.json``
holds the schema version, question ids (row order), costs, and the spec that made the
table (signal names, probe descriptions, anything the caller passes). No code runs on load.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nescio.artifacts import read_artifact, write_artifact
from nescio.types import SignalTable

TABLE_SCHEMA_VERSION = 1


def save_signal_table(directory: str | os.PathLike, table: SignalTable, spec: dict | None = None) -> Path:
    """Write ``table`` into ``directory``; returns the directory."""
    return write_artifact(
        directory, "signals", artifact="signal-table", version=TABLE_SCHEMA_VERSION,
        meta={
            "signals": list(table.values),
            "question_ids": list(table.question_ids),
            "costs": {k: float(v) for k, v in table.costs.items()},
            "spec": spec or {},
        },
        arrays={name: np.asarray(v, dtype=np.float64) for name, v in table.values.items()},
    )


def load_signal_table(directory: str | os.PathLike) -> SignalTable:
    """Read a table written by :func:`save_signal_table`."""
    meta, arrays = read_artifact(directory, "signals", artifact="signal-table", version=TABLE_SCHEMA_VERSION)
    values = {name: arrays[name] for name in meta["signals"]}
    return SignalTable(tuple(meta["question_ids"]), values, dict(meta["costs"]))
