"""How many CPU threads torch uses: nescio picks the count itself unless told.

torch's default is one thread per physical core. When another process holds a core,
the threads of each parallel op wait for the descheduled one at every barrier: on the
2-core development machine a 16-row SmolLM2 forward took several times longer with 2
threads than with 1 (``benchmarks/threads.py``), and ``nescio eval`` ran 15x slower.

The order of precedence:

1. an explicit request: ``nescio --threads N …``, ``load_model(..., threads=N)`` or
   :func:`configure_threads` ``(N)``;
2. ``OMP_NUM_THREADS`` in the environment (torch reads it; nescio leaves it alone);
3. otherwise, once per process: the cores not already busy by the 1-minute load average,
   rounded, at least 1 and at most torch's default (:func:`auto_threads`).

Nothing here imports torch until a count is applied, so the CLI can record a request cheaply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nescio.types import NescioError

ENV = "OMP_NUM_THREADS"


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count in force and why: ``source`` is ``explicit``, ``OMP_NUM_THREADS`` or ``auto``."""

    threads: int
    source: str
    cpus: int
    load_avg: float | None


_requested: int | None = None
_choice: ThreadChoice | None = None


def _check(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise NescioError(f"threads must be a positive integer, got {threads!r}")
    return threads


def request_threads(threads: int | None) -> None:
    """Record an explicit thread count, applied when a model is loaded (no torch import here)."""
    global _requested
    _requested = None if threads is None else _check(threads)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def auto_threads(cpus: int, load_avg: float | None, cap: int) -> int:
    """Cores not busy by ``load_avg`` (rounded), within [1, ``cap``]; ``load_avg=None`` (unknown) → 1."""
    if load_avg is None:
        return 1
    return max(1, min(cap, cpus, int(cpus - load_avg + 0.5)))


def configure_threads(threads: int | None = None) -> ThreadChoice:
    """Apply the thread count by the precedence in the module docstring; return what is in force."""
    global _choice
    import torch

    explicit = _check(threads) if threads is not None else _requested
    if explicit is not None:
        torch.set_num_threads(explicit)
        _choice = ThreadChoice(explicit, "explicit", available_cpus(), None)
        return _choice
    if _choice is not None:  # decided earlier in this process (or chosen explicitly before)
        return _choice
    cpus = available_cpus()
    if os.environ.get(ENV, "").strip():
        _choice = ThreadChoice(torch.get_num_threads(), ENV, cpus, None)
        return _choice
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = None
    n = auto_threads(cpus, load, torch.get_num_threads())
    torch.set_num_threads(n)
    _choice = ThreadChoice(n, "auto", cpus, load)
    return _choice
