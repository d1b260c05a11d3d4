"""nescio picks torch's CPU thread count: explicit request > OMP_NUM_THREADS > free cores by load average."""

from __future__ import annotations

import pytest
import torch

from nescio.models import threads as th
from nescio.types import NescioError


@pytest.mark.parametrize(
    "cpus, load, cap, expected",
    [(2, 0.1, 2, 2), (2, 1.2, 2, 1), (2, 0.6, 2, 1), (2, 5.0, 2, 1), (16, 3.0, 8, 8), (16, 11.6, 16, 4), (4, None, 4, 1)],
)
def test_auto_threads(cpus, load, cap, expected):
    assert th.auto_threads(cpus, load, cap) == expected


@pytest.fixture
def fresh(monkeypatch):
    """Module state reset, torch's thread count restored after the test."""
    before = torch.get_num_threads()
    monkeypatch.setattr(th, "_choice", None)
    monkeypatch.setattr(th, "_requested", None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(th, "available_cpus", lambda: 2)
    yield monkeypatch
    torch.set_num_threads(before)


def test_busy_machine_gets_one_thread_once_per_process(fresh):
    torch.set_num_threads(2)
    fresh.setattr(th.os, "getloadavg", lambda: (1.3, 1.0, 1.0))
    choice = th.configure_threads()
    assert (choice.threads, choice.source, choice.load_avg) == (1, "auto", 1.3)
    assert torch.get_num_threads() == 1
    # decided once: a later load on an idle machine does not change it behind the user's back
    fresh.setattr(th.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert th.configure_threads() is choice


def test_idle_machine_keeps_torch_default(fresh):
    torch.set_num_threads(2)
    fresh.setattr(th.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert th.configure_threads().threads == 2 and torch.get_num_threads() == 2


def test_omp_num_threads_is_respected(fresh):
    torch.set_num_threads(2)
    fresh.setenv("OMP_NUM_THREADS", "2")
    fresh.setattr(th.os, "getloadavg", lambda: (7.0, 7.0, 7.0))
    choice = th.configure_threads()
    assert (choice.threads, choice.source) == (2, "OMP_NUM_THREADS") and torch.get_num_threads() == 2


def test_explicit_request_wins(fresh):
    fresh.setenv("OMP_NUM_THREADS", "1")
    th.request_threads(2)  # what `nescio --threads 2` does, before any torch import
    assert th.configure_threads().source == "explicit" and torch.get_num_threads() == 2
    assert th.configure_threads(1).threads == 1 and torch.get_num_threads() == 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(NescioError, match="positive integer"):
            th.configure_threads(bad)


def test_cli_threads_option_reaches_the_request(fresh):
    from typer.testing import CliRunner

    from nescio.cli import app

    result = CliRunner().invoke(app, ["--threads", "3", "models"])
    assert result.exit_code == 0, result.output
    assert th._requested == 3
    assert CliRunner().invoke(app, ["--threads", "0", "models"]).exit_code != 0
